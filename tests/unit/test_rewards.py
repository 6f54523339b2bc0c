"""Rewards, pass@k and the rewards-file line. Pure, no sandbox."""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

import pytest

from pytest_codeverify.cases import Case, StdioTest
from pytest_codeverify.protocol import Verdict
from pytest_codeverify.rewards import (
    case_line,
    case_verdict,
    decides_reward,
    not_run_entry,
    pass_at_k,
    reward,
    test_entry,
    unreadable_line,
)

AC, WA, TLE, SE, RE = Verdict.AC, Verdict.WA, Verdict.TLE, Verdict.SE, Verdict.RE


@pytest.mark.parametrize(("verdicts", "fraction", "all_"), [
    ([AC], 1.0, 1.0),
    ([WA], 0.0, 0.0),
    ([AC, AC, AC, AC], 1.0, 1.0),
    ([AC, WA, AC, AC], 0.75, 0.0),
    ([TLE, WA, RE], 0.0, 0.0),
    ([AC, AC, TLE], 2 / 3, 0.0),
    ([AC, SE], None, None),  # the harness failed: no reward at all
    ([SE], None, None),
    ([], None, None),
])
def test_reward(verdicts: list[Verdict], fraction: float | None, all_: float | None) -> None:
    assert reward(verdicts) == fraction
    assert reward(verdicts, "fraction") == fraction
    assert reward(verdicts, "all") == all_


@pytest.mark.parametrize(("verdicts", "verdict"), [
    ([], AC),
    ([AC, AC], AC),
    ([AC, WA, TLE], WA),
    ([TLE, WA], TLE),
    ([AC, AC, SE], SE),
])
def test_case_verdict_is_the_first_failure(verdicts: list[Verdict], verdict: Verdict) -> None:
    assert case_verdict(verdicts) is verdict


def brute_pass_at_k(n: int, c: int, k: int) -> float:
    """The chance that k samples drawn without replacement from n (c correct) hold a correct one."""
    samples = [True] * c + [False] * (n - c)
    draws = list(itertools.combinations(range(n), k))
    hits = sum(any(samples[i] for i in draw) for draw in draws)
    return float(Fraction(hits, len(draws)))


@pytest.mark.parametrize(("n", "c", "k"), [
    (n, c, k) for n in range(1, 8) for c in range(n + 1) for k in (1, 2, 3, 5) if k <= n
])
def test_pass_at_k_matches_brute_force(n: int, c: int, k: int) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(brute_pass_at_k(n, c, k), abs=1e-12)


def test_pass_at_1_is_the_fraction_correct() -> None:
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(200, 0, 100) == 0.0
    assert pass_at_k(200, 200, 100) == 1.0


@pytest.mark.parametrize(("n", "c", "k"), [(5, 0, 10), (3, 3, 4), (5, 6, 1), (5, -1, 1), (5, 2, 0), (0, 0, 1)])
def test_pass_at_k_outside_its_domain_is_refused(n: int, c: int, k: int) -> None:
    # with k > n the estimator would claim 1.0 even when no sample is correct
    with pytest.raises(ValueError, match="pass@k"):
        pass_at_k(n, c, k)


@pytest.mark.parametrize(("verdict", "message", "entry"), [
    (AC, "", {"name": "t", "verdict": "AC", "time_s": 0.5}),
    (WA, "token 1 differs", {"name": "t", "verdict": "WA", "time_s": 0.5}),  # a reason is not an error
    (SE, "sandbox died", {"name": "t", "verdict": "SE", "time_s": 0.5, "error": "sandbox died"}),
    (SE, "", {"name": "t", "verdict": "SE", "time_s": 0.5}),
])
def test_test_entry(verdict: Verdict, message: str, entry: dict[str, object]) -> None:
    assert test_entry("t", verdict, 0.5, message) == entry


def make_case(**changes: object) -> Case:
    fields: dict[str, object] = {"id": "c#1", "problem_id": "c", "tests": (StdioTest("", ""),), "code": "pass"}
    fields.update(changes)
    return Case(**fields)  # type: ignore[arg-type]


def test_case_line_shape() -> None:
    entries = [test_entry("a", AC, 0.1), test_entry("b", WA, 0.2)]
    line = case_line(make_case(), entries)
    assert line == {"id": "c#1", "problem_id": "c", "reward": 0.5, "passed": 1, "total": 2, "verdict": "WA",
                    "tests": entries, "time_limit": 2.0}
    json.dumps(line)  # a line is plain JSON


def test_case_line_with_tests_not_run() -> None:
    entries = [test_entry("a", AC, 0.1), test_entry("b", WA, 0.2), not_run_entry("c", "not run: decided by b")]
    line = case_line(make_case(), entries, "all")
    assert (line["reward"], line["passed"], line["total"], line["verdict"], line["not_run"]) == (0.0, 1, 3, "WA", 1)
    assert line["tests"][2] == {"name": "c", "verdict": None, "time_s": None, "not_run": "not run: decided by b"}
    json.dumps(line)


@pytest.mark.parametrize(("verdict", "decides"), [(v, v not in (AC, Verdict.SE)) for v in Verdict])
def test_only_a_candidates_failure_decides_an_all_or_nothing_reward(verdict: Verdict, decides: bool) -> None:
    assert decides_reward(verdict) is decides


def test_case_line_reward_mode_and_extra() -> None:
    entries = [test_entry("a", AC, 0.1), test_entry("b", WA, 0.2)]
    line = case_line(make_case(), entries, "all", extra={"sample": 3})
    assert line["reward"] == 0.0 and line["sample"] == 3


def test_case_line_with_se_has_no_reward() -> None:
    line = case_line(make_case(), [test_entry("a", AC, 0.1), test_entry("b", SE, 0.0, "boom")])
    assert line["reward"] is None and line["verdict"] == "SE" and line["tests"][1]["error"] == "boom"


def test_case_line_carries_extraction_and_its_error() -> None:
    line = case_line(make_case(code=None, code_error="no code block", extracted=None),
                     [test_entry("a", Verdict.CE, 0.0)])
    assert line["error"] == "no code block" and "extracted" not in line
    line = case_line(make_case(extracted="print(1)\n"), [test_entry("a", AC, 0.0)])
    assert line["extracted"] == "print(1)\n" and "error" not in line


@pytest.mark.parametrize(("record_id", "line"), [("r1", None), (None, 7), ("r2", 3)])
def test_unreadable_line(record_id: str | None, line: int | None) -> None:
    data = unreadable_line(record_id, ValueError("not valid JSON"), line)
    expected = {"id": record_id, "problem_id": record_id, "reward": None, "passed": 0, "total": 0,
                "verdict": None, "tests": [], "error": "not valid JSON"}
    if line is not None:
        expected["line"] = line
    assert data == expected
