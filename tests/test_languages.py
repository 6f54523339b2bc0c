"""The languages registry, plans, extraction, judging rules and the in-sandbox artefact cache
(pure logic: no sandbox is started here)."""

from __future__ import annotations

import argparse
import base64
import json
import os
from pathlib import Path

import pytest

from pytest_codeverify import languages
from pytest_codeverify.cases import CallTest, Case, CaseError, StdioTest, check_language
from pytest_codeverify.cli.image import debian_packages, parse_languages
from pytest_codeverify.extract import extract_code
from pytest_codeverify.judge import Verdict, classify
from pytest_codeverify.languages import Language, Toolchain, ToolchainMissing, trim
from pytest_codeverify.languages.java import main_class
from pytest_codeverify.protocol import Job, RawResult
from pytest_codeverify.sandbox import LocalSandbox, SandboxError, compiled, programs

TOOLS = Toolchain({"gcc": "gcc", "g++": "g++", "javac": "javac", "java": "java", "node": "node", "go": "go",
                   "rustc": "rustc", "cc": "cc", "pypy3": "pypy3"})


def raw(exit_code: int | None = 0, signal: int | None = None, stderr: bytes = b"", **extra: object) -> RawResult:
    fields: dict[str, object] = dict(exit_code=exit_code, signal=signal, stdout=b"", stderr=stderr,
                                     stdout_truncated=False, stderr_truncated=False, cpu_s=0.1, wall_s=0.1,
                                     killed_for=None, outcome=None)
    fields.update(extra)
    return RawResult(**fields)  # type: ignore[arg-type]


# -- registry ------------------------------------------------------------------------------

def test_registry_holds_every_language_python_first() -> None:
    assert languages.names() == ("python", "c", "cpp", "go", "java", "javascript", "pypy", "rust")
    assert languages.is_native("python") and not languages.is_native("cpp")


def test_unknown_language_names_the_supported_ones() -> None:
    with pytest.raises(KeyError, match="supported: python, c, cpp"):
        languages.get("cobol")


def test_adding_a_language_is_one_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tinylang.py").write_text(
        "from pytest_codeverify.languages.base import Language, Step\n"
        "class Tiny(Language):\n    name = 'tiny'\n    tools = ('tiny',)\n"
        "    def source_name(self, code): return 'a.tiny'\n"
        "    def run_step(self, tools, source, code, memory_mb): return Step([tools['tiny'], source])\n"
        "LANGUAGE = Tiny()\n")
    monkeypatch.setattr(languages, "__path__", [*languages.__path__, str(tmp_path)])
    languages.registry.cache_clear()
    try:
        assert "tiny" in languages.names()
        plan = languages.get("tiny").plan("hello", Toolchain({"tiny": "/bin/tiny"}), 64)
        assert plan.compile is None and plan.run.argv == ["/bin/tiny", "a.tiny"]
        assert plan.run.files == {"a.tiny": "hello"}
    finally:
        languages.registry.cache_clear()
        languages.fence_aliases.cache_clear()


# -- plans ---------------------------------------------------------------------------------

def test_compiled_plan_compiles_the_source_and_runs_the_artefact() -> None:
    plan = languages.get("cpp").plan("int main(){}", TOOLS, 256)
    assert plan.compile is not None
    assert plan.compile.files == {"main.cpp": "int main(){}"}
    assert plan.compile.argv[:1] == ["g++"] and "-O2" in plan.compile.argv
    assert plan.compile.outputs == ("main",)
    assert plan.run.argv == ["./main"] and plan.run.files == {}


def test_cache_key_follows_source_flags_and_language() -> None:
    cpp = languages.get("cpp")
    key = cpp.plan("int main(){}", TOOLS, 256).key
    assert cpp.plan("int main(){}", TOOLS, 64).key == key  # the memory limit does not change the artefact
    assert cpp.plan("int main(){ }", TOOLS, 256).key != key
    assert languages.get("c").plan("int main(){}", TOOLS, 256).key != key


def test_runtime_heaps_follow_the_memory_limit() -> None:
    java = languages.get("java").plan("public class A { public static void main(String[] a) {} }", TOOLS, 512)
    assert "-Xmx352m" in java.run.argv and java.run.argv[-1] == "A"
    node = languages.get("javascript").plan("1", TOOLS, 512)
    assert "--max-old-space-size=384" in node.run.argv


@pytest.mark.parametrize(("code", "expected"), [
    ("public class Solution { public static void main(String[] a) {} }", ("", "Solution")),
    ("// public class Fake\n/* class Nope */ final public class Real { }", ("", "Real")),
    ('class A { String s = "public class B"; }\nclass C { public static void main(String[] a) {} }', ("", "C")),
    ("package a.b;\npublic class P { }", ("a.b", "P")),
    ("class Only { static void helper() {} }", ("", "Only")),
    ("interface I {}", ("", "I")),
    ("", ("", "Main")),
])
def test_java_main_class(code: str, expected: tuple[str, str]) -> None:
    assert main_class(code) == expected


