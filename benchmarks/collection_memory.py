"""Peak memory of pytest collecting a large JSONL dataset (``pytest --collect-only --codeverify``).

Generates ``--items`` trivial stdin tests (``--per-record`` per record) and runs
``pytest --collect-only -q --codeverify FILE`` in a subprocess; prints its peak RSS
(``ru_maxrss`` from ``wait4``), the same for an empty collection (pytest's own start-up), and
the difference per item.

Usage: ``python benchmarks/collection_memory.py [--items 100000] [--per-record 10]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write(path: Path, items: int, per_record: int) -> None:
    with path.open("w") as handle:
        for index in range(items // per_record):
            tests = [{"input": f"{i}\n", "output": f"{i + 1}\n"} for i in range(per_record)]
            handle.write(json.dumps({"id": f"rec-{index}", "code": "print(int(input()) + 1)", "tests": tests}) + "\n")


def peak_rss(command: list[str], cwd: Path) -> tuple[int, float, str]:
    """(peak RSS in bytes, seconds, last line of output) of ``command``."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    output = proc.stdout.read().decode(errors="replace")
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    lines = output.strip().splitlines()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 5):  # 5: nothing collected (the empty run)
        raise SystemExit(f"{' '.join(command)} exited {code}:\n{output[-3000:]}")
    return usage.ru_maxrss * 1024, seconds, lines[-1] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--per-record", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "big.jsonl"
        write(data, args.items, args.per_record)
        empty = folder / "empty.jsonl"
        empty.write_text("")
        base = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "--codeverify"]
        idle, _s, _l = peak_rss([*base, str(empty)], folder)
        peak, seconds, last = peak_rss([*base, str(data)], folder)
        print("| items | per record | peak RSS MiB | pytest alone MiB | per item bytes | seconds | pytest says |")
        print("|---|---|---|---|---|---|---|")
        print(f"| {args.items} | {args.per_record} | {peak / 2**20:.0f} | {idle / 2**20:.0f} "
              f"| {(peak - idle) / args.items:.0f} | {seconds:.1f} | {last} |")


if __name__ == "__main__":
    main()
