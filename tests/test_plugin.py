"""The pytest integration: collection, node ids, bad input, rewards file, xdist, junit, SE."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import read_jsonl, write_jsonl

pytestmark = pytest.mark.sandbox

GOOD = {"id": "add", "code": "a, b = map(int, input().split())\nprint(a + b)",
        "tests": [{"name": "one", "input": "1 2\n", "output": "3\n"},
                  {"name": "two", "input": "2 2\n", "output": "4\n"}]}
WRONG = {"id": "sub", "problem_id": "add", "code": "a, b = map(int, input().split())\nprint(a - b)",
         "tests": [{"input": "1 2\n", "output": "3\n"}, {"input": "2 0\n", "output": "2\n"}]}


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("--codeverify", "-p", "no:cacheprovider", *args)


def test_node_ids_are_file_record_test(pytester: pytest.Pytester) -> None:
    data = write_jsonl(pytester.path / "data.jsonl", [GOOD, WRONG])
    result = run(pytester, str(data), "--collect-only", "-q")
    result.stdout.fnmatch_lines(["data.jsonl::add::one", "data.jsonl::add::two", "data.jsonl::sub::test_0",
                                 "data.jsonl::sub::test_1"])


def test_selection_by_node_id_and_keyword(pytester: pytest.Pytester) -> None:
    data = write_jsonl(pytester.path / "data.jsonl", [GOOD, WRONG])
    run(pytester, f"{data}::sub").assert_outcomes(passed=1, failed=1)
    run(pytester, str(data), "-k", "add and two").assert_outcomes(passed=1, deselected=3)


def test_rewards_file_summary_and_failure_report(pytester: pytest.Pytester) -> None:
    data = write_jsonl(pytester.path / "data.jsonl", [GOOD, WRONG])
    result = run(pytester, str(data), "--codeverify-rewards", "out/rewards.jsonl")
    result.assert_outcomes(passed=3, failed=1)
    lines = read_jsonl(pytester.path / "out" / "rewards.jsonl")
    assert [(x["id"], x["reward"], x["passed"], x["total"], x["verdict"]) for x in lines] == [
        ("add", 1.0, 2, 2, "AC"), ("sub", 0.5, 1, 2, "WA")]
    assert [t["verdict"] for t in lines[1]["tests"]] == ["WA", "AC"]
    result.stdout.fnmatch_lines([
        "*WA: token 1: expected '3', got '-1'*", "input:    '1 2\\n'", "expected: '3\\n'", "got:      '-1\\n'",
        "codeverify: 2 record(s), mean reward 0.7500 over 2 scored, 1 fully passed (50.0%)",
        "  verdicts: AC 3, WA 1",
        "  1 problem(s): pass@1 0.5000",
    ])
    assert "Traceback" not in result.stdout.str()


def test_reward_all_mode_and_ini_twin(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncodeverify_reward = all\ncodeverify_rewards = r.jsonl\n")
    data = write_jsonl(pytester.path / "data.jsonl", [GOOD, WRONG])
    run(pytester, str(data))
    assert [x["reward"] for x in read_jsonl(pytester.path / "r.jsonl")] == [1.0, 0.0]


def test_bad_input_is_reported_per_line_and_nothing_is_lost(pytester: pytest.Pytester) -> None:
    data = write_jsonl(pytester.path / "data.jsonl", [
        GOOD,
        "{not json",
        {"id": "no-tests", "code": "print(1)"},
        {"id": "odd-test", "code": "print(1)", "tests": [{"stdin": "x"}]},
        {"id": "cobol", "code": "DISPLAY 'HI'.", "language": "cobol", "tests": [{"input": "", "output": "HI"}]},
        "",
        {"id": "no-entry", "code": "def f(): return 1", "tests": [{"args": [], "expected": 1}]},
        WRONG,
        {"id": "add", "code": "print(3)", "tests": [{"input": "", "output": "3"}]},
    ])
    result = run(pytester, str(data), "--codeverify-rewards", "r.jsonl")
    result.assert_outcomes(passed=3, failed=1, errors=6)
    out = result.stdout.str()
    for expected in ["data.jsonl:2: not valid JSON", "data.jsonl:3: field 'tests': must be a non-empty list",
                     "data.jsonl:4: field 'tests[0]': must have \"input\" and \"output\"",
                     "data.jsonl:5: field 'language': unknown language 'cobol'",
                     "data.jsonl:7: field 'entry_point': is required",
                     "data.jsonl:9: field 'id': duplicate id 'add' (first used on line 1)"]:
        assert expected in out
    lines = read_jsonl(pytester.path / "r.jsonl")
    assert len(lines) == 8  # one per non-blank input line
    assert [x["reward"] for x in lines] == [1.0, None, None, None, None, None, 0.5, None]
    assert all("error" in x for x in lines if x["reward"] is None)


def test_empty_file_says_so(pytester: pytest.Pytester) -> None:
    (pytester.path / "empty.jsonl").write_text("\n\n")
    result = run(pytester, "empty.jsonl")
    result.stdout.fnmatch_lines(["*empty.jsonl: the file holds no records; nothing to verify*"])
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_xdist_parity(pytester: pytest.Pytester) -> None:
    records = [dict(GOOD, id=f"add-{i}") for i in range(6)] + [dict(WRONG, id=f"sub-{i}") for i in range(6)]
    records.insert(3, "{bad")
    data = write_jsonl(pytester.path / "data.jsonl", records)
    run(pytester, str(data), "--codeverify-rewards", "serial.jsonl")
    result = run(pytester, str(data), "--codeverify-rewards", "parallel.jsonl", "-n", "2", "--dist", "loadscope")
    result.stdout.fnmatch_lines(["codeverify: 13 record(s)*"])

    def without_times(path: Path) -> list[dict[str, object]]:
        return [{**x, "tests": [{k: v for k, v in t.items() if k != "time_s"} for t in x["tests"]]}
                for x in read_jsonl(path)]

    serial = without_times(pytester.path / "serial.jsonl")
    assert serial == without_times(pytester.path / "parallel.jsonl")
    assert len(serial) == 13


def test_xdist_without_dist_uses_the_record_scheduler_and_an_explicit_dist_is_kept(
        pytester: pytest.Pytester) -> None:
    records = [dict(GOOD, id=f"add-{i}") for i in range(5)]
    data = write_jsonl(pytester.path / "data.jsonl", records)
    ours = run(pytester, str(data), "-n", "2", "-v")
    ours.assert_outcomes(passed=10)
    ours.stdout.fnmatch_lines(["scheduling tests via RecordScheduling"])
    theirs = run(pytester, str(data), "-n", "2", "-v", "--dist", "load")
    theirs.assert_outcomes(passed=10)
    theirs.stdout.fnmatch_lines(["scheduling tests via LoadScheduling"])


def test_xdist_worker_crash_mid_record_reports_that_test_and_runs_the_rest(pytester: pytest.Pytester) -> None:
    # The worker dies on the crashing test: xdist reports it, the record's later tests run on
    # the worker that replaces it, and no test runs twice.
    pytester.makeconftest("""
