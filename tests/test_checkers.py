"""Checkers without a sandbox: reading them, and mapping what a checker did to a verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write_jsonl
from pytest_codeverify.cases import CaseError
from pytest_codeverify.formats import load_file
from pytest_codeverify.judge.checkers import checker_verdict, parse_checker, program_verdict, score_verdict
from pytest_codeverify.protocol import RawResult, Verdict
from pytest_codeverify.rewards import reward

FUNCTION = "def check(input, output, expected):\n    return sorted(output.split()) == sorted(expected.split())\n"


def _raw(exit_code: int | None = 0, stdout: bytes = b"", stderr: bytes = b"", **fields: object) -> RawResult:
    base: dict[str, object] = dict(exit_code=exit_code, signal=None, stdout=stdout, stderr=stderr,
                                   stdout_truncated=False, stderr_truncated=False, cpu_s=0.01, wall_s=0.02,
                                   killed_for=None, outcome=None)
    base.update(fields)
    return RawResult(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("exit_code", "verdict", "score"), [
    (0, Verdict.AC, 1.0), (1, Verdict.WA, 0.0), (2, Verdict.WA, 0.0), (4, Verdict.WA, 0.0), (8, Verdict.WA, 0.0),
    (3, Verdict.SE, None), (5, Verdict.SE, None), (None, Verdict.SE, None),
])
def test_testlib_exit_codes(exit_code: int | None, verdict: Verdict, score: float | None) -> None:
    found = program_verdict(exit_code, "", "wrong answer expected 3, found 4")
    assert (found.verdict, found.score) == (verdict, score)


def test_points_come_from_the_checkers_output() -> None:
    assert program_verdict(7, "", "points 0.25 half of the pairs").score == 0.25
    assert program_verdict(7, "1\n", "").verdict is Verdict.AC
    assert program_verdict(7, "", "nothing").verdict is Verdict.SE
    assert program_verdict(7, "37", "").verdict is Verdict.SE  # not a score in [0, 1]


def test_scores_and_their_bounds() -> None:
    assert score_verdict(True).verdict is Verdict.SE  # a bool reaches here as 1.0/0.0, never raw
    assert (score_verdict(1.0).verdict, score_verdict(0.5).verdict, score_verdict(0.5).score) == \
        (Verdict.AC, Verdict.WA, 0.5)
    for bad in (float("nan"), -0.1, 1.5, "1", None):
        assert score_verdict(bad).verdict is Verdict.SE


def test_a_checker_that_crashed_hung_or_ran_out_of_memory_is_se_never_wa() -> None:
    function = parse_checker({"checker": FUNCTION})
    program = parse_checker({"checker": {"code": "import sys\nsys.exit(1)"}})
    assert function is not None and program is not None
    crashed = _raw(1, outcome={"status": "exception", "type": "KeyError", "message": "x"})
    for raw in (crashed, _raw(None, killed_for="cpu", signal=9), _raw(None, oom_killed=True, signal=9),
                _raw(None, killed_for="wall", signal=9), _raw(0, stdout=b"no mark here\n")):
        assert checker_verdict(function, raw, "m").verdict is Verdict.SE
    assert checker_verdict(program, crashed, "m").verdict is Verdict.SE
    assert checker_verdict(program, _raw(None, killed_for="cpu", signal=9), "m").verdict is Verdict.SE
    assert checker_verdict(program, _raw(1), "m").verdict is Verdict.WA  # its own "wrong answer"
    assert checker_verdict(function, _raw(0, stdout=b'm {"score": 0.5}\n'), "m").score == 0.5
    assert checker_verdict(function, _raw(0, stdout=b'm {"error": "check() returned str"}\n'), "m").verdict \
        is Verdict.SE


def test_partial_credit_counts_in_the_fraction_reward_only() -> None:
    verdicts = [Verdict.AC, Verdict.WA, Verdict.WA]
    assert reward(verdicts, "fraction", [1.0, 0.5, None]) == pytest.approx(0.5)
    assert reward(verdicts, "all", [1.0, 0.5, None]) == 0.0
    assert reward([*verdicts, Verdict.SE], "fraction", [1.0, 0.5, None, None]) is None


@pytest.mark.parametrize(("checker", "message"), [
    (42, "must be Python source or a program object"),
    ({"code": "x", "language": "cobol"}, "checker language 'cobol' is not supported"),
    ({"code": ""}, "needs the program's source text"),
    ({"code": "x", "files": {"../etc/passwd": "x"}}, "is not a plain file name"),
    ({"code": "x", "files": {"checker_answer.txt": "x"}}, "is not a plain file name"),
    ({"code": "x", "limit": 1}, "unknown key(s) ['limit']"),
])
def test_bad_checkers_are_named_by_field(checker: object, message: str) -> None:
    with pytest.raises(CaseError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse_checker({"checker": checker})


def test_records_carry_checkers_and_accepted_outputs(tmp_path: Path) -> None:
    records = [
        {"id": "any", "code": "print(1)", "checker": FUNCTION, "checker_time_limit": 1,
         "tests": [{"input": "", "output": "1 2"}]},
        {"id": "listed", "code": "print(1)", "tests": [{"input": "", "outputs": ["1 2", "2 1"]}]},
        {"id": "calls", "code": "def f(): return 1", "entry_point": "f", "checker": FUNCTION,
         "tests": [{"args": [], "expected": 1}]},
    ]
    loaded = list(load_file(write_jsonl(tmp_path / "d.jsonl", records)))
    (any_case,), (listed,) = loaded[0].cases, loaded[1].cases
    assert any_case.checker is not None and any_case.checker.form == "function" and any_case.checker.time_limit == 1
    assert (listed.tests[0].output, listed.tests[0].accepted) == ("1 2", ("2 1",))  # type: ignore[union-attr]
    assert loaded[2].error is not None and "checker judges stdin/stdout tests only" in str(loaded[2].error)
