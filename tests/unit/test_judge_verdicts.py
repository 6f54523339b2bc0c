"""Verdicts from synthetic raw results (judge.verdicts): every path, no sandbox."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from pytest_codeverify.cases import AssertTest, CallTest, Case, Compare, StdioTest
from pytest_codeverify.judge import classify, judge, verdict_of_run
from pytest_codeverify.protocol import RawResult, Verdict, encode_value


def raw(outcome: dict[str, Any] | None = None, **changes: Any) -> RawResult:
    """A clean run (exit 0, nothing hit), changed as asked."""
    base = RawResult(exit_code=0, signal=None, stdout=b"", stderr=b"", stdout_truncated=False,
                     stderr_truncated=False, cpu_s=0.1234567, wall_s=0.2, killed_for=None, outcome=outcome)
    return replace(base, **changes)


@pytest.mark.parametrize(("run", "verdict", "fragment"), [
    (raw({"status": "compile_error", "message": "SyntaxError: bad"}), Verdict.CE, "SyntaxError: bad"),
    # a compile error wins over anything else observed
    (raw({"status": "compile_error", "message": "x"}, oom_killed=True, exit_code=1), Verdict.CE, "x"),
    (raw(oom_killed=True, signal=9, exit_code=None), Verdict.MLE, "memory limit of 256 MiB"),
    (raw(killed_for="output", signal=9), Verdict.OLE, "output exceeded"),
    (raw(stdout_truncated=True), Verdict.OLE, "output exceeded"),
    (raw(stderr_truncated=True), Verdict.OLE, "output exceeded"),
    (raw(killed_for="cpu", signal=9), Verdict.TLE, "CPU time exceeded the limit of 1.5 s"),
    (raw(signal=24, exit_code=None), Verdict.TLE, "CPU time"),  # SIGXCPU
    (raw(killed_for="wall", signal=9, wall_s=4.04), Verdict.TLE, "wall-clock limit of 4.0 s"),
    (raw({"status": "exception", "type": "MemoryError", "message": ""}), Verdict.MLE, "MemoryError"),
    (raw(stderr=b"Traceback (most recent call last):\n  ...\nMemoryError\n", exit_code=1), Verdict.MLE,
     "ran out of its 256 MiB"),
    (raw(signal=11, exit_code=None), Verdict.RE, "SIGSEGV"),
    (raw(signal=6, exit_code=None), Verdict.RE, "SIGABRT"),
    (raw(signal=9, exit_code=None), Verdict.RE, "SIGKILL"),
    (raw(signal=64, exit_code=None), Verdict.RE, "signal 64"),
    (raw({"status": "exception", "type": "ValueError", "message": "no"}, exit_code=1), Verdict.RE,
     "ValueError: no"),
    (raw({"status": "exception", "type": "KeyError"}, exit_code=1), Verdict.RE, "KeyError"),
    (raw({"status": "not_plain", "message": "a value of type Counter"}), Verdict.WA, "Counter"),
    (raw({"status": "unencodable", "message": "too deep"}), Verdict.WA, "too deep"),
    (raw({"status": "failed", "message": "assert f(1) == 2"}), Verdict.WA, "assert f(1) == 2"),
    (raw({"status": "failed"}), Verdict.WA, "an assertion of the test failed"),
    (raw(exit_code=3), Verdict.RE, "exit code 3"),
    (raw({"status": "exited"}, exit_code=2), Verdict.RE, "exit code 2"),
], ids=lambda v: v.value if isinstance(v, Verdict) else None)
def test_classify(run: RawResult, verdict: Verdict, fragment: str) -> None:
    got = classify(run, time_limit=1.5, memory_limit=256)
    assert got is not None
    assert got[0] is verdict
    assert fragment in got[1]


@pytest.mark.parametrize("run", [
    raw(),
    raw({"status": "ok", "value": 1}),
    raw({"status": "passed"}),
    raw({"status": "exited"}),  # exit(0) before the end: judged on its output
    raw(stderr=b"warning: MemoryError was close\nbut fine\n"),  # only a last line says MemoryError
    raw(stderr=b"log: retrying\nMemoryError: handled, retried with less\n"),  # and only when it failed
], ids=["clean", "ok", "passed", "exited-0", "stderr-mention", "stderr-memoryerror-exit-0"])
def test_clean_runs_classify_as_none(run: RawResult) -> None:
    assert classify(run, time_limit=1, memory_limit=1) is None
    assert verdict_of_run(run, 1, 1.0) == (Verdict.AC, "")


def test_verdict_of_run_matches_classify() -> None:
    run = raw(killed_for="cpu")
    assert verdict_of_run(run, 64, 2.0) == classify(run, time_limit=2.0, memory_limit=64)


# --- judge: one test of a case ----------------------------------------------------------------


def case(*tests: Any, compare: Compare | None = None, time_limit: float = 2.0) -> Case:
    return Case(id="c", problem_id="p", tests=tests, code="pass", entry_point="f",
                compare=compare or Compare(), time_limit=time_limit)


STDIO = StdioTest("1 2\n", "3\n")


@pytest.mark.parametrize(("stdout", "verdict"), [
    (b"3\n", Verdict.AC),
    (b"3", Verdict.AC),
    (b"4\n", Verdict.WA),
    (b"", Verdict.WA),
    (b"\xff3", Verdict.WA),  # not UTF-8: read with replacement, never a crash
])
def test_judge_stdio(stdout: bytes, verdict: Verdict) -> None:
    outcome = judge(case(STDIO), STDIO, raw(stdout=stdout))
    assert outcome.verdict is verdict
    assert outcome.expected == "3\n"
    assert outcome.passed is (verdict is Verdict.AC)


def test_judge_stdio_keeps_the_evidence() -> None:
    outcome = judge(case(STDIO), STDIO, raw(stdout=b"4\n", stderr=b"note"))
    assert (outcome.stdout, outcome.stderr, outcome.time_s) == ("4\n", "note", 0.123457)
    assert outcome.message == "token 1: expected '3', got '4'"


def test_judge_stdio_uses_the_case_compare_mode() -> None:
    test = StdioTest("", "a\nb\n")
    assert judge(case(test), test, raw(stdout=b"a b\n")).verdict is Verdict.AC
    assert judge(case(test, compare=Compare("lines")), test, raw(stdout=b"a b\n")).verdict is Verdict.WA


def test_judge_uses_the_test_time_limit_in_messages() -> None:
    test = StdioTest("", "", time_limit=0.5)
    outcome = judge(case(test, time_limit=9), test, raw(killed_for="cpu"))
    assert outcome.verdict is Verdict.TLE and "0.5 s" in outcome.message


def test_failure_wins_over_a_right_answer() -> None:
    outcome = judge(case(STDIO), STDIO, raw(stdout=b"3\n", exit_code=1))
    assert outcome.verdict is Verdict.RE


CALL = CallTest((1, 2), {}, 3)


def ok(value: Any) -> dict[str, Any]:
    return {"status": "ok", "value": encode_value(value)}


@pytest.mark.parametrize(("outcome", "test", "verdict"), [
    (ok(3), CALL, Verdict.AC),
    (ok(3.0), CALL, Verdict.AC),
    (ok(4), CALL, Verdict.WA),
    (ok(True), CallTest((), {}, 1), Verdict.WA),  # JSON: a bool is not a number
    (ok((1, 2)), CallTest((), {}, [1, 2]), Verdict.AC),  # JSON: tuples as lists
    (ok([1, 2]), CallTest((), {}, (1, 2), typed=True), Verdict.WA),  # Python ==: a list is not a tuple
    (ok(True), CallTest((), {}, 1, typed=True), Verdict.AC),  # Python ==: True == 1
    (ok(None), CallTest((), {}, None, typed=True, relation="is"), Verdict.AC),
    (ok(0), CallTest((), {}, None, typed=True, relation="is"), Verdict.WA),
    (ok([]), CallTest((), {}, None, typed=True, relation="falsy"), Verdict.AC),
    (ok(1.04), CallTest((), {}, 1.0, typed=True, relation="abs_lt", relation_arg=0.05), Verdict.AC),
    (ok(10 ** 5000), CallTest((), {}, 1, typed=True), Verdict.WA),
    (ok(10 ** 5000), CallTest((), {}, None, typed=True, relation="truthy"), Verdict.AC),
    ({"status": "ok", "value": {"float": "x"}}, CALL, Verdict.WA),  # malformed value: the candidate's
    ({"status": "ok", "value": {"dict": ["ab"]}}, CALL, Verdict.WA),
    ({"status": "ok"}, CALL, Verdict.SE),  # a return without its value: never read as None
    ({"status": "passed"}, CALL, Verdict.RE),
    (None, CALL, Verdict.RE),
    ({"status": "exited", "message": "exit() called"}, CALL, Verdict.RE),
], ids=lambda v: v.value if isinstance(v, Verdict) else None)
def test_judge_call(outcome: dict[str, Any] | None, test: CallTest, verdict: Verdict) -> None:
    assert judge(case(test), test, raw(outcome)).verdict is verdict


def test_judge_call_float_tolerance_from_the_case() -> None:
    test = CallTest((), {}, 0.3)
    assert judge(case(test), test, raw(ok(0.1 + 0.2))).verdict is Verdict.WA
    assert judge(case(test, compare=Compare("float", 1e-9)), test, raw(ok(0.1 + 0.2))).verdict is Verdict.AC


def test_judge_call_wrong_answer_shows_the_value() -> None:
    outcome = judge(case(CALL), CALL, raw(ok("x" * 500)))
    assert outcome.verdict is Verdict.WA
    assert outcome.stdout.startswith("'xxx") and len(outcome.stdout) <= 80
    assert outcome.expected == "3"


def test_judge_call_wide_value_does_not_crash_the_judge() -> None:
    test = CallTest((), {}, 10 ** 5000 - 1, typed=True)
    outcome = judge(case(test), test, raw(ok(10 ** 5000)))
    assert outcome.verdict is Verdict.WA
    assert "<int of" in outcome.stdout and "<int of" in outcome.expected


def test_judge_call_exception_message() -> None:
    outcome = judge(case(CALL), CALL, raw({"status": "exception", "type": "ZeroDivisionError",
                                           "message": "division by zero"}, exit_code=1))
    assert (outcome.verdict, outcome.message) == (Verdict.RE, "ZeroDivisionError: division by zero")


ASSERT = AssertTest("assert f(1) == 2")


@pytest.mark.parametrize(("outcome", "verdict"), [
    ({"status": "passed"}, Verdict.AC),
    ({"status": "failed", "message": "AssertionError"}, Verdict.WA),
    ({"status": "exception", "type": "NameError", "message": "f"}, Verdict.RE),
    ({"status": "ok", "value": 1}, Verdict.RE),
    (None, Verdict.RE),
], ids=lambda v: v.value if isinstance(v, Verdict) else None)
def test_judge_assert(outcome: dict[str, Any] | None, verdict: Verdict) -> None:
    result = judge(case(ASSERT), ASSERT, raw(outcome))
    assert result.verdict is verdict
    assert result.expected == ""


def test_judge_assert_that_never_ends_says_so() -> None:
    assert judge(case(ASSERT), ASSERT, raw()).message == "the test code did not run to its end"


def test_judge_refuses_an_unknown_test_type() -> None:
    class OtherTest:
        time_limit = None

    with pytest.raises(TypeError, match="OtherTest"):
        judge(case(STDIO), OtherTest(), raw())  # type: ignore[arg-type]
