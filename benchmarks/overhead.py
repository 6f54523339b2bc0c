"""Per-test overhead on 1,000 trivial stdin tests, on each backend, beside the fork floor.

Measures, in one run on this machine (so the figures can be compared with each other):

- ``fork``: the floor, a warm Python process forking a child that runs ``print(1)``;
- ``engine``: the engine alone, one sandbox, no pytest (``verify_case`` over the records, so
  each next test's job starts while the last is judged, as in every real use);
- ``pytest serial`` and ``pytest -n 2``: the whole plugin, ``pytest --codeverify`` end to end,
  minus the time of the same pytest invocation collecting the same items (``--collect-only``),
  so start-up is not counted as per-test overhead;
- for reference, pytest's and pytest-xdist's own cost per item: the same number of empty test
  functions (``def test(i): pass``), serially and with ``-n 2``.

Usage: ``python benchmarks/overhead.py [--tests 1000] [--repeat 3] [--backends local,docker]``.
Prints a markdown table. A backend that cannot run here is left out, with the reason.
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

from pytest_codeverify.engine import verify_case
from pytest_codeverify.formats import Defaults
from pytest_codeverify.formats.native import NativeReader
from pytest_codeverify.sandbox import open_sandbox, resolve_backend


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


def engine_per_test(dataset: Path, backend: str) -> float:
    records = [json.loads(line) for line in dataset.read_text().splitlines()]
    cases = [case for i, r in enumerate(records) for case in NativeReader().read(r, i + 1, Defaults())]
    with open_sandbox(backend) as sandbox:
        sandbox.start()
        verify_case(sandbox, cases[0])  # warm
        started = time.perf_counter()
        count = 0
        for case in cases:
            report = verify_case(sandbox, case)
            assert report.reward == 1.0, report.explain()
            count += report.total
    return (time.perf_counter() - started) / count


def pytest_seconds(target: Path, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", str(target), "-q", "-p", "no:cacheprovider", *extra],
                   check=True, capture_output=True, cwd=target.parent)
    return time.perf_counter() - started


def per_item(target: Path, repeat: int, tests: int, *extra: str) -> tuple[float, float, float]:
    """Seconds per item of a pytest run beyond its collection; the run's total and start-up."""
    collect = statistics.median(pytest_seconds(target, "--collect-only", *extra) for _ in range(repeat))
    total = statistics.median(pytest_seconds(target, *extra) for _ in range(repeat))
    return (total - collect) / tests, total, collect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="local,docker")
    args = parser.parse_args()
    skipped = []
    with tempfile.TemporaryDirectory() as tmp:
        dataset = Path(tmp) / "trivial.jsonl"
        write_dataset(dataset, args.tests)
        empty = Path(tmp) / "test_empty.py"
        empty.write_text(f"import pytest\n\n\n@pytest.mark.parametrize('i', range({args.tests}))\n"
                         "def test(i):\n    pass\n")
        rows = []
        floor = statistics.median(fork_floor(args.tests) for _ in range(args.repeat))
        rows.append(("fork + exec in a warm process (floor)", floor))
        for backend in args.backends.split(","):
            try:
                resolve_backend(backend)
                with open_sandbox(backend) as probe:
                    probe.start()
            except Exception as exc:  # any reason a backend cannot run is reported
                skipped.append(f"{backend}: {exc}")
                continue
            rows.append((f"{backend}: engine, one sandbox, no pytest",
                         statistics.median(engine_per_test(dataset, backend) for _ in range(args.repeat))))
            plugin = ("--codeverify", "--codeverify-backend", backend)
            for label, extra in [("serial", ()), ("-n 2", ("-n", "2"))]:
                seconds, total, collect = per_item(dataset, args.repeat, args.tests, *plugin, *extra)
                rows.append((f"{backend}: pytest --codeverify {label} (total {total:.2f} s, of which start-up "
                             f"{collect:.2f} s)", seconds))
        for label, extra in [("serial", ()), ("-n 2", ("-n", "2"))]:
            seconds, total, collect = per_item(empty, args.repeat, args.tests, *extra)
            rows.append((f"for reference: pytest {label}, an empty test function per item", seconds))
    print(f"{args.tests} trivial stdin tests, {os.cpu_count()} CPUs, median of {args.repeat}\n")
    print("| what | per test (ms) | x floor |")
    print("|---|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds * 1000:.2f} | {seconds / floor:.1f} |")
    for reason in skipped:
        print(f"\nleft out: {reason}")


if __name__ == "__main__":
    main()
