"""Cost of the Python API per call: Sandbox.run, Candidate.call and Sandbox.verify on a warm sandbox.

    python benchmarks/bench_api.py [N]

Prints the median and p90 milliseconds of each, after a warm-up (the sandbox's start is
reported separately).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

from pytest_codeverify import Sandbox


def measure(label: str, action: Callable[[], object], n: int) -> None:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    print(f"{label:<40} median {statistics.median(samples):6.2f} ms   p90 {samples[int(n * 0.9)]:6.2f} ms")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with Sandbox(backend="local") as sb:
        start = time.perf_counter()
        sb.run("pass")
        print(f"{'sandbox start + first run':<40} {(time.perf_counter() - start) * 1000:6.1f} ms")
        add = sb.candidate("def add(a, b):\n    return a + b\n", entry_point="add")
        record = {"code": "print(sum(map(int, input().split())))",
                  "tests": [{"input": "1 2\n", "output": "3\n"}] * 5}
        measure("run('print(1)')", lambda: sb.run("print(1)"), n)
        measure("candidate.call(1, 2)", lambda: add.call(1, 2), n)
        measure("verify(record with 5 stdin tests)", lambda: sb.verify(record), max(n // 5, 10))


if __name__ == "__main__":
    main()
