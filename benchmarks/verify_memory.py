"""Peak memory and throughput of ``codeverify verify -j N`` on inputs far larger than its window.

Generates, in a temporary directory:

- ``many``: ``--records`` records of ``--tests-per-record`` trivial stdin tests each
  (default 2,000 x 10 = 20,000 tests);
- ``huge``: ``--huge-records`` records of ``--huge-tests`` tests each, every test carrying
  ``--huge-input-kb`` KiB of stdin (default 8 x 2,500 tests x 1 KiB: 20,000 tests, ~20 MiB).

and runs ``codeverify verify -j N`` on each, sampling the resident memory of the whole process
tree (the command, its sandboxes' bubblewrap and runner processes, the candidates) every 20 ms
with psutil, or /proc where psutil is missing. It prints the peak tree RSS, the command's own
peak (``ru_maxrss``), tests per second, and the fork floor measured in the same run (a warm
process forking a child that runs the same trivial program), then checks the output: one line
per record, in input order, with the rewards of a serial run when ``--check-serial`` is given.

Usage: ``python benchmarks/verify_memory.py [-j 2] [--records 2000] [--check-serial]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CODE = "print(int(input()) + 1)"


def write_many(path: Path, records: int, per_record: int) -> int:
    with path.open("w") as handle:
        for index in range(records):
            tests = [{"input": f"{i}\n", "output": f"{i + 1}\n"} for i in range(per_record)]
            handle.write(json.dumps({"id": f"many-{index}", "code": CODE, "tests": tests}) + "\n")
    return records * per_record


def write_huge(path: Path, records: int, per_record: int, input_kb: int) -> int:
    # The number is on the first line; the rest of the input is padding the program never reads.
    padding = "#" * (input_kb * 1024 - 1)
    with path.open("w") as handle:
        for index in range(records):
            tests = [{"input": f"{i}\n{padding}\n", "output": f"{i + 1}\n"} for i in range(per_record)]
            handle.write(json.dumps({"id": f"huge-{index}", "code": CODE, "tests": tests}) + "\n")
    return records * per_record


def tree_rss(pid: int) -> int:
    """Bytes resident in ``pid`` and all its descendants."""
    try:
        import psutil
    except ImportError:
        return _proc_tree_rss(pid)
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def _proc_tree_rss(pid: int) -> int:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * page
        except (OSError, ValueError, IndexError):
            pass
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += rss.get(current, 0)
        todo.extend(children.get(current, []))
    return total


def run_measured(command: list[str]) -> tuple[float, int, int]:
    """Run ``command``; return (seconds, peak tree RSS in bytes, its own ru_maxrss in bytes)."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    # wait4 gives this child's own peak, which the sampler could miss between two samples.
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr[-2000:]}")
    return elapsed, max(peak, usage.ru_maxrss * 1024), usage.ru_maxrss * 1024


def fork_floor(count: int = 500) -> float:
    """Seconds per fork of a warm process whose child runs the trivial program, output over a pipe."""
    code = compile(CODE, "<bench>", "exec")
    started = time.perf_counter()
    for i in range(count):
        read_in, write_in = os.pipe()
        read_out, write_out = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.dup2(read_in, 0)
            os.dup2(write_out, 1)
            sys.stdin = open(0, closefd=False)
            exec(code, {})
            sys.stdout.flush()
            os._exit(0)
        os.close(read_in)
        os.close(write_out)
        os.write(write_in, f"{i}\n".encode())
        os.close(write_in)
        while os.read(read_out, 4096):
            pass
        os.close(read_out)
        os.waitpid(pid, 0)
    return (time.perf_counter() - started) / count


def check_output(path: Path, expected_ids: list[str], serial: Path | None) -> None:
    ids = []
    with path.open() as handle:
        lines = (json.loads(line) for line in handle)
        if serial is None:
            for line in lines:
                ids.append(line["id"])
                assert line["reward"] == 1.0, line
        else:
            with serial.open() as other:
                for line, want in zip(lines, (json.loads(w) for w in other), strict=True):
                    ids.append(line["id"])
                    assert (line["id"], line["reward"], line["verdict"]) == \
                        (want["id"], want["reward"], want["verdict"]), (line["id"], want["id"])
    assert ids == expected_ids, "the output is not one line per record in input order"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--tests-per-record", type=int, default=10)
    parser.add_argument("--huge-records", type=int, default=8)
    parser.add_argument("--huge-tests", type=int, default=2500)
    parser.add_argument("--huge-input-kb", type=int, default=1)
    parser.add_argument("--backend", default="local")
    parser.add_argument("--only", choices=("many", "huge"), default=None)
    parser.add_argument("--check-serial", action="store_true", help="also run -j 1 and compare the rewards")
    args = parser.parse_args()

    floor = fork_floor()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = {
            "many": (lambda p: write_many(p, args.records, args.tests_per_record),
                     [f"many-{i}" for i in range(args.records)]),
            "huge": (lambda p: write_huge(p, args.huge_records, args.huge_tests, args.huge_input_kb),
                     [f"huge-{i}" for i in range(args.huge_records)]),
        }
        print(f"fork floor: {floor * 1000:.2f} ms per test ({1 / floor:.0f} tests/s on one core); "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
        print("| input | tests | size MiB | -j | seconds | tests/s | per test vs floor | peak tree RSS MiB "
              "| command's own peak MiB |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, (write, ids) in inputs.items():
            if args.only and name != args.only:
                continue
            data = folder / f"{name}.jsonl"
            tests = write(data)
            out = folder / f"{name}.out.jsonl"
            command = [sys.executable, "-m", "pytest_codeverify.cli", "verify", str(data), "--backend", args.backend,
                       "--progress", "never"]
            seconds, peak, own = run_measured([*command, "-j", str(args.jobs), "-o", str(out)])
            serial = None
            if args.check_serial:
                serial = folder / f"{name}.serial.jsonl"
                run_measured([*command, "-j", "1", "-o", str(serial)])
            check_output(out, ids, serial)
            per_test = seconds * args.jobs / tests
            print(f"| {name} | {tests} | {data.stat().st_size / 2**20:.1f} | {args.jobs} | {seconds:.1f} "
                  f"| {tests / seconds:.0f} | {per_test / floor:.1f}x | {peak / 2**20:.0f} | {own / 2**20:.0f} |",
                  flush=True)
        print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
