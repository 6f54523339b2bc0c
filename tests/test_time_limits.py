"""Time limits in a real sandbox: calibration against reference solutions, and the wall-clock
backstop under competing load (CPU time is what counts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import read_jsonl, write_jsonl
from pytest_codeverify.api import Sandbox
from pytest_codeverify.calibration import Calibrator
from pytest_codeverify.config import STARVED_WINDOW_S, wall_limit

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

#: ~0.3 s of CPU here: more than the declared limit below, far less than a calibrated one.
REFERENCE = "n = int(input())\nprint(sum(range(n)))\n"
#: The same answer for ten times the work.
HEAVY = "n = int(input())\nfor _ in range(10):\n    s = sum(range(n))\nprint(s)\n"
RECORD = {"id": "sum", "time_limit": 0.05, "reference": REFERENCE,
          "tests": [{"input": "30000000\n", "output": f"{sum(range(3 * 10**7))}\n"}]}


def test_calibration_passes_the_reference_and_fails_a_far_slower_sample(backend: str, tmp_path: Path) -> None:
    with Sandbox(backend) as sandbox:
        plain = sandbox.verify({**RECORD, "code": REFERENCE})
        assert plain.verdict.value == "TLE"  # the declared limit was set on a faster machine
        calibrator = Calibrator(sandbox.run_test, tmp_path)
        (reference_case,) = sandbox._cases({**RECORD, "code": REFERENCE})
        (heavy_case,) = sandbox._cases({**RECORD, "code": HEAVY})
        reference_report = sandbox.verify_case(calibrator.calibrate(reference_case))
        heavy_report = sandbox.verify_case(calibrator.calibrate(heavy_case))
    assert calibrator.measured == 1
    assert reference_report.verdict.value == "AC", reference_report.explain()
    assert heavy_report.verdict.value == "TLE", heavy_report.explain()
    line = heavy_report.to_dict()
    assert line["calibrated"] is True and line["time_limit"] > 0.05


def test_plugin_calibrates_once_and_reports_the_limit_and_dataset_problems(pytester: pytest.Pytester,
                                                                           tmp_path: Path) -> None:
    broken = {"id": "broken", "reference": "print(0)", "code": "print(1)",
              "tests": [{"input": "", "output": "1\n"}]}
    heavy = {**RECORD, "id": "heavy", "problem_id": "sum", "code": HEAVY}
    data = write_jsonl(tmp_path / "d.jsonl", [{**RECORD, "code": REFERENCE}, heavy, broken])
    rewards = tmp_path / "rewards.jsonl"
    cache = tmp_path / "cache"
    args = ("--codeverify", str(data), "--codeverify-backend", "local", "--codeverify-calibrate",
            "--codeverify-cache-dir", str(cache), "--codeverify-rewards", str(rewards), "-p", "no:cacheprovider")
    pytester.runpytest_subprocess(*args).stdout.fnmatch_lines(["*dataset problem: broken: the reference*"])
    lines = {line["id"]: line for line in read_jsonl(rewards)}
    assert (lines["sum"]["verdict"], lines["heavy"]["verdict"], lines["broken"]["verdict"]) == ("AC", "TLE", "AC")
    assert lines["sum"]["calibrated"] is True and lines["sum"]["time_limit"] > 0.05
    assert "fails its own tests" in lines["broken"]["dataset_problems"][0] and lines["broken"]["reward"] == 1.0
    entries = sorted((cache / "calibration").glob("*.json"))
    assert len(entries) == 2  # one per problem (sum and heavy share theirs), failures included
    stamps = [entry.stat().st_mtime_ns for entry in entries]
    pytester.runpytest_subprocess(*args)
    assert [entry.stat().st_mtime_ns for entry in entries] == stamps  # a second run measures nothing
    assert {line["id"]: line["verdict"] for line in read_jsonl(rewards)} == {"sum": "AC", "heavy": "TLE",
                                                                            "broken": "AC"}


@pytest.fixture
def one_busy_cpu() -> Iterator[int]:
    """This process and four busy loops pinned to one CPU (the sandbox started from here inherits
    the pinning): a job there gets about a fifth of a CPU."""
    saved = os.sched_getaffinity(0)
    cpu = min(saved)
    os.sched_setaffinity(0, {cpu})
    # Each loop in a session of its own: with the scheduler's autogroups a session shares the
    # CPU as one group, and the sandbox runs in a session of its own too.
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
             for _ in range(4)]
    try:
        yield cpu
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
        os.sched_setaffinity(0, saved)


BURN = "import time\nwhile time.process_time() < 0.8:\n    pass\nprint('done')\n"


def test_a_program_starved_of_cpu_is_not_stopped_by_the_wall_backstop(one_busy_cpu: int) -> None:
    with Sandbox("local", time_limit=1.0) as sandbox:
        started = time.monotonic()
        result = sandbox.run(BURN)
        elapsed = time.monotonic() - started
        sleeper = sandbox.run("import time\ntime.sleep(60)")
    assert result.verdict.value == "AC", result.message
    # It really was starved: it needed more wall time than the backstop allows an idle job.
    assert elapsed > wall_limit(1.0), f"not starved ({elapsed:.1f} s): the test proves nothing"
    assert sleeper.verdict.value == "TLE" and "wall-clock" in sleeper.message
    assert sleeper.time_s < 0.5


def test_a_sleeping_program_still_ends_soon_after_its_backstop(backend: str) -> None:
    with Sandbox(backend, time_limit=0.5) as sandbox:
        started = time.monotonic()
        result = sandbox.run("import time\ntime.sleep(60)")
        elapsed = time.monotonic() - started
    assert result.verdict.value == "TLE"
    assert elapsed < wall_limit(0.5) + STARVED_WINDOW_S + 2


def test_cli_verify_calibrates_and_scales(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_codeverify.cli import main

    data = write_jsonl(tmp_path / "d.jsonl", [{**RECORD, "code": REFERENCE}])
    assert main(["verify", str(data), "--backend", "local", "--calibrate", "--cache-dir", str(tmp_path)]) == 0
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert (line["verdict"], line["calibrated"]) == ("AC", True)
    assert main(["verify", str(data), "--backend", "local", "--time-scale", "40"]) == 0
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert line["time_limit"] == pytest.approx(2.0) and "calibrated" not in line


def test_calibration_under_xdist_uses_one_measurement(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    samples = [{**RECORD, "id": f"s{k}", "problem_id": "sum", "code": REFERENCE} for k in range(4)]
    data = write_jsonl(tmp_path / "d.jsonl", samples)
    rewards = tmp_path / "rewards.jsonl"
    pytester.runpytest_subprocess("--codeverify", str(data), "-n", "2", "--codeverify-backend", "local",
                                  "--codeverify-calibrate", "--codeverify-cache-dir", str(tmp_path / "cache"),
                                  "--codeverify-rewards", str(rewards), "-p", "no:cacheprovider")
    lines = read_jsonl(rewards)
    assert {line["verdict"] for line in lines} == {"AC"} and all(line["calibrated"] for line in lines)
    assert len({line["time_limit"] for line in lines}) == 1  # both workers use the one measurement
    assert len(list((tmp_path / "cache" / "calibration").glob("*.json"))) == 1
