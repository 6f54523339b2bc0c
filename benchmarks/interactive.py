"""Cost of interactive tests: the per-test overhead and one query's round trip, per backend.

For each backend: the median wall time (seen from the caller, ``Sandbox.verify``) of a one-test
record judged by text comparison, of the same exchange as an interactive test (the interactor
sends one line, the candidate answers), and of an interactive test with ``--queries`` round trips
(candidate asks, interactor answers, both Python, flushing each line); the round trip is the
difference divided by the number of queries. Warm sandboxes: the first runs are not counted.

Usage: ``python benchmarks/interactive.py [--backends local,docker] [--runs 10] [--queries 2000]``.
Prints a markdown table; note the machine's load beside it (``uptime``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from pytest_codeverify.api import Sandbox

ECHO = "print(int(input()) + 1, flush=True)\n"
ONE_LINE = "import sys\nprint(41)\nsys.exit(0 if sys.stdin.readline().strip() == '42' else 1)\n"
ASKER = "import sys\nn = int(input())\nfor i in range(n):\n    print(i, flush=True)\n    assert input() == str(i)\n"
ANSWERER = ("import sys\nn = int(open(sys.argv[1]).read())\nprint(n)\n"
            "for line in sys.stdin:\n    print(line.strip())\nsys.exit(0)\n")


def timed(sandbox: Sandbox, record: dict[str, Any], runs: int) -> float:
    """Median seconds of one ``verify`` of ``record`` (after one warm-up), asserting it passes."""
    samples = []
    for attempt in range(runs + 1):
        started = time.perf_counter()
        report = sandbox.verify(record)
        elapsed = time.perf_counter() - started
        assert report.reward == 1.0, report.explain()
        if attempt:
            samples.append(elapsed)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="local,docker")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    print("| backend | text test (ms) | interactive, 1 exchange (ms) | "
          f"interactive, {args.queries} queries (ms) | round trip (ms) |")
    print("|---|---|---|---|---|")
    for backend in args.backends.split(","):
        with Sandbox(backend) as sandbox:
            plain = timed(sandbox, {"id": "p", "code": ECHO, "tests": [{"input": "41\n", "output": "42"}]}, args.runs)
            one = timed(sandbox, {"id": "i", "code": ECHO, "interactor": ONE_LINE, "tests": [{"input": "x"}]},
                        args.runs)
            many = timed(sandbox, {"id": "q", "code": ASKER, "interactor": ANSWERER,
                                   "tests": [{"input": str(args.queries)}]}, max(3, args.runs // 3))
        trip = (many - one) / args.queries
        print(f"| {backend} | {plain * 1e3:.1f} | {one * 1e3:.1f} | {many * 1e3:.0f} | {trip * 1e3:.3f} |")


if __name__ == "__main__":
    main()