def test_java_file_is_named_after_its_public_class() -> None:
    plan = languages.get("java").plan("package p;\npublic class Codeforces1 { }", TOOLS, 256)
    assert plan.compile is not None and "Codeforces1.java" in plan.compile.files
    assert plan.run.argv[-1] == "p.Codeforces1"


# -- records -------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "name"), [("CPP", "cpp"), ("java", "java"), (2, "cpp"), (3, "python"), (4, "java")])
def test_check_language_takes_names_and_codecontests_codes(value: object, name: str) -> None:
    assert check_language(value) == name


def test_python2_code_is_a_clear_error() -> None:
    with pytest.raises(CaseError, match="python2 in CodeContests' codes"):
        check_language(1)


def test_call_tests_need_python() -> None:
    with pytest.raises(CaseError, match=r"stdin/stdout tests only.*call test"):
        Case(id="x", problem_id="x", code="int main(){}", language="cpp", tests=(CallTest((1,), {}, 1),))
    Case(id="x", problem_id="x", code="x", language="cpp", tests=(StdioTest("", ""),))


@pytest.mark.parametrize(("tag", "language"), [
    ("c++", "cpp"), ("cc", "cpp"), ("cpp", "cpp"), ("js", "javascript"), ("golang", "go"), ("rs", "rust"),
    ("java", "java"), ("c", "c"), ("pypy3", "pypy"),
])
def test_extraction_picks_the_block_of_the_language(tag: str, language: str) -> None:
    response = f"Plan:\n```text\nnot code\n```\n```{tag}\nTHE CODE\n```\n```python\nprint(1)\n```\n"
    assert extract_code(response, language).code == "THE CODE\n"


# -- judging -------------------------------------------------------------------------------

@pytest.mark.parametrize(("language", "exit_code", "signal", "stderr", "verdict", "mentions"), [
    ("java", 1, None, b'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space\n', Verdict.MLE,
     "OutOfMemoryError"),
    ("java", 1, None, b'Exception in thread "main" java.lang.IllegalStateException: boom\n\tat Main.main\n',
     Verdict.RE, "IllegalStateException: boom"),
    ("go", 2, None, b"panic: boom\n\ngoroutine 1 [running]:\n", Verdict.RE, "panic: boom"),
    ("go", 2, None, b"fatal error: runtime: out of memory\n", Verdict.MLE, "out of memory"),
    ("rust", 101, None, b"thread 'main' panicked at src/main.rs:1:13:\nboom\n", Verdict.RE, "panicked"),
    ("rust", None, 6, b"memory allocation of 16777216 bytes failed\n", Verdict.MLE, "memory"),
    ("cpp", None, 6, b"terminate called after throwing an instance of 'std::bad_alloc'\n", Verdict.MLE, "bad_alloc"),
    ("javascript", None, 6, b"FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n",
     Verdict.MLE, "MiB"),
    ("c", None, 11, b"", Verdict.RE, "SIGSEGV"),
    ("c", 3, None, b"", Verdict.RE, "exit code 3"),
])
def test_language_failures(language: str, exit_code: int | None, signal: int | None, stderr: bytes,
                           verdict: Verdict, mentions: str) -> None:
    result = classify(raw(exit_code, signal, stderr), time_limit=1, memory_limit=256, language=language)
    assert result is not None and result[0] is verdict and mentions in result[1]


def test_a_clean_exit_is_never_read_from_stderr() -> None:
    """A program that ends cleanly is judged on its answer, whatever its stderr says."""
    stderr = b"java.lang.OutOfMemoryError (just a message)\n"
    assert classify(raw(0, None, stderr), time_limit=1, memory_limit=256, language="java") is None


def test_compile_verdicts() -> None:
    cpp = languages.get("cpp")
    failed = compiled.compile_verdict(raw(1, None, b"main.cpp:1:1: error: 'x' was not declared\n" + b"x" * 5000),
                                      cpp, {})
    assert failed is not None and "error: 'x' was not declared" in failed and "more characters" in failed
    slow = compiled.compile_verdict(raw(None, 9, killed_for="cpu"), cpp, {})
    assert slow is not None and "exceeded its limit of 10 s" in slow
    assert "memory limit of 1024 MiB" in str(compiled.compile_verdict(raw(None, 9, oom_killed=True), cpp, {}))
    assert "no artefact" in str(compiled.compile_verdict(raw(0), cpp, {}))
    assert compiled.compile_verdict(raw(0), cpp, {"artefact": {"files": 1, "bytes": 10}}) is None


