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
import statistics
import sys
import time
from pathlib import Path

import httpx
from serving import start_server

ROOT = Path(__file__).resolve().parent.parent

RECORD_CODE = "a, b = map(int, input().split())\nprint(a + b)\n"


def record(tests: int) -> dict[str, object]:
    return {"id": "load", "code": RECORD_CODE,
            "tests": [{"input": f"{i} {i}\n", "output": f"{2 * i}\n"} for i in range(tests)]}


async def level(url: str, concurrency: int, requests: int, tests: int, max_seconds: float) -> dict[str, float]:
    body = record(tests)
    latencies: list[float] = []
    failures = 0
    start = time.monotonic()
    deadline = start + max_seconds
    remaining = requests

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal remaining, failures
        while remaining > 0 and time.monotonic() < deadline:
            remaining -= 1
            sent = time.monotonic()
            response = await client.post("/verify", json=body)
            latencies.append(time.monotonic() - sent)
            if response.status_code != 200 or response.json().get("reward") != 1.0:
                failures += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        await client.post("/verify", json=body)  # warm-up
        start = time.monotonic()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    elapsed = time.monotonic() - start
    latencies.sort()
    return {"concurrency": concurrency, "requests": len(latencies), "failures": failures,
            "verifications_per_s": len(latencies) / elapsed, "tests_per_s": len(latencies) * tests / elapsed,
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]}


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
