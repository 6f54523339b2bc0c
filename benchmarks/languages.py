"""Compile time and per-test run time of every language, on the local and Docker backends.

For each language whose toolchain the backend has: the median wall time of a compile job (a
fresh source each time, so the artefact cache never answers) and the median wall time and CPU
time of one stdin test of an a+b program run from the cached artefact, seen from the caller
(``Sandbox.run``: job frame, limits, copy of the artefact, exec, supervision, result).

Usage: ``python benchmarks/languages.py [--backends local,docker] [--image TAG] [--compiles 3]
[--runs 20]``. Prints a markdown table; note the machine's load beside it (``uptime``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from pytest_codeverify import languages
from pytest_codeverify.languages import ToolchainMissing
from pytest_codeverify.protocol import Job
from pytest_codeverify.sandbox import LocalSandbox, Sandbox, compiled

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from language_programs import PROGRAMS

#: A line comment in each language, to make each compiled source unique.
COMMENT = {"python": "#", "pypy": "#"}


def available(sandbox: Sandbox, name: str) -> bool:
    if sandbox.name == "local":
        try:
            compiled.host_toolchain(name)
        except ToolchainMissing:
            return False
        return True
    probe = Job(code=PROGRAMS[name]["ac"], stdin=b"1 2\n", language=name)
    try:
        return sandbox.run(probe).stdout.strip() == b"3"
    except Exception:
        return False


def measure(sandbox: Sandbox, name: str, compiles: int, runs: int) -> dict[str, float]:
    """Median compile seconds, run wall and CPU seconds per test (milliseconds)."""
    program = PROGRAMS[name]["ac"]
    comment = COMMENT.get(name, "//")
    compile_times = []
    for attempt in range(compiles):
        code = f"{program}\n{comment} {time.time_ns()} {attempt}\n"
        before = sandbox.compilations
        started = time.perf_counter()
        result = sandbox.run(Job(code=code, stdin=b"1 2\n", language=name))
        elapsed = time.perf_counter() - started
        assert sandbox.compilations == before + 1 and result.stdout.strip() == b"3", result
        compile_times.append(elapsed - result.wall_s)  # the first test's own run is not compile time
    walls, cpus = [], []
    job = Job(code=program, stdin=b"20 22\n", language=name)
    sandbox.run(job)  # compiled (or warmed) once
    for _ in range(runs):
        started = time.perf_counter()
        result = sandbox.run(job)
        walls.append(time.perf_counter() - started)
        cpus.append(result.cpu_s)
        assert result.stdout.strip() == b"42", result
    return {"compile_s": statistics.median(compile_times) if compile_times else 0.0,
            "run_ms": statistics.median(walls) * 1000, "cpu_ms": statistics.median(cpus) * 1000}


def open_backend(name: str, image: str) -> Sandbox:
    if name == "docker":
        from pytest_codeverify.sandbox.docker import DockerSandbox

        return DockerSandbox(image)
    return LocalSandbox()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="local,docker")
    parser.add_argument("--image", default="codeverify-sandbox:languages")
    parser.add_argument("--compiles", type=int, default=3)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} CPUs")
    print("| backend | language | compile (s) | run per test (ms wall) | CPU per test (ms) |")
    print("|---|---|---|---|---|")
    for backend in args.backends.split(","):
        with open_backend(backend, args.image) as sandbox:
            for name in languages.names():
                if not available(sandbox, name):
                    print(f"| {backend} | {name} | not available | | |")
                    continue
                figures = measure(sandbox, name, args.compiles if name != "python" else 0, args.runs)
                compile_text = "-" if name == "python" else f"{figures['compile_s']:.2f}"
                run_text = f"{figures['run_ms']:.1f} | {figures['cpu_ms']:.1f}"
                print(f"| {backend} | {name} | {compile_text} | {run_text} |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f} (1 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