def test_trim_keeps_the_head() -> None:
    assert trim("a" * 10, 20) == "a" * 10
    assert trim("first error\n" + "b" * 100, 20).startswith("first error")


# -- toolchains ----------------------------------------------------------------------------

class _Missing(Language):
    name = "missing"
    tools = ("no-such-compiler-here",)
    install = "Debian: apt-get install no-such-compiler"


def test_a_missing_toolchain_names_itself_and_its_install() -> None:
    with pytest.raises(ToolchainMissing, match=r"needs no-such-compiler-here.*apt-get install no-such-compiler"):
        _Missing().find_host()


def test_a_record_in_a_missing_language_is_a_sandbox_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> Toolchain:
        raise ToolchainMissing(languages.get(name).missing_message("g++"))

    monkeypatch.setattr(compiled, "host_toolchain", missing)
    with pytest.raises(SandboxError, match=r"needs g\+\+.*apt-get install g\+\+"):
        compiled.run_program(LocalSandbox(), Job(code="int main(){}", language="cpp"))


def test_image_languages_option() -> None:
    assert parse_languages("cpp, Java,python,cpp") == ("cpp", "java")
    with pytest.raises(argparse.ArgumentTypeError, match="cobol"):
        parse_languages("cpp,cobol")
    assert debian_packages(("cpp", "java", "c")) == ["g++", "default-jdk-headless", "gcc", "libc6-dev"]


