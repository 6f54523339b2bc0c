"""``codeverify check FILE...``: validate datasets without running anything."""

from __future__ import annotations

import argparse
import sys

from ..cases import CaseError
from ..dataset_check import check_file
from ..formats import READERS, Defaults, load_problems


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Validate JSONL datasets without running anything: detect each file's format and "
                          "report every problem as file:line: field with a hint.")
    parser.add_argument("files", nargs="+", help="JSONL files (.jsonl or .jsonl.gz)")
    parser.add_argument("--format", choices=("auto", *READERS), default="auto")
    parser.add_argument("--problems", metavar="FILE", help="problems file the samples are joined with")
    parser.add_argument("--quiet", "-q", action="store_true", help="print errors and the summary only")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    defaults = Defaults()
    if args.problems:
        try:
            defaults = Defaults(problems=load_problems(args.problems))
        except CaseError as exc:
            print(f"--problems: {exc}", file=sys.stderr)
            return 2
    errors = 0
    for path in args.files:
        report = check_file(path, args.format, defaults)
        for problem in report.problems:
            if not (args.quiet and problem.severity != "error"):
                print(problem)
        print(report.summary())
        errors += report.errors
    return 1 if errors else 0
