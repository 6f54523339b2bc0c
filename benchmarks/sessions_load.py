"""Load test of tool sessions: N concurrent sessions on one ``codeverify serve``, each an agent
making a series of stateful calls.

Starts the server on a free 127.0.0.1 port with ``--max-sessions N``; N client threads each
start a session (``POST /sessions``), make ``--calls`` calls that build on each other's state
(``POST /execute`` with ``session_id``), check every answer, and end the session. Meanwhile the
memory of the server and every process below it (its sandboxes and interpreters) is sampled:
the peak of the summed RSS, and of the summed PSS (shared pages counted once, a truer total).
Prints session start and call latencies (p50/p95/max) and the peaks. Nothing leaves the machine.

    python benchmarks/sessions_load.py [--backend local] [--sessions 50] [--calls 10]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import threading
import time
from pathlib import Path

import httpx
from serving import start_server

ROOT = Path(__file__).resolve().parent.parent

CALLS = [
    "import math\ntotal = 0\nseen = []\n",
    "def step(k):\n    global total\n    total += k * k\n    seen.append(k)\n    return total\n",
] + [f"step({k})" for k in range(1, 200)]


def tree_memory(root: int) -> tuple[int, int, int]:
    """(processes, summed RSS, summed PSS) in bytes of ``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    todo, found = [root], []
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    rss = pss = 0
    for pid in found:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) << 10
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) << 10
        except OSError:
            continue
    return len(found), rss, pss


def agent(url: str, calls: int, starts: list[float], latencies: list[float], errors: list[str],
          barrier: threading.Barrier) -> None:
    with httpx.Client(base_url=url, timeout=120) as client:
        barrier.wait()
        begin = time.perf_counter()
        created = client.post("/sessions")
        starts.append(time.perf_counter() - begin)
        if created.status_code != 201:
            errors.append(f"start: {created.status_code} {created.text[:200]}")
            return
        session_id = created.json()["session_id"]
        expected = 0
        for number, code in enumerate(CALLS[:calls]):
            begin = time.perf_counter()
            answer = client.post("/execute", json={"code": code, "session_id": session_id}).json()
            latencies.append(time.perf_counter() - begin)
            if number >= 2:
                expected += (number - 1) ** 2
                if answer.get("result") != str(expected):
                    errors.append(f"call {number}: {answer}")
                    break
            elif answer.get("verdict") != "AC":
                errors.append(f"call {number}: {answer}")
                break
        client.delete(f"/sessions/{session_id}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="local", choices=("local", "docker"))
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--memory", type=int, default=256, help="each session's memory limit in MiB")
    args = parser.parse_args()
    proc, url = start_server("--backend", args.backend, "--workers", "1", "--max-sessions", str(args.sessions),
                             "--max-queue", str(args.sessions * 2), "--session-memory-limit", str(args.memory))
    _, idle_rss, idle_pss = tree_memory(proc.pid)
    peak = [0, 0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            count, rss, pss = tree_memory(proc.pid)
            peak[0], peak[1], peak[2] = max(peak[0], count), max(peak[1], rss), max(peak[2], pss)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    starts: list[float] = []
    latencies: list[float] = []
    errors: list[str] = []
    barrier = threading.Barrier(args.sessions)
    threads = [threading.Thread(target=agent, args=(url, args.calls, starts, latencies, errors, barrier))
               for _ in range(args.sessions)]
    begin = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - begin
    done.set()
    sampler.join()
    proc.terminate()
    proc.wait(60)
    mib = 1 << 20
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs; backend {args.backend}")
    print(f"{args.sessions} concurrent sessions x {args.calls} stateful calls in {wall:.1f} s; "
          f"{len(errors)} failed")
    for error in errors[:5]:
        print("  ", error)
    print(f"session start   p50 {statistics.median(starts) * 1000:7.1f} ms  p95 {percentile(starts, 0.95) * 1000:7.1f}"
          f" ms  max {max(starts) * 1000:7.1f} ms")
    print(f"call            p50 {statistics.median(latencies) * 1000:7.1f} ms  "
          f"p95 {percentile(latencies, 0.95) * 1000:7.1f} ms  max {max(latencies) * 1000:7.1f} ms")
    print(f"memory (server and all its sandboxes): idle RSS {idle_rss / mib:.0f} MiB, PSS {idle_pss / mib:.0f} MiB; "
          f"peak RSS {peak[1] / mib:.0f} MiB, PSS {peak[2] / mib:.0f} MiB over {peak[0]} processes "
          f"(each session capped at {args.memory} MiB)")


if __name__ == "__main__":
    main()