def test_languages_command_lists_missing_ones(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_codeverify import cli
    from pytest_codeverify.cli import languages as cli_languages

    monkeypatch.setattr(cli_languages.languages, "registry", lambda: {"missing": _Missing()})
    assert cli.main(["languages", "--json"]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["language"] == "missing" and row["available"] is False
    assert "apt-get install no-such-compiler" in row["missing"]


# -- the in-sandbox artefact cache (run here in-process, on temporary directories) ---------

def _compile_job(key: str, outputs: tuple[str, ...] = ("main",)) -> dict[str, object]:
    return {"mode": "compile", "key": key, "argv": ["cc"], "outputs": list(outputs)}


@pytest.fixture
def empty_cache() -> object:
    saved = dict(programs._CACHE)
    programs._CACHE.clear()
    yield programs._CACHE
    for key in list(programs._CACHE):
        programs._drop(key)
    programs._CACHE.update(saved)


def test_artefacts_are_kept_sealed_and_copied_fresh_per_run(tmp_path: Path, empty_cache: object) -> None:
    build = tmp_path / "build"
    build.mkdir()
    (build / "main").write_bytes(b"\x7fELF original")
    os.chmod(build / "main", 0o755)
    (build / "main.o").write_bytes(b"not kept")
    result = programs.finish(_compile_job("k1"), str(build), {"exit_code": 0, "killed_for": None})
    assert result["artefact"] == {"files": 1, "bytes": 13}
    ((_relative, memfd, _size, _mode),) = programs._CACHE["k1"]
    with pytest.raises(PermissionError):
        os.write(memfd, b"poison")  # sealed: not even the runner can change it
    run = tmp_path / "run"
    run.mkdir()
    job = {"mode": "exec", "argv": ["./main"], "artefact": "k1",
           "files": {"input.txt": base64.b64encode(b"data").decode()}}
    programs.prepare(job, str(run))
    assert (run / "main").read_bytes() == b"\x7fELF original"
    assert (run / "main").stat().st_mode & 0o777 == 0o500
    assert sorted(p.name for p in run.iterdir()) == ["input.txt", "main"]
    # A run that rewrites its own copy changes nothing for the next run.
    os.chmod(run / "main", 0o700)
    (run / "main").write_bytes(b"poisoned")
    again = tmp_path / "again"
    again.mkdir()
    programs.prepare(job, str(again))
    assert (again / "main").read_bytes() == b"\x7fELF original"


def test_a_failed_compile_keeps_nothing(tmp_path: Path, empty_cache: object) -> None:
    (tmp_path / "main").write_bytes(b"half written")
    result = programs.finish(_compile_job("k2"), str(tmp_path), {"exit_code": 1, "killed_for": None})
    assert "artefact" not in result and "k2" not in programs._CACHE
    with pytest.raises(programs.MissingArtefact):
        programs.prepare({"argv": ["./main"], "artefact": "k2"}, str(tmp_path))


def test_links_are_never_kept(tmp_path: Path, empty_cache: object) -> None:
    (tmp_path / "main").symlink_to("/etc/passwd")
    result = programs.finish(_compile_job("k3"), str(tmp_path), {"exit_code": 0, "killed_for": None})
    assert "none of main" in result["artefact_error"]


def test_least_recently_used_artefacts_are_evicted(tmp_path: Path, empty_cache: object,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(programs, "CACHE_MAX_BYTES", 25)
    (tmp_path / "main").write_bytes(b"x" * 10)
    evicted = []
    for key in ("a", "b", "c"):
        evicted += programs.finish(_compile_job(key), str(tmp_path), {"exit_code": 0, "killed_for": None})["evicted"]
    assert evicted == ["a"] and list(programs._CACHE) == ["b", "c"]


def test_file_names_cannot_leave_the_work_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="leaves the work directory"):
        programs.prepare({"argv": ["x"], "files": {"../escape": ""}}, str(tmp_path))


def test_codecontests_solutions_become_cases_in_their_languages() -> None:
    from pytest_codeverify.formats import Defaults
    from pytest_codeverify.formats.contests import CodeContestsReader

    record = {"name": "1A", "public_tests": {"input": ["1 2\n"], "output": ["3\n"]},
              "solutions": {"language": [2, 1, 4, 3],
                            "solution": ["int main(){}", "print 3", "class A {}", "print(3)"]}}
    cases = CodeContestsReader().read(record, 1, Defaults())
    assert [(case.id, case.language, case.code) for case in cases] == [
        ("1A#0", "cpp", "int main(){}"), ("1A#1", "java", "class A {}"), ("1A#2", "python", "print(3)")]
    with pytest.raises(CaseError, match="no solution in a supported language"):
        CodeContestsReader().read({**record, "solutions": {"language": [1], "solution": ["print 3"]}}, 1, Defaults())
    with pytest.raises(CaseError, match=r"unknown language 9"):
        CodeContestsReader().read({**record, "solutions": {"language": [9], "solution": ["x"]}}, 1, Defaults())


class _FakeSandbox:
    """Answers compile jobs as a runner would, recording what it was sent."""

    name = "fake"

    def __init__(self, evicted: list[str] | None = None) -> None:
        self.artefacts: dict[str, str | None] = {}
        self.compilations = 0
        self.last_message: dict[str, object] = {}
        self.sent: list[dict[str, object]] = []
        self.evicted = evicted or []

    def exchange(self, job: Job, fields: dict[str, object] | None = None) -> RawResult:
        self.sent.append(dict(fields or {}))
        self.last_message = {"artefact": {"files": 1, "bytes": 1}, "evicted": self.evicted}
        return raw(0)


def test_compile_outcomes_are_remembered_within_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled, "REMEMBERED", 3)
    box = _FakeSandbox()
    cpp = languages.get("cpp")
    plans = [cpp.plan(f"int main(){{return {n};}}", TOOLS, 256) for n in range(5)]
    for plan in plans + plans[-1:]:
        assert compiled.compile_once(box, cpp, plan) is None  # type: ignore[arg-type]
    assert box.compilations == 5  # the repeated source was not compiled again
    assert list(box.artefacts) == [plan.key for plan in plans[2:]]
    first = box.sent[0]
    assert first["mode"] == "compile" and first["outputs"] == ["main"] and first["key"] == plans[0].key


def test_evicted_artefacts_are_compiled_again() -> None:
    cpp = languages.get("cpp")
    old, new = cpp.plan("int main(){}", TOOLS, 256), cpp.plan("int main(){ }", TOOLS, 256)
    box = _FakeSandbox()
    compiled.compile_once(box, cpp, old)  # type: ignore[arg-type]
    box.evicted = [old.key]
    compiled.compile_once(box, cpp, new)  # type: ignore[arg-type]
    assert old.key not in box.artefacts
    compiled.compile_once(box, cpp, old)  # type: ignore[arg-type]
    assert box.compilations == 3


def test_toolchains_outside_usr_are_mounted_away_from_home(tmp_path: Path) -> None:
    """A toolchain in a home directory (rustup, nvm) is mounted under /opt in the sandbox, so the
    sandbox shows no part of the home directory; tools under /usr keep their paths."""
    tool = tmp_path / "toolchain" / "bin" / "tinyc"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\n")
    found = languages.get("cpp").bound({"g++": str(tool), "cc": "/usr/bin/cc"})
    assert found.binds == ((str(tmp_path / "toolchain"), "/opt/codeverify-toolchains/cpp"),)
    assert found.inside().tools == {"g++": "/opt/codeverify-toolchains/cpp/bin/tinyc", "cc": "/usr/bin/cc"}


def test_a_source_with_a_lone_surrogate_still_becomes_a_job() -> None:
    """JSON may carry a lone surrogate (``"\\ud800"``); the compiler gets the bytes and decides."""
    plan = languages.get("c").plan("int main(){} // \ud800", TOOLS, 64)
    assert plan.compile is not None
    fields = compiled.step_fields(plan.compile)
    assert base64.b64decode(str(fields["files"]["main.c"])).endswith(b"// \xed\xa0\x80")  # type: ignore[index]
