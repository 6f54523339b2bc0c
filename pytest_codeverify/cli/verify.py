"""``codeverify verify FILE...``: verify JSONL files without pytest, print or write rewards."""

from __future__ import annotations

import argparse
import json
import sys

from ..api import Sandbox
from ..config import BACKENDS, DEFAULT_IMAGE, REWARD_MODES
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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    with Sandbox(args.backend, image=args.image, reward_mode=args.reward) as sandbox:
        for path in args.files:
            for record in load_file(path, args.format, Defaults()):
                if record.error is not None:
                    print(f"error: {record.error}", file=sys.stderr)
                    out.write(json.dumps(unreadable_line(record.id, record.error, record.line)) + "\n")
                    continue
                for case in record.cases:
                    out.write(json.dumps(sandbox.verify_case(case).to_dict()) + "\n")
    if out is not sys.stdout:
        out.close()
    return 0
