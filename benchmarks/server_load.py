"""Load test of ``codeverify serve`` on loopback: verifications per second and latency by concurrency.

Starts the server on a free 127.0.0.1 port, sends ``--requests`` ``POST /verify`` requests (one
native record with ``--tests`` stdin tests) at each concurrency level, and prints, per level,
verifications (records) per second, tests per second, and p50/p99 request latency. Each level is
bounded by count and by ``--max-seconds``. Nothing leaves the machine.

    python benchmarks/server_load.py [--backend local] [--workers N] [--levels 1 4 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
from pathlib import Path

from serving import start_server

ROOT = Path(__file__).resolve().parent.parent

RECORD_CODE = "a, b = map(int, input().split())\nprint(a + b)\n"


def record(tests: int) -> dict[str, object]:
    return {"id": "load", "code": RECORD_CODE,
            "tests": [{"input": f"{i} {i}\n", "output": f"{2 * i}\n"} for i in range(tests)]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="local")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--requests", type=int, default=300, help="requests per level (default 300)")
    parser.add_argument("--tests", type=int, default=3, help="tests per record (default 3)")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time bound per level (default 60)")
    args = parser.parse_args()
    proc, url = start_server("--backend", args.backend, "--workers", str(args.workers), "--max-queue", "256")
    try:
        print(f"# {platform.platform()}, {os.cpu_count()} CPU(s); backend {args.backend}, "
              f"{args.workers} sandbox(es); one record of {args.tests} stdin tests per request")
        print(f"{'conc':>5} {'requests':>8} {'fail':>4} {'verif/s':>8} {'tests/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
        for concurrency in args.levels:
            row = asyncio.run(level(url, concurrency, args.requests, args.tests, args.max_seconds))
            print(f"{row['concurrency']:>5} {row['requests']:>8} {row['failures']:>4} "
                  f"{row['verifications_per_s']:>8.1f} {row['tests_per_s']:>8.1f} "
                  f"{row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f}", flush=True)
    finally:
        proc.terminate()
        proc.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
