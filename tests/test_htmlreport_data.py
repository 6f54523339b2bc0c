"""Reading and summarising rewards files for the HTML report: bad lines, counts, pass@k, comparison."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from pytest_codeverify.cases import CallTest, Case, StdioTest
from pytest_codeverify.engine import CaseReport, TestReport
from pytest_codeverify.evidence import FIELD_LIMIT, evidence, failure_evidence
from pytest_codeverify.htmlreport.data import (
    ReportInputError,
    changed_records,
    load_run,
    load_runs,
    pass_at_k_curve,
    slowest_tests,
    summarise,
)
from pytest_codeverify.judge import Outcome, Verdict
from pytest_codeverify.rewards import pass_at_k


def line(record_id: str, verdicts: list[str], problem: str | None = None, times: list[float] | None = None,
         **extra: object) -> dict:
    tests = [{"name": f"t{i}", "verdict": v, "time_s": (times or [0.01] * len(verdicts))[i]}
             for i, v in enumerate(verdicts)]
    passed = verdicts.count("AC")
    verdict = next((v for v in verdicts if v != "AC"), "AC")
    return {"id": record_id, "problem_id": problem or record_id, "reward": passed / len(verdicts),
            "passed": passed, "total": len(verdicts), "verdict": verdict, "tests": tests, **extra}


def write(path: Path, lines: list) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


def test_tests_not_run_are_shown_as_such_never_as_failing(tmp_path: Path) -> None:
    data = line("r", ["AC", "WA"], reward=0.0)
    data["tests"].append({"name": "t2", "verdict": None, "time_s": None, "not_run": "not run: decided by t1 (WA)"})
    data["total"], data["not_run"] = 3, 1
    (record,) = load_run(write(tmp_path / "r.jsonl", [data])).records
    assert [t.verdict for t in record.tests] == ["AC", "WA", "not run"]
    assert [t.name for t in record.failing] == ["t1"]
    assert summarise(load_run(tmp_path / "r.jsonl")).test_verdicts == {"AC": 1, "WA": 1, "not run": 1}


def test_bad_lines_are_skipped_and_named_by_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [
        line("a", ["AC"]), "{not json", "[1, 2]", {"id": "b", "tests": "x"}, {"tests": []},
        {"id": "c", "tests": [{"name": "t"}]}, {"id": "d", "reward": "high", "tests": []}, "", line("e", ["WA"])])
    run = load_run(path)
    assert [r.id for r in run.records] == ["a", "e"]
    assert [r.line for r in run.records] == [1, 9]
    assert len(run.problems) == 6
    assert run.problems[0].startswith(f"{path}:2: not JSON")
    assert run.problems[1] == f"{path}:3: a rewards line must be a JSON object"
    assert run.problems[2] == f"{path}:4: field 'tests' must be a list"
    assert run.problems[3] == f"{path}:5: field 'id' is missing"
    assert run.problems[4] == f"{path}:6: field 'tests': an entry has no verdict"
    assert run.problems[5] == f"{path}:7: field 'reward' must be a number or null"


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReportInputError, match=r"missing\.jsonl: cannot read"):
        load_run(tmp_path / "missing.jsonl")


def test_gzipped_file_and_invalid_utf8_are_read(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(json.dumps(line("a", ["AC"])).encode() + b"\n" + b'{"id": "b\xff", "tests": []}\n')
    run = load_run(path)
    assert [r.id for r in run.records] == ["a", "b\udcff"]  # shown as U+FFFD by the page


def test_summary_counts_records_tests_rewards_and_verdicts(tmp_path: Path) -> None:
    run = load_run(write(tmp_path / "r.jsonl", [
        line("a", ["AC", "AC"]), line("b", ["AC", "WA", "TLE"]), line("c", ["RE"]),
        {"id": "bad", "problem_id": "bad", "reward": None, "passed": 0, "total": 0, "verdict": None,
         "tests": [], "error": "line 4: field 'code': missing"}]))
    summary = summarise(run)
    assert (summary.records, summary.tests, summary.scored, summary.fully_passed) == (4, 6, 3, 1)
    assert summary.mean_reward == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert summary.record_verdicts == {"AC": 1, "WA": 1, "RE": 1, "unreadable": 1}
    assert summary.test_verdicts == {"AC": 3, "WA": 1, "TLE": 1, "RE": 1}
    assert summary.unreadable == 1


def test_pass_at_k_per_k_is_the_unbiased_estimate_over_problems(tmp_path: Path) -> None:
    # problem p: 3 samples, 1 correct; problem q: 2 samples, 2 correct; an SE sample does not count.
    run = load_run(write(tmp_path / "r.jsonl", [
        line("p0", ["AC"], "p"), line("p1", ["WA"], "p"), line("p2", ["WA"], "p"),
        line("q0", ["AC"], "q"), line("q1", ["AC"], "q"), {**line("q2", ["SE"], "q"), "reward": None}]))
    curve = pass_at_k_curve(run.records)
    assert list(curve) == [1, 2]  # q has only two scored samples
    assert curve[1] == pytest.approx((1 / 3 + 1) / 2)
    assert curve[2] == pytest.approx((pass_at_k(3, 1, 2) + 1) / 2)
    assert summarise(run).pass_at_k == curve
    assert summarise(run).problems == 2


def test_comparison_lists_records_whose_verdict_changed(tmp_path: Path) -> None:
    old = write(tmp_path / "a.jsonl", [
        line("same", ["AC"]), line("fixed", ["WA"]), line("broke", ["AC"]), line("gone", ["WA"]),
        line("dup", ["AC"]), line("dup", ["WA"])])
    new = write(tmp_path / "b.jsonl", [
        line("broke", ["TLE"]), line("fixed", ["AC"]), line("same", ["AC"]), line("added", ["RE"]),
        line("dup", ["AC"]), line("dup", ["AC"])])
    runs = load_runs([str(old), str(new)])
    changes = changed_records(runs)
    assert [c.key for c in changes] == ["fixed", "broke", "dup#2"]
    assert [(row.verdict if row else None) for row in changes[1].rows] == ["AC", "TLE"]
    assert changed_records(runs[:1]) == []


def test_labels_are_paths_when_file_names_repeat(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    first = write(tmp_path / "x" / "rewards.jsonl", [line("a", ["AC"])])
    second = write(tmp_path / "y" / "rewards.jsonl", [line("a", ["AC"])])
    assert [run.label for run in load_runs([str(first), str(second)])] == [str(first), str(second)]
    assert load_runs([str(first)])[0].label == "rewards.jsonl"


def test_slowest_tests_over_runs(tmp_path: Path) -> None:
    runs = load_runs([str(write(tmp_path / "r.jsonl", [line("a", ["AC", "TLE"], times=[0.1, 2.0]),
                                                         line("b", ["AC"], times=[0.5])]))])
    assert slowest_tests(runs, 2) == [(2.0, "r.jsonl", "a::t1", "TLE"), (0.5, "r.jsonl", "b::t0", "AC")]


# -- the evidence a failing test's line carries ----------------------------------------------


def _case() -> Case:
    return Case(id="c", problem_id="c", tests=(StdioTest("1 2\n", "3\n"),), code="print(1)")


def test_failing_test_lines_carry_trimmed_evidence_and_passing_ones_do_not() -> None:
    case = _case()
    failing = Outcome(Verdict.WA, "token 1: expected '3', got '4'", 0.01, "4\n" + "x" * 10_000,
                      "warn\ud800\n" * 1000, "3\n")
    line_ = TestReport("t", failing, case, case.tests[0]).to_dict()
    assert line_["verdict"] == "WA" and line_["input"] == "1 2\n" and line_["expected"] == "3\n"
    assert line_["got"].startswith("4\nxxx") and line_["got"].endswith("characters cut]")
    assert len(line_["got"]) < FIELD_LIMIT + 40 and len(line_["stderr"]) < FIELD_LIMIT + 40
    assert line_["stderr"].startswith("[... ") and line_["stderr"].endswith("warn\\ud800\n")  # keeps the end
    json.dumps(line_, ensure_ascii=False).encode("utf-8")  # writable as UTF-8
    passing = TestReport("t", Outcome(Verdict.AC, "", 0.01, "3\n", "", "3\n"), case, case.tests[0]).to_dict()
    assert passing == {"name": "t", "verdict": "AC", "time_s": 0.01}
    report = CaseReport(case, (TestReport("t", failing, case, case.tests[0]),))
    assert report.to_dict()["tests"][0]["message"] == "token 1: expected '3', got '4'"


def test_call_test_evidence_shows_the_call() -> None:
    case = Case(id="c", problem_id="c", tests=(CallTest((1, 2), {"k": "v"}, 3),), code="def f(a, b): return a",
                entry_point="f")
    fields = evidence(case, case.tests[0], Outcome(Verdict.WA, "expected 3, got 1", 0.0, "1", "", "3"))
    assert fields == {"message": "expected 3, got 1", "input": "f(1, 2, k='v')", "expected": "3", "got": "1"}
    assert failure_evidence(case, case.tests[0], Outcome(Verdict.AC)) == {}
