"""Time limits without a sandbox: time scale, dataset limits, references, calibration and its cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import write_jsonl
from pytest_codeverify.calibration import Calibrator, calibration_key, reference_limit
from pytest_codeverify.cases import Case, StdioTest, TestSpec
from pytest_codeverify.config import CALIBRATION_FACTOR, ConfigError, RunConfig, wall_cap, wall_limit
from pytest_codeverify.formats import Defaults, load_file, load_problems
from pytest_codeverify.formats.references import mebibytes_text, reference_of, seconds_text
from pytest_codeverify.judge import Outcome
from pytest_codeverify.protocol import Verdict
from pytest_codeverify.sandbox.runner import _StarvationWatch


def _case(**fields: object) -> Case:
    base: dict[str, object] = dict(id="p", problem_id="p", tests=(StdioTest("1\n", "1\n"), StdioTest("2\n", "2\n")),
                                   code="print(input())", reference="print(input())")
    base.update(fields)
    return Case(**base)  # type: ignore[arg-type]


class FakeRuns:
    """Stands in for a sandbox: each test's CPU time and verdict, and a count of runs."""

    def __init__(self, times: list[float], verdicts: list[Verdict] | None = None) -> None:
        self.times = times
        self.verdicts = verdicts or [Verdict.AC] * len(times)
        self.calls: list[tuple[str | None, float]] = []

    def __call__(self, case: Case, test: TestSpec) -> Outcome:
        position = case.tests.index(test)
        self.calls.append((case.code, case.limit_for(test)))
        return Outcome(self.verdicts[position], "boom" if self.verdicts[position] is not Verdict.AC else "",
                       self.times[position])


def test_time_scale_multiplies_declared_limits_and_calibration_raises_them() -> None:
    case = _case(time_limit=2.0, tests=(StdioTest("", "", time_limit=1.0), StdioTest("", "")), time_scale=1.5)
    assert [case.limit_for(t) for t in case.tests] == [1.5, 3.0]
    calibrated = _case(time_limit=2.0, calibrated_limit=8.32)
    assert calibrated.limit_for(calibrated.tests[0]) == 8.32
    assert _case(time_limit=2.0, calibrated_limit=0.4).time_limits() == [2.0]  # never below the declared limit


def test_run_config_reads_time_scale_and_calibrate() -> None:
    values = {"codeverify_backend": "local", "codeverify_reward": "fraction", "codeverify_format": "auto",
              "codeverify_time_limit": "2", "codeverify_memory_limit": "512", "codeverify_output_limit": "100",
              "codeverify_extract": "strict", "codeverify_pass_k": "1", "codeverify_time_scale": "2.5",
              "codeverify_calibrate": "true"}
    run = RunConfig.from_options(values.get, ("native",))
    assert (run.time_scale, run.calibrate) == (2.5, True)
    with pytest.raises(ConfigError, match="--codeverify-time-scale"):
        RunConfig.from_options({**values, "codeverify_time_scale": "-1"}.get, ("native",))
    with pytest.raises(ConfigError, match="--codeverify-calibrate"):
        RunConfig.from_options({**values, "codeverify_calibrate": "maybe"}.get, ("native",))


def test_dataset_limits_are_read(tmp_path: Path) -> None:
    assert seconds_text("2 seconds") == 2.0 and seconds_text("1500 ms") == 1.5 and seconds_text("soon") is None
    assert mebibytes_text("256 megabytes") == 256 and mebibytes_text("1 GB") == 1024 and mebibytes_text("x") is None
    taco = {"input_output": json.dumps({"inputs": ["1\n"], "outputs": ["1\n"]}), "solutions": ["print(input())"],
            "time_limit": "3 seconds", "memory_limit": "128 megabytes"}
    contests = {"name": "c", "public_tests": {"input": ["1\n"], "output": ["1\n"]}, "code": "print(input())",
                "time_limit": {"seconds": 1, "nanos": 500000000}, "memory_limit_bytes": 256 << 20,
                "solutions": {"language": [2, 3], "solution": ["print raw_input()", "print(input())"]}}
    path = write_jsonl(tmp_path / "d.jsonl", [taco])
    (apps_case,) = next(iter(load_file(path, defaults=Defaults(time_scale=2.0)))).cases
    assert (apps_case.time_limit, apps_case.memory_limit, apps_case.limit_for(apps_case.tests[0])) == (3.0, 128, 6.0)
    assert apps_case.reference == "print(input())"
    (contest_case,) = next(iter(load_file(write_jsonl(tmp_path / "c.jsonl", [contests])))).cases
    assert (contest_case.time_limit, contest_case.memory_limit) == (1.5, 256)
    assert contest_case.reference == "print(input())"  # the Python 3 one, not the Python 2 one


