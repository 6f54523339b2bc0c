"""Per-test overhead of the docker backend against the local one, and container start-up.

    python benchmarks/docker_overhead.py [--tests 1000] [--repeat 3]

Reports, for each backend: the median latency of one trivial job sent straight to a warm
sandbox; the wall time of a pytest run of ``--tests`` trivial stdin tests, serial and with
``-n 2``, per test; then the docker container's start-up time (create, attach, start, runner
greeting) and the cost of changing its memory limit (``docker update``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_codeverify.sandbox import Job, open_sandbox
from pytest_codeverify.sandbox.docker import DockerSandbox


def job_latency(backend: str, jobs: int) -> float:
    """Median seconds per trivial job in a warm sandbox."""
    with open_sandbox(backend) as box:
        job = Job(code="print(input())", stdin=b"1\n")
        box.run(job)
        times = []
        for _ in range(jobs):
            start = time.perf_counter()
            box.run(job)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def pytest_run(backend: str, data: Path, workers: int | None) -> float:
    """Wall seconds of one pytest run over ``data``."""
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--codeverify", str(data),
            "--codeverify-backend", backend]
    if workers:
        argv += ["-n", str(workers)]
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=data.parent)
    return time.perf_counter() - start


def startup(samples: int) -> tuple[float, float]:
    """Median container start-up seconds and median ``docker update`` seconds."""
    starts, updates = [], []
    for _ in range(samples):
        box = DockerSandbox()
        start = time.perf_counter()
        box.start()
        starts.append(time.perf_counter() - start)
        for limit in (256, 512):
            start = time.perf_counter()
            box._set_memory(limit)
            updates.append(time.perf_counter() - start)
        box.close()
    return statistics.median(starts), statistics.median(updates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "trivial.jsonl"
        data.write_text("".join(json.dumps({"id": f"t{i}", "code": "print(input())",
                                            "tests": [{"input": f"{i}\n", "output": f"{i}\n"}]}) + "\n"
                                for i in range(args.tests)))
        for backend in ("local", "docker"):
            results[f"{backend}_job_ms"] = round(job_latency(backend, args.tests) * 1e3, 2)
        # Backends alternate within each repeat, so that a burst of load elsewhere on the
        # machine does not fall on one of them only; the best run of each counts.
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            for workers in (None, 2):
                for backend in ("local", "docker"):
                    key = f"{backend}_{'serial' if workers is None else f'n{workers}'}"
                    best[key] = min(best.get(key, float("inf")), pytest_run(backend, data, workers))
        for key, wall in sorted(best.items()):
            results[f"{key}_s"] = round(wall, 2)
            results[f"{key}_ms_per_test"] = round(wall / args.tests * 1e3, 2)
    start_s, update_s = startup(10)
    results["docker_start_ms"] = round(start_s * 1e3, 1)
    results["docker_update_ms"] = round(update_s * 1e3, 1)
    for mode in ("job", "serial", "n2"):
        suffix = "_ms" if mode == "job" else "_ms_per_test"
        results[f"ratio_{mode}"] = round(results[f"docker_{mode}{suffix}"] / results[f"local_{mode}{suffix}"], 2)
    for key, value in results.items():
        print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
