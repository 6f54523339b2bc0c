"""Early stop in all-or-nothing mode, and the next test's job started while one is judged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conftest import read_jsonl, write_jsonl
from pytest_codeverify.config import ConfigError
from pytest_codeverify.engine import CaseReport, verify_case
from pytest_codeverify.formats import Defaults
from pytest_codeverify.formats.native import NativeReader
from pytest_codeverify.protocol import Job
from pytest_codeverify.sandbox import LocalSandbox, Sandbox

ECHO_PLUS_ONE = "print(int(input()) + 1)"
#: Passes its first test, fails the second (prints 0), would pass the third.
FLAKY = {"id": "flaky", "code": "n = int(input())\nprint(0 if n == 2 else n + 1)",
         "tests": [{"input": f"{n}\n", "output": f"{n + 1}\n"} for n in (1, 2, 3, 4)]}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LocalSandbox]:
    with LocalSandbox() as box:
        yield box


def verify(sandbox: Sandbox, record: dict[str, Any], mode: str, early_stop: bool | None = None) -> CaseReport:
    (case,) = NativeReader().read(record, 1, Defaults())
    return verify_case(sandbox, case, mode, early_stop=early_stop)


def test_all_mode_stops_at_the_first_failure(sandbox: LocalSandbox) -> None:
    report = verify(sandbox, FLAKY, "all")
    assert [t.outcome.verdict.value if t.outcome else None for t in report.tests] == ["AC", "WA", None, None]
    assert report.reward == 0.0 and report.passed == 1 and report.total == 4 and report.not_run == 2
    line = report.to_dict()
    assert line["not_run"] == 2 and line["verdict"] == "WA" and line["reward"] == 0.0
    assert line["tests"][2] == {"name": "test_2", "verdict": None, "time_s": None,
                                "not_run": "not run: the reward was decided by test_1 (WA)"}
    assert "test_2: not run: the reward was decided by test_1 (WA)" in report.explain()


def test_fraction_mode_and_early_stop_off_run_every_test(sandbox: LocalSandbox) -> None:
    for report in (verify(sandbox, FLAKY, "fraction"), verify(sandbox, FLAKY, "all", early_stop=False)):
        assert [t.outcome.verdict.value for t in report.tests if t.outcome] == ["AC", "WA", "AC", "AC"]
        assert report.not_run == 0 and "not_run" not in report.to_dict()
    assert verify(sandbox, FLAKY, "fraction").reward == 0.75


def test_early_stop_needs_the_all_reward(sandbox: LocalSandbox) -> None:
    with pytest.raises(ConfigError, match="early stop needs the all-or-nothing reward"):
        verify(sandbox, FLAKY, "fraction", early_stop=True)


def test_a_passing_record_runs_every_test(sandbox: LocalSandbox) -> None:
    record = {"id": "ok", "code": ECHO_PLUS_ONE, "tests": FLAKY["tests"]}
    report = verify(sandbox, record, "all")
    assert report.reward == 1.0 and report.not_run == 0 and report.passed == 4


def test_a_sandbox_failure_does_not_stop_the_record() -> None:
    class Broken(LocalSandbox):
        def run(self, job: Job, follow: Job | None = None) -> Any:
            if job.stdin == b"1\n":
                from pytest_codeverify.sandbox.base import SandboxError

                raise SandboxError("boom")
            return super().run(job, follow)

    with Broken() as box:
        report = verify(box, FLAKY, "all")
    assert [t.outcome.verdict.value if t.outcome else None for t in report.tests] == ["SE", "WA", None, None]
    assert report.reward is None


def job(stdin: str) -> Job:
    return Job(code=ECHO_PLUS_ONE, stdin=stdin.encode())


def test_a_followed_job_runs_once_and_gives_its_own_result(sandbox: LocalSandbox) -> None:
    sandbox.run(job("0\n"))
    sent = sandbox._next_id
    assert sandbox.run(job("1\n"), follow=job("2\n")).stdout == b"2\n"
    assert sandbox.run(job("2\n")).stdout == b"3\n"  # the follow-up's own result, not run again
    assert sandbox._next_id - sent == 2


def test_a_follow_up_nobody_asks_for_never_answers_another_job(sandbox: LocalSandbox) -> None:
    assert sandbox.run(job("1\n"), follow=job("2\n")).stdout == b"2\n"
    # Another job comes next: the follow-up's result is dropped, this job runs and gets its own.
    assert sandbox.run(job("40\n")).stdout == b"41\n"
    assert sandbox.run(job("2\n")).stdout == b"3\n"


def test_a_follow_up_that_kills_its_sandbox_fails_nobody_else(sandbox: LocalSandbox) -> None:
    # The follow-up overruns the runner's answer deadline, as a wedged sandbox would: the next
    # job, which is not the follow-up, still gets its own, correct result.
    stuck = Job(code="import time\nwhile True: time.sleep(1)", cpu_limit=0.5, wall_limit=0.5)
    sandbox.run(job("1\n"), follow=stuck)
    assert sandbox.run(job("7\n")).stdout == b"8\n"


# -- through pytest -----------------------------------------------------------------------

GOOD = {"id": "good", "code": ECHO_PLUS_ONE, "tests": FLAKY["tests"]}


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("--codeverify", "-p", "no:cacheprovider", *args)


def test_pytest_reports_the_rest_of_a_failed_record_as_not_run(pytester: pytest.Pytester) -> None:
    data = write_jsonl(pytester.path / "data.jsonl", [FLAKY, GOOD])
    result = run(pytester, str(data), "--codeverify-reward", "all", "--codeverify-rewards", "r.jsonl", "-rs")
    result.assert_outcomes(passed=5, failed=1, skipped=2)
    result.stdout.fnmatch_lines(["  2 test(s) not run: their record's reward was decided by a failing test*",
                                 "SKIPPED*2*not run: the reward was decided by test_1 (WA)"])
    flaky, good = read_jsonl(pytester.path / "r.jsonl")
    assert (flaky["reward"], flaky["passed"], flaky["total"], flaky["not_run"]) == (0.0, 1, 4, 2)
    assert [t["verdict"] for t in flaky["tests"]] == ["AC", "WA", None, None]
    assert (good["reward"], good["passed"], "not_run" in good) == (1.0, 4, False)


def test_pytest_early_stop_off_and_refused_with_fraction(pytester: pytest.Pytester) -> None:
    data = write_jsonl(pytester.path / "data.jsonl", [FLAKY])
    run(pytester, str(data), "--codeverify-reward", "all", "--codeverify-early-stop", "off").assert_outcomes(
        passed=3, failed=1)
    result = run(pytester, str(data), "--codeverify-early-stop", "on")
    result.stderr.fnmatch_lines(["*--codeverify-early-stop: early stop needs the all-or-nothing reward*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_pytest_xdist_keeps_a_record_together_and_matches_serial(pytester: pytest.Pytester) -> None:
    # Three tests a record: xdist's own chunks (of two here) would cut records in two.
    three = [{"input": f"{n}\n", "output": f"{n + 1}\n"} for n in (1, 2, 3)]
    records = [dict(FLAKY, id=f"flaky-{i}", tests=three) for i in range(7)]
    data = write_jsonl(pytester.path / "data.jsonl", records)
    run(pytester, str(data), "--codeverify-reward", "all", "--codeverify-rewards", "serial.jsonl")
    result = run(pytester, str(data), "--codeverify-reward", "all", "--codeverify-rewards", "parallel.jsonl",
                 "-n", "2")
    # Without --dist, each record's tests go to one worker: the same tests run as serially.
    result.assert_outcomes(passed=7, failed=7, skipped=7)

    def without_times(name: str) -> list[dict[str, object]]:
        return [{**x, "tests": [{k: v for k, v in t.items() if k != "time_s"} for t in x["tests"]]}
                for x in read_jsonl(pytester.path / name)]

    assert without_times("serial.jsonl") == without_times("parallel.jsonl")
