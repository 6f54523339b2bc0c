"""Per-test overhead of the local backend on 1,000 trivial stdin tests.

Measures, in one run on this machine (so the figures can be compared with each other):

- ``fork``: the floor, a warm Python process forking a child that runs ``print(1)``;
- ``engine``: the engine alone, one sandbox, no pytest (``run_test`` in a loop);
- ``pytest serial`` and ``pytest -n 2``: the whole plugin, ``pytest --codeverify`` end to end,
  minus the time of the same pytest invocation collecting the same items (``--collect-only``),
  so start-up is not counted as per-test overhead.

Usage: ``python benchmarks/overhead.py [--tests 1000] [--repeat 3]``. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_codeverify.engine import run_test
from pytest_codeverify.formats import Defaults
from pytest_codeverify.formats.native import NativeReader
from pytest_codeverify.sandbox import LocalSandbox


def write_dataset(path: Path, tests: int, per_record: int = 10) -> None:
    with path.open("w") as handle:
        for index in range(tests // per_record):
            record = {"id": f"echo-{index}", "code": "print(int(input()) + 1)",
                      "tests": [{"input": f"{i}\n", "output": f"{i + 1}\n"} for i in range(per_record)]}
            handle.write(json.dumps(record) + "\n")


def fork_floor(count: int) -> float:
    """Seconds per fork + exec of print(1) in a warm process, output over a pipe."""
    started = time.perf_counter()
    for _ in range(count):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.dup2(write, 1)
            exec(compile("print(1)", "<bench>", "exec"), {})
            sys.stdout.flush()
            os._exit(0)
        os.close(write)
        while os.read(read, 4096):
            pass
        os.close(read)
        os.waitpid(pid, 0)
    return (time.perf_counter() - started) / count


def engine_per_test(dataset: Path) -> float:
    records = [json.loads(line) for line in dataset.read_text().splitlines()]
    cases = [case for i, r in enumerate(records) for case in NativeReader().read(r, i + 1, Defaults())]
    with LocalSandbox() as sandbox:
        sandbox.start()
        started = time.perf_counter()
        count = 0
        for case in cases:
            for test in case.tests:
                outcome = run_test(sandbox, case, test)
                assert outcome.passed, outcome
                count += 1
    return (time.perf_counter() - started) / count


def pytest_seconds(dataset: Path, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "--codeverify", str(dataset), "-q", "-p", "no:cacheprovider",
                    "--codeverify-backend", "local", *extra], check=True, capture_output=True, cwd=dataset.parent)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dataset = Path(tmp) / "trivial.jsonl"
        write_dataset(dataset, args.tests)
        rows = []
        floor = statistics.median(fork_floor(args.tests) for _ in range(args.repeat))
        rows.append(("fork + exec in a warm process (floor)", floor))
        rows.append(("engine, one local sandbox, no pytest",
                     statistics.median(engine_per_test(dataset) for _ in range(args.repeat))))
        for label, extra in [("pytest --codeverify, serial", ()), ("pytest --codeverify -n 2", ("-n", "2"))]:
            collect = statistics.median(pytest_seconds(dataset, "--collect-only", *extra) for _ in range(args.repeat))
            total = statistics.median(pytest_seconds(dataset, *extra) for _ in range(args.repeat))
            rows.append((f"{label} (total {total:.2f} s, of which start-up {collect:.2f} s)",
                         (total - collect) / args.tests))
    print(f"{args.tests} trivial stdin tests, {os.cpu_count()} CPUs, median of {args.repeat}\n")
    print("| what | per test (ms) | x floor |")
    print("|---|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds * 1000:.2f} | {seconds / floor:.1f} |")


if __name__ == "__main__":
    main()
