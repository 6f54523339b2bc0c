"""The pytest-xdist controller's cost as a run grows: the plugin's record scheduler against xdist's loadscope.

With ``-n`` and no ``--dist``, pytest-codeverify hands whole records to workers through its own
scheduler (:mod:`pytest_codeverify.pytest_plugin.scheduling`); ``--dist loadscope`` groups the same
way with xdist's own. This script measures what the scheduling itself costs, without any sandbox:
empty test functions grouped ten to a class (a class is a scope, as a record is), run with
``-n 2`` under each scheduler, and, for reference, ``--dist load`` (no grouping). It prints the
wall time of each run and the CPU time of its controller process.

Usage: ``python benchmarks/xdist_scheduling.py [--tests 7400,29600,100000] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: A plugin that appends the controller's CPU seconds to the file named in its environment.
CONFTEST = """
import os, resource
def pytest_unconfigure(config):
    if not hasattr(config, "workerinput"):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        with open(os.environ["SCHEDULING_CPU_FILE"], "w") as handle:
            handle.write(str(usage.ru_utime + usage.ru_stime))
"""


def write_tests(directory: Path, tests: int, per_scope: int = 10) -> Path:
    path = directory / "test_scopes.py"
    lines = ["import pytest\n"]
    for scope in range(tests // per_scope):
        lines.append(f"class TestRecord{scope}:\n    @pytest.mark.parametrize('i', range({per_scope}))\n"
                     "    def test(self, i):\n        pass\n")
    path.write_text("".join(lines))
    (directory / "conftest.py").write_text(CONFTEST)
    return path


def run(directory: Path, tests_file: Path, workers: int, extra: list[str]) -> tuple[float, float]:
    """Wall seconds of the run and CPU seconds of its controller."""
    cpu_file = directory / "controller_cpu"
    env = {**os.environ, "SCHEDULING_CPU_FILE": str(cpu_file)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", str(tests_file), "-q", "-p", "no:cacheprovider",
                           "-n", str(workers), *extra], cwd=directory, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"pytest failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds, float(cpu_file.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", default="7400,29600,100000", help="comma-separated run sizes")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    schedulers = [("pytest-codeverify's record scheduler (-n, --codeverify)", ["--codeverify"]),
                  ("xdist --dist loadscope", ["--dist", "loadscope"]),
                  ("xdist --dist load (no grouping)", ["--dist", "load"])]
    print(f"empty tests, ten a scope, -n {args.workers}, {os.cpu_count()} CPUs\n")
    print("| tests | scheduler | wall (s) | controller CPU (s) | controller CPU per test (ms) |")
    print("|---|---|---|---|---|")
    for count in (int(n) for n in args.tests.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            tests_file = write_tests(directory, count)
            for label, extra in schedulers:
                seconds, cpu = run(directory, tests_file, args.workers, extra)
                print(f"| {count:,} | {label} | {seconds:.1f} | {cpu:.1f} | {cpu * 1000 / count:.2f} |", flush=True)


if __name__ == "__main__":
    main()
