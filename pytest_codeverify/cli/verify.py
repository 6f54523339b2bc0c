"""``codeverify verify FILE...``: verify JSONL files without pytest, print or write rewards."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..api import Sandbox
from ..calibration import Calibrator
from ..config import (
    BACKENDS,
    CALIBRATION_FACTOR,
    DEFAULT_CACHE_DIR,
    DEFAULT_IMAGE,
    DEFAULT_TIME_SCALE,
    REWARD_MODES,
    ConfigError,
    positive_number,
)
from ..formats import READERS, Defaults, load_file
from ..rewards import unreadable_line


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = "Verify JSONL datasets without pytest; one rewards line per case on stdout."
    parser.add_argument("files", nargs="+", help="JSONL files (.jsonl or .jsonl.gz)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto")
    parser.add_argument("--image", default=DEFAULT_IMAGE, help="container image of the docker backend")
    parser.add_argument("--format", choices=("auto", *READERS), default="auto")
    parser.add_argument("--reward", choices=REWARD_MODES, default="fraction")
    parser.add_argument("--output", "-o", help="write rewards here instead of stdout")
    parser.add_argument("--time-scale", type=float, default=DEFAULT_TIME_SCALE, metavar="FACTOR",
                        help="multiply every time limit by FACTOR (slow machines, PyPy, sanitizers)")
    parser.add_argument("--calibrate", action="store_true",
                        help=f"raise each problem's time limit to {CALIBRATION_FACTOR:g}x its reference solution's "
                             "CPU time measured here (cached)")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, help="where calibrations are cached")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        scale = positive_number(args.time_scale, "--time-scale")
    except ConfigError as exc:
        print(f"codeverify verify: {exc}", file=sys.stderr)
        return 2
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    with Sandbox(args.backend, image=args.image, reward_mode=args.reward) as sandbox:
        calibrator = Calibrator(sandbox.run_test, Path(args.cache_dir)) if args.calibrate else None
        for path in args.files:
            for record in load_file(path, args.format, Defaults(time_scale=scale)):
                if record.error is not None:
                    print(f"error: {record.error}", file=sys.stderr)
                    out.write(json.dumps(unreadable_line(record.id, record.error, record.line)) + "\n")
                    continue
                for case in record.cases:
                    if calibrator is not None:
                        case = calibrator.calibrate(case)
                        for note in case.notes:
                            print(f"dataset problem: {case.path}:{case.line}: {case.problem_id}: {note}",
                                  file=sys.stderr)
                    out.write(json.dumps(sandbox.verify_case(case).to_dict()) + "\n")
    if out is not sys.stdout:
        out.close()
    return 0