def test_references_of_each_format(tmp_path: Path) -> None:
    assert reference_of({"canonical_solution": "    return 1\n", "prompt": "def f():\n"}, "humaneval") \
        == "def f():\n    return 1\n"
    assert reference_of({"reference": "print(1)", "tests": []}, "native") == "print(1)"
    assert reference_of({"tests": []}, "native") is None
    # A sample joined with its MBPP problem: the problem's code is the reference, the sample's the candidate.
    problems = write_jsonl(tmp_path / "mbpp.jsonl", [{"task_id": 7, "text": "t", "code": "def f():\n    return 1",
                                                      "test_list": ["assert f() == 1"]}])
    samples = write_jsonl(tmp_path / "s.jsonl", [{"task_id": 7, "completion": "def f():\n    return 2"}])
    (case,) = next(iter(load_file(samples, defaults=Defaults(problems=load_problems(problems))))).cases
    assert case.code == "def f():\n    return 2" and case.reference == "def f():\n    return 1"


def test_calibration_sets_factor_times_slowest_reference_and_caches(tmp_path: Path) -> None:
    runs = FakeRuns([0.5, 2.08])
    case = _case(code="while True: pass", time_limit=2.0)
    calibrated = Calibrator(runs, tmp_path).calibrate(case)
    assert calibrated.calibrated_limit == pytest.approx(CALIBRATION_FACTOR * 2.08)
    assert calibrated.limit_for(case.tests[0]) == pytest.approx(8.32)
    # The reference ran, not the candidate, under the headroom limit.
    assert runs.calls == [("print(input())", reference_limit(2.0))] * 2
    assert calibrated.code == "while True: pass" and calibrated.notes == ()
    again = Calibrator(FakeRuns([9.0, 9.0]), tmp_path)  # a second run, another process: from the cache
    assert again.calibrate(case).calibrated_limit == pytest.approx(8.32) and again.measured == 0
    assert (tmp_path / "calibration" / f"{calibration_key(case)}.json").is_file()
    changed = _case(code="x", reference="print(input()) # v2")  # another reference: measured anew
    assert calibration_key(changed) != calibration_key(case)


def test_a_failing_reference_is_a_dataset_problem_and_changes_no_limit(tmp_path: Path) -> None:
    calibrated = Calibrator(FakeRuns([0.1, 0.2], [Verdict.AC, Verdict.WA]), tmp_path).calibrate(_case())
    assert calibrated.calibrated_limit is None
    assert len(calibrated.notes) == 1 and "reference solution fails its own tests (test_1: WA boom)" \
        in calibrated.notes[0]


def test_a_sandbox_failure_during_calibration_is_not_cached(tmp_path: Path) -> None:
    calibrator = Calibrator(FakeRuns([0.1, 0.1], [Verdict.SE, Verdict.AC]), tmp_path)
    assert calibrator.calibrate(_case()).notes[0].startswith("calibration failed")
    assert list((tmp_path / "calibration").glob("*.json")) == []


def test_a_case_without_reference_is_left_alone(tmp_path: Path) -> None:
    runs = FakeRuns([1.0, 1.0])
    case = _case(reference=None)
    assert Calibrator(runs, tmp_path).calibrate(case) is case and runs.calls == []


def test_starvation_watch_extends_the_backstop_only_while_cpu_time_grows() -> None:
    watch = _StarvationWatch(cpu_limit=1.0, wall_limit=3.0, started=0.0)
    assert watch.still_working(3.1, lambda: 0.5)  # opens a window
    assert watch.still_working(3.5, lambda: pytest.fail("read only at the window's end"))
    assert watch.still_working(4.2, lambda: 0.7)  # 0.2 s of CPU in 1.1 s: starved, not idle
    assert not watch.still_working(5.3, lambda: 0.7)  # no CPU for a window: asleep
    capped = _StarvationWatch(cpu_limit=1.0, wall_limit=3.0, started=0.0)
    assert not capped.still_working(wall_cap(1.0, 3.0) + 0.1, lambda: 0.5)
    assert wall_cap(2.0, wall_limit(2.0)) == pytest.approx(20.0)  # 4 x the backstop at most
    assert wall_cap(0.1, wall_limit(0.1)) == pytest.approx(1.2 + 0.1 / 0.05)


def test_processes_sharing_a_cache_measure_each_problem_once(tmp_path: Path) -> None:
    """As pytest-xdist workers do: the one that comes second waits for the first one's measurement."""
    import threading
    import time

    runs = FakeRuns([0.1, 0.2])

    def slow_run(case: Case, test: TestSpec) -> Outcome:
        time.sleep(0.1)
        return runs(case, test)

    workers = [Calibrator(slow_run, tmp_path) for _ in range(3)]
    limits: list[float | None] = []
    threads = [threading.Thread(target=lambda w=w: limits.append(w.calibrate(_case()).calibrated_limit))
               for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(runs.calls) == 2 and sum(w.measured for w in workers) == 1
    assert limits == [pytest.approx(0.2 * CALIBRATION_FACTOR)] * 3