import os
def pytest_runtest_setup(item):
    if item.name == "boom" and os.environ.get("PYTEST_XDIST_WORKER"):
        os._exit(3)
""")
    crashing = dict(GOOD, id="crashing", tests=[{"name": "first", "input": "1 1\n", "output": "2\n"},
                                                 {"name": "boom", "input": "1 2\n", "output": "3\n"},
                                                 {"name": "last", "input": "2 2\n", "output": "4\n"}])
    data = write_jsonl(pytester.path / "data.jsonl", [crashing, *(dict(GOOD, id=f"add-{i}") for i in range(3))])
    result = run(pytester, str(data), "-n", "2", "-rA", "--codeverify-rewards", "r.jsonl")
    result.assert_outcomes(passed=8, failed=1)
    result.stdout.fnmatch_lines(["*FAILED data.jsonl::crashing::boom*"])
    assert result.stdout.str().count("PASSED data.jsonl::crashing::last") == 1
    assert [x["id"] for x in read_jsonl(pytester.path / "r.jsonl")] == ["crashing", "add-0", "add-1", "add-2"]


def test_summary_is_printed_once_under_xdist(pytester: pytest.Pytester) -> None:
    data = write_jsonl(pytester.path / "data.jsonl", [GOOD, WRONG])
    result = run(pytester, str(data), "-n", "2")
    assert result.stdout.str().count("codeverify: 2 record(s)") == 1


def test_junit_properties(pytester: pytest.Pytester) -> None:
    data = write_jsonl(pytester.path / "data.jsonl", [WRONG])
    run(pytester, str(data), "--junitxml", "report.xml", "-o", "junit_family=xunit2")
    root = ET.parse(pytester.path / "report.xml").getroot()
    cases = root.findall(".//testcase")
    props = [{p.get("name"): p.get("value") for p in case.iter("property")} for case in cases]
    assert [p["verdict"] for p in props] == ["WA", "AC"]
    assert props[0]["record"] == "sub" and props[0]["problem_id"] == "add" and "time_s" in props[0]


def test_header_names_backend_and_isolation(pytester: pytest.Pytester) -> None:
    data = write_jsonl(pytester.path / "data.jsonl", [GOOD])
    run(pytester, str(data), "--codeverify-backend", "local").stdout.fnmatch_lines(["codeverify: backend local: *"])


def test_items_carry_a_timeout_backstop(pytester: pytest.Pytester) -> None:
    data = write_jsonl(pytester.path / "data.jsonl", [dict(GOOD, time_limit=3)])
    items, _ = pytester.inline_genitems("--codeverify", str(data))
    (mark,) = [m for m in items[0].iter_markers("timeout")]
    assert mark.args[0] > 3 * 2 and mark.kwargs["method"] == "signal"


def test_sandbox_failure_is_an_error_with_null_reward(pytester: pytest.Pytester) -> None:
    # A backend that fails on one job: the item errors (not fails) and the reward is null.
    pytester.makeconftest("""
        from pytest_codeverify.sandbox.local import LocalSandbox
        from pytest_codeverify.sandbox.base import SandboxError

        original = LocalSandbox._send
        def flaky(self, data):
            if b"boom-marker" in data:
                raise SandboxError("injected transport failure")
            return original(self, data)
        LocalSandbox._send = flaky
    """)
    data = write_jsonl(pytester.path / "data.jsonl", [
        {"id": "flaky", "code": "print(3)  # boom-marker", "tests": [{"input": "", "output": "3"}]}, GOOD])
    result = run(pytester, str(data), "--codeverify-rewards", "r.jsonl", "--codeverify-backend", "local")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*SE: sandbox failure (local): injected transport failure*"])
    lines = read_jsonl(pytester.path / "r.jsonl")
    assert lines[0]["reward"] is None and lines[0]["verdict"] == "SE"
    assert lines[1]["reward"] == 1.0  # the sandbox was restarted and the run went on


def test_example_data_covers_every_test_kind() -> None:
    from conftest import ROOT

    records = [json.loads(line) for line in (ROOT / "data" / "example.jsonl").read_text().splitlines()]
    kinds = {("input" in t and "stdio") or ("assert" in t and "assert") or "call" for r in records for t in r["tests"]}
    assert kinds == {"stdio", "assert", "call"}
    assert len(records) >= 12


def test_lone_surrogates_and_escapes_from_candidates_break_nothing(pytester: pytest.Pytester) -> None:
    # A lone surrogate in an exception message once crashed an xdist session (INTERNALERROR, most
    # rewards lost); ANSI escapes printed by a candidate reached the terminal raw.
    hostile = [
        {"id": "surrogate", "code": "raise ValueError('\\ud800 bad')", "tests": [{"input": "", "output": "x"}]},
        {"id": "ansi", "code": "import sys\nsys.stderr.write('\\x1b[2J\\x1b[31mred\\n')\nraise SystemExit(3)",
         "tests": [{"input": "", "output": "x"}]},
    ]
    benign = [{**GOOD, "id": f"good{i}"} for i in range(4)]
    data = write_jsonl(pytester.path / "data.jsonl", [*hostile, *benign])
    result = run(pytester, str(data), "--codeverify-rewards", "r.jsonl", "-n", "2", "--dist", "loadscope", "-rA")
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=8, failed=2)
    assert "\x1b" not in result.stdout.str()
    assert "\\x1b[31mred" in result.stdout.str()
    lines = {line["id"]: line for line in read_jsonl(pytester.path / "r.jsonl")}
    assert len(lines) == 6
    assert lines["surrogate"]["verdict"] == "RE" and lines["ansi"]["verdict"] == "RE"
    assert all(lines[f"good{i}"]["reward"] == 1.0 for i in range(4))


def test_ids_that_would_collide_as_node_ids_are_rejected_clearly(pytester: pytest.Pytester) -> None:
    # "a::b" and a record "a" with a test "b::test_0" would share the node id a::b::test_0.
    data = write_jsonl(pytester.path / "data.jsonl", [
        {"id": "a::b", "code": "print(1)", "tests": [{"name": "test_0", "input": "", "output": "1"}]},
        {"id": "a", "code": "print(1)", "tests": [{"name": "b::test_0", "input": "", "output": "1"}]},
        GOOD,
    ])
    result = run(pytester, str(data), "--codeverify-rewards", "r.jsonl")
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(["*data.jsonl:1: field 'id': 'a::b' contains '::'*",
                                 "*data.jsonl:2: field 'tests': 'b::test_0' contains '::'*"])
    lines = read_jsonl(pytester.path / "r.jsonl")
    assert [line["id"] for line in lines] == ["a::b", "a", "add"]
    assert lines[0]["reward"] is None and "'::'" in lines[0]["error"]
    assert lines[2]["reward"] == 1.0


def test_the_unisolated_opt_in_is_said_in_the_header_summary_and_every_rewards_line(pytester: pytest.Pytester) -> None:
    data = write_jsonl(pytester.path / "data.jsonl", [GOOD])
    result = run(pytester, str(data), "--codeverify-backend", "unisolated", "--codeverify-rewards", "r.jsonl")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["codeverify: backend *NO ISOLATION*", "*NO ISOLATION: candidates ran*"])
    assert [line["isolated"] for line in read_jsonl(pytester.path / "r.jsonl")] == [False]
    isolated = run(pytester, str(data), "--codeverify-backend", "local", "--codeverify-rewards", "s.jsonl")
    assert "isolated" not in read_jsonl(pytester.path / "s.jsonl")[0]
    assert "NO ISOLATION" not in isolated.stdout.str()


def test_a_bubblewrap_that_cannot_run_refuses_to_run_candidates(pytester: pytest.Pytester) -> None:
    data = write_jsonl(pytester.path / "data.jsonl", [GOOD])
    result = run(pytester, str(data), "--codeverify-backend", "local", "--codeverify-bwrap", "/nonexistent/bwrap",
                 "--codeverify-rewards", "r.jsonl")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*REFUSING TO RUN CANDIDATE CODE*/nonexistent/bwrap*"])
    assert read_jsonl(pytester.path / "r.jsonl")[0]["reward"] is None
