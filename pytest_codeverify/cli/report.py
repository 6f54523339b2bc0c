"""``codeverify report REWARDS.jsonl [MORE.jsonl ...] -o report.html``: a self-contained HTML report."""

from __future__ import annotations

import argparse
import sys


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Write one self-contained HTML page (no network needed) from rewards files: summary, "
                          "plots, records; two or more files are compared side by side.")
    parser.add_argument("files", nargs="+", help="rewards files written by --codeverify-rewards or codeverify verify")
    parser.add_argument("--output", "-o", default="report.html", help="the HTML file to write (default report.html)")
    parser.add_argument("--title", default="codeverify report", help="the page's title")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..htmlreport import MISSING_EXTRA, plotting_available, write_report
    from ..htmlreport.data import ReportInputError

    if not plotting_available():
        print(f"error: {MISSING_EXTRA}", file=sys.stderr)
        return 2
    try:
        problems = write_report(args.files, args.output, args.title)
    except ReportInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in problems[:20]:
        print(f"warning: line not read: {problem}", file=sys.stderr)
    if len(problems) > 20:
        print(f"warning: {len(problems) - 20} more lines not read (listed in the report)", file=sys.stderr)
    print(f"wrote {args.output}")
    return 0
