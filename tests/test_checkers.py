"""Checkers without a sandbox: reading them, and mapping what a checker did to a verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write_jsonl
from pytest_codeverify import languages
from pytest_codeverify.cases import CaseError
from pytest_codeverify.formats import load_file
from pytest_codeverify.judge.checkers import checker_run, checker_verdict, parse_checker, program_verdict, score_verdict
from pytest_codeverify.languages import Toolchain
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


# -- checker programs in other languages ---------------------------------------------------

@pytest.mark.parametrize(("given", "name"), [("C++", "cpp"), ("cpp", "cpp"), ("c", "c"), ("Java", "java"),
                                             ("js", "javascript"), ("golang", "go"), ("rust", "rust"),
                                             ("pypy3", "pypy"), ("python", "python")])
def test_checker_programs_take_every_language_by_name_or_alias(given: str, name: str) -> None:
    checker = parse_checker({"checker": {"language": given, "code": "x", "files": {"testlib.h": "h"}}})
    assert checker is not None and checker.language == name and checker.files == {"testlib.h": "h"}


def test_a_compiled_checker_runs_with_the_three_files_as_arguments() -> None:
    checker = parse_checker({"checker": {"language": "cpp", "code": "int main(){}", "files": {"testlib.h": "h"}},
                             "checker_time_limit": 2, "checker_memory_limit": 128})
    assert checker is not None
    job, inputs = checker_run(checker, "10\n", "1 9\n", "5 5\n", "mark")
    assert (job.language, job.code, job.stdin, job.cpu_limit, job.memory_limit_mb) == \
        ("cpp", "int main(){}", b"", 2.0, 128)
    assert inputs is not None and inputs.sources == {"testlib.h": "h"}
    assert inputs.args == ("checker_input.txt", "checker_output.txt", "checker_answer.txt")
    assert [inputs.files[name] for name in inputs.args] == ["10\n", "1 9\n", "5 5\n"]
    python = parse_checker({"checker": {"code": "import sys"}})
    assert python is not None and checker_run(python, "", "", "", "m")[1] is None  # the driver runs it


def test_checker_files_belong_to_the_artefacts_identity() -> None:
    cpp = languages.get("cpp")
    tools = Toolchain({"g++": "g++", "pypy3": "pypy3"})
    bare = cpp.plan("int main(){}", tools, 256)
    with_header = cpp.plan("int main(){}", tools, 256, {"testlib.h": "one"})
    assert len({bare.key, with_header.key, cpp.plan("int main(){}", tools, 256, {"testlib.h": "two"}).key}) == 3
    assert with_header.compile is not None and with_header.compile.files == {"testlib.h": "one",
                                                                               "main.cpp": "int main(){}"}
    assert with_header.compile.outputs == ("main",)  # the header is not needed to run the binary
    pypy = languages.get("pypy").plan("import helper", tools, 256, {"helper.py": "x = 1"})
    assert pypy.compile is not None and "helper.py" in pypy.compile.outputs  # an interpreted program reads it


def test_a_checker_that_does_not_compile_or_throws_is_se() -> None:
    java = parse_checker({"checker": {"language": "java", "code": "class C {}"}})
    cpp = parse_checker({"checker": {"language": "cpp", "code": "int main(){}"}})
    assert java is not None and cpp is not None
    compile_failed = _raw(None, outcome={"status": "compile_error", "message": "compile error (g++): boom"})
    assert checker_verdict(cpp, compile_failed, "m").verdict is Verdict.SE
    assert "does not compile: compile error (g++): boom" in checker_verdict(cpp, compile_failed, "m").message
    thrown = _raw(1, stderr=b'Exception in thread "main" java.lang.NullPointerException\n')
    assert checker_verdict(java, thrown, "m").verdict is Verdict.SE
    assert checker_verdict(java, _raw(1, stderr=b"wrong answer 3 != 4\n"), "m").verdict is Verdict.WA
    assert checker_verdict(cpp, _raw(1, stderr=b"wrong answer 3 != 4\n"), "m").verdict is Verdict.WA
    assert checker_verdict(cpp, _raw(None, signal=11), "m").verdict is Verdict.SE
    assert checker_verdict(cpp, _raw(7, stderr=b"points 0.25 partly\n"), "m").score == 0.25
