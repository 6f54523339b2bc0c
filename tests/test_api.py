"""The public Python API without pytest's help: Sandbox.run / verify / candidate."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_codeverify import Candidate, CandidateError, CaseError, RunResult, Sandbox, SandboxError, Verdict
from pytest_codeverify.engine import verify_case
from pytest_codeverify.formats import Defaults, detect
from pytest_codeverify.judge import verdict_of_run
from pytest_codeverify.protocol import Job, RawResult
from pytest_codeverify.sandbox import open_sandbox
from verdict_matrix import MATRIX, Row

ADD = "def add(a, b):\n    return a + b\n"
SUM_PROGRAM = "print(sum(map(int, input().split())))"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(backend="local") as sandbox:
        yield sandbox


def test_importing_the_api_does_not_import_pytest() -> None:
    code = ("import sys, pytest_codeverify; from pytest_codeverify import Sandbox; "
            "assert 'pytest' not in sys.modules, 'pytest was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- run ------------------------------------------------------------------------------------


def test_run_clean_program(sb: Sandbox) -> None:
    result = sb.run(SUM_PROGRAM, stdin="1 2\n", time_limit=1)
    assert isinstance(result, RunResult)
    assert (result.verdict, result.stdout, result.exit_code, result.truncated) == (Verdict.AC, "3\n", 0, False)
    assert result.verdict == "AC" and result.ok
    with pytest.raises(AttributeError):
        result.stdout = "changed"  # type: ignore[misc]


def test_run_accepts_bytes_stdin(sb: Sandbox) -> None:
    assert sb.run("import sys; print(sys.stdin.buffer.read().hex())", stdin=b"\x00\xff").stdout == "00ff\n"


@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.name)
def test_run_verdicts_without_expected_output(sb: Sandbox, row: Row) -> None:
    result = sb.run(row.code, **row.limits)
    assert result.verdict == row.unjudged, result
    assert row.message in result.message
    assert result.ok is (row.unjudged == "AC")


def test_run_reports_a_sandbox_failure_as_se() -> None:
    class Broken:
        def run(self, job: Job) -> RawResult:
            raise SandboxError("runner is gone")

    result = Sandbox(backend_provider=lambda: Broken()).run("print(1)")  # type: ignore[arg-type,return-value]
    assert result.verdict == "SE" and "runner is gone" in result.message


def _raw(**changes: object) -> RawResult:
    fields: dict[str, object] = dict(exit_code=0, signal=None, stdout=b"", stderr=b"", stdout_truncated=False,
                                     stderr_truncated=False, cpu_s=0.01, wall_s=0.01, killed_for=None, outcome=None)
    fields.update(changes)
    return RawResult(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "verdict"), [
    ({}, Verdict.AC),
    ({"exit_code": 1}, Verdict.RE),
    ({"exit_code": None, "signal": 11}, Verdict.RE),
    ({"killed_for": "cpu", "exit_code": None}, Verdict.TLE),
    ({"killed_for": "wall", "exit_code": None}, Verdict.TLE),
    ({"oom_killed": True, "exit_code": None, "signal": 9}, Verdict.MLE),
    ({"stdout_truncated": True}, Verdict.OLE),
    ({"outcome": {"status": "compile_error", "message": "SyntaxError"}, "exit_code": 1}, Verdict.CE),
    ({"stderr": b"Traceback...\nMemoryError\n", "exit_code": 1}, Verdict.MLE),
])
def test_verdict_of_run(changes: dict, verdict: Verdict) -> None:
    got, message = verdict_of_run(_raw(**changes), 256, 2.0)
    assert got is verdict
    assert bool(message) == (verdict is not Verdict.AC)


# -- verify ---------------------------------------------------------------------------------


def test_verify_gives_the_same_report_as_the_jsonl_path(sb: Sandbox) -> None:
    record = {"id": "sum", "code": SUM_PROGRAM,
              "tests": [{"input": "1 2\n", "output": "3\n"}, {"input": "2 2\n", "output": "5\n"}]}
    report = sb.verify(record)
    (case,) = detect(record).read(record, 0, Defaults())
    with open_sandbox("local") as backend:
        expected = verify_case(backend, case)
    strip = lambda line: {**line, "tests": [{k: v for k, v in t.items() if k != "time_s"} for t in line["tests"]]}  # noqa: E731
    assert strip(report.to_dict()) == strip(expected.to_dict())
    assert (report.reward, report.passed, report.total, report.verdict) == (0.5, 1, 2, Verdict.WA)
    assert "test_1: WA" in report.explain()


def test_verify_uses_the_sandbox_defaults_and_reward_mode() -> None:
    record = {"code": "import time\nwhile True: pass", "tests": [{"input": "", "output": ""}]}
    with Sandbox(backend="local", time_limit=0.3, reward_mode="all") as sandbox:
        report = sandbox.verify(record)
        assert report.verdict == "TLE" and "0.3 s" in report.tests[0].outcome.message
        assert sandbox.verify({"code": ADD + "print(add(1, 1))", "tests": [
            {"input": "", "output": "2"}, {"input": "", "output": "3"}]}).reward == 0.0


# -- candidates -----------------------------------------------------------------------------


def test_candidate_call_preserves_types(sb: Sandbox) -> None:
    code = "def f(x, *, y=None):\n    return (x, {1.5}, b'\\x00', frozenset([y]), {'k': [1, 2.0, 3j]})\n"
    candidate = sb.candidate(code, entry_point="f")
    assert isinstance(candidate, Candidate)
    assert candidate.call((1, "a"), y=True) == ((1, "a"), {1.5}, b"\x00", frozenset([True]), {"k": [1, 2.0, 3j]})
    value = candidate.call(1)
    assert type(value) is tuple and type(value[1]) is set


def test_candidate_call_reaches_a_solution_method(sb: Sandbox) -> None:
    code = "class Solution:\n    def twice(self, n):\n        return 2 * n\n"
    assert sb.candidate(code, entry_point="twice").call(21) == 42


def test_candidate_from_path_and_run(sb: Sandbox, tmp_path: Path) -> None:
    source = tmp_path / "prog.py"
    source.write_text(ADD + "if __name__ == '__main__':\n    print(add(*map(int, input().split())))\n")
    candidate = sb.candidate(path=source, entry_point="add", time_limit=1)
    assert candidate.path == source and candidate.time_limit == 1.0
    assert candidate.run("4 5\n").stdout == "9\n"


@pytest.mark.parametrize(("code", "verdict", "message"), [
    ("def add(a, b):\n    import sys\n    print('about to fail', file=sys.stderr)\n    return [a][b]\n",
     "RE", "IndexError"),
    ("def add(a, b):\n    while True: pass\n", "TLE", "CPU time"),
    ("def add(a, b):\n    class Sneaky:\n        def __eq__(self, other):\n            return True\n"
     "    return Sneaky()\n", "WA", "cannot be compared safely"),
    ("def add(a, b):\n    raise SystemExit(0)\n", "RE", "exited"),
    ("def add(a, b) return a", "CE", "SyntaxError"),
    ("def other(): pass\n", "RE", "not defined"),
])
def test_candidate_failures_raise_candidate_error(sb: Sandbox, code: str, verdict: str, message: str) -> None:
    with pytest.raises(CandidateError) as failure:
        sb.candidate(code, entry_point="add", time_limit=0.5).call(1, 5)
    error = failure.value
    assert error.verdict == verdict and message in error.message, str(error)
    assert error.message.startswith("add(1, 5): ")
    if verdict == "RE" and message == "IndexError":
        assert "about to fail" in error.stderr and "stderr (tail):" in str(error)


def test_candidate_error_pickles() -> None:
    error = pickle.loads(pickle.dumps(CandidateError(Verdict.RE, "boom", "trace")))
    assert (error.verdict, error.message, error.stderr) == (Verdict.RE, "boom", "trace")


# -- misuse ---------------------------------------------------------------------------------


def test_call_without_entry_point_says_how_to_give_one(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="needs an entry point: pass entry_point="):
        sb.candidate(ADD).call(1, 2)


def test_unknown_language_is_named(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match=r"unknown language 'cobol' \(supported: python, c, cpp, "):
        sb.run("PROGRAM-ID. X.", language="cobol")
    with pytest.raises(ValueError, match="unknown language 'cobol'"):
        sb.candidate(ADD, language="cobol")
    with pytest.raises(CaseError, match="unknown language"):
        sb.verify({"code": ADD, "language": "cobol", "tests": [{"input": "", "output": ""}]})


@pytest.mark.parametrize(("record", "message"), [
    ({"code": ADD}, 'needs a non-empty "tests" list'),
    ({"code": ADD, "tests": []}, "field 'tests': must be a non-empty list"),
    ({"code": ADD, "tests": [{"args": [1, 2], "expected": 3}]}, "field 'entry_point': is required"),
])
def test_record_without_usable_tests_is_rejected(sb: Sandbox, record: dict, message: str) -> None:
    with pytest.raises(CaseError, match="cannot verify the record") as failure:
        sb.verify(record)
    assert message in str(failure.value)


def test_other_misuse_is_explained(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="exactly one of code= or path="):
        sb.candidate()
    with pytest.raises(ValueError, match="exactly one of code= or path="):
        sb.candidate(ADD, path="x.py")
    with pytest.raises(ValueError, match="entry_point must be a function or method name"):
        sb.candidate(ADD, entry_point="not a name")
    with pytest.raises(ValueError, match="time_limit"):
        sb.run("print(1)", time_limit=0)
    with pytest.raises(ValueError, match="unknown sandbox backend"):
        Sandbox(backend="cloud")
    with pytest.raises(TypeError, match="plain built-in values"):
        sb.candidate(ADD, entry_point="add").call(object(), 1)
    with pytest.raises(TypeError, match="a record must be a dict"):
        sb.verify("not a record")  # type: ignore[arg-type]
