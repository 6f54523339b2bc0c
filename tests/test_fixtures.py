"""The codeverify fixtures and marker in real pytest runs, with and without --codeverify."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, read_jsonl, write_jsonl

EXAMPLES = ROOT / "examples"
NO_CACHE = ("-p", "no:cacheprovider")


def test_fixtures_work_without_codeverify(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="""
        import pytest

        def test_run(codeverify):
            assert codeverify.run("print(input()[::-1])", stdin="abc\\n").stdout == "cba\\n"

        @pytest.mark.codeverify(code="def double(n):\\n    return 2 * n\\n", entry_point="double")
        def test_call(codeverify_candidate):
            assert codeverify_candidate.call(21) == 42

        def test_unrelated():
            assert True
    """)
    result = pytester.runpytest_subprocess("--strict-markers", *NO_CACHE)
    result.assert_outcomes(passed=3)


def test_fixture_shares_the_plugins_sandbox_and_starts_it_lazily(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shared="""
        from pytest_codeverify.pytest_plugin.worker import worker_sandbox

        def test_shared(codeverify, pytestconfig):
            shared = worker_sandbox(pytestconfig)
            assert shared._owned is None              # nothing started before the first use
            assert codeverify.run("print(1)").stdout == "1\\n"
            assert shared._owned is not None          # ... and then it is the plugin's own
            assert codeverify._backend() is shared._owned
    """)
    pytester.runpytest_subprocess("--codeverify", *NO_CACHE).assert_outcomes(passed=1)


def test_marker_sources_and_precedence(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(sub_solution="def add(a, b):\n    return a + b\n")
    pytester.path.joinpath("sub").mkdir()
    pytester.path.joinpath("sub_solution.py").rename(pytester.path / "sub" / "solution.py")
    pytester.path.joinpath("sub", "test_marks.py").write_text("""
import pytest

pytestmark = pytest.mark.codeverify(path="solution.py", entry_point="add", time_limit=1)

def test_module_path_relative_to_test_file(codeverify_candidate):
    assert codeverify_candidate.call(1, 2) == 3
    assert codeverify_candidate.time_limit == 1.0

@pytest.mark.codeverify(code="def add(a, b):\\n    return a * b\\n")
def test_closest_source_wins(codeverify_candidate):
    assert codeverify_candidate.call(3, 4) == 12
    assert codeverify_candidate.entry_point == "add"    # still from the module's marker

class TestClass:
    pytestmark = pytest.mark.codeverify(entry_point="sub")

    @pytest.mark.codeverify(code="def sub(a, b):\\n    return a - b\\n")
    def test_class_marker(self, codeverify_candidate):
        assert codeverify_candidate.call(3, 4) == -1
""")
    pytester.runpytest_subprocess("--strict-markers", *NO_CACHE).assert_outcomes(passed=3)


def test_command_line_candidate_overrides_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_cli="""
        import pytest

        @pytest.mark.codeverify(code="def add(a, b):\\n    return a + b\\n", entry_point="add")
        def test_add(codeverify_candidate):
            assert codeverify_candidate.call(2, 2) == 4
    """)
    pytester.path.joinpath("bad.py").write_text("def add(a, b):\n    return a ** b + 1\n")
    pytester.runpytest_subprocess(*NO_CACHE).assert_outcomes(passed=1)
    result = pytester.runpytest_subprocess("--codeverify-candidate", "bad.py", *NO_CACHE)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert 5 == 4*"])
    # The ini key does the same, relative to the ini file.
    pytester.makeini("[pytest]\ncodeverify_candidate = bad.py\n")
    pytester.runpytest_subprocess(*NO_CACHE).assert_outcomes(failed=1)


@pytest.mark.parametrize(("marker", "options", "message"), [
    ("", (), "codeverify_candidate needs a candidate: @pytest.mark.codeverify(code=...)*--codeverify-candidate PATH"),
    ("@pytest.mark.codeverify(path='missing.py', entry_point='f')", (), "codeverify_candidate: *missing.py*"),
    ("@pytest.mark.codeverify(code='x = 1', colour='red')", (), "*unknown argument(s) colour*"),
    ("@pytest.mark.codeverify('x = 1')", (), "*takes keyword arguments only*"),
    ("@pytest.mark.codeverify(code='x = 1', language='cobol')", (), "*unknown language 'cobol'*"),
    ("@pytest.mark.codeverify(code='x = 1')", ("--codeverify-candidate", "nope.py"), "codeverify_candidate: *nope.py*"),
])
def test_candidate_misuse_is_a_readable_setup_error(pytester: pytest.Pytester, marker: str,
                                                    options: tuple[str, ...], message: str) -> None:
    pytester.makepyfile(test_misuse=f"""
import pytest

{marker}
def test_it(codeverify_candidate):
    pass
""")
    result = pytester.runpytest_subprocess(*options, *NO_CACHE)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([message])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_call_without_entry_point_fails_the_test_readably(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_noentry="""
        import pytest

        @pytest.mark.codeverify(code="def add(a, b):\\n    return a + b\\n")
        def test_it(codeverify_candidate):
            codeverify_candidate.call(1, 2)
    """)
    result = pytester.runpytest_subprocess(*NO_CACHE)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ValueError: Candidate.call() needs an entry point*"])


def test_candidate_error_fails_the_test_with_verdict_and_stderr(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_crash="""
        import pytest

        @pytest.mark.codeverify(code="def f():\\n    print('debug line', file=__import__('sys').stderr)\\n"
                                     "    return {}['missing']\\n", entry_point="f")
        def test_it(codeverify_candidate):
            codeverify_candidate.call()
    """)
    result = pytester.runpytest_subprocess(*NO_CACHE)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*CandidateError: RE: f(): KeyError: 'missing'*", "*stderr (tail):*",
                                 "*debug line*"])


VERIFY_TESTS = """
import pytest

@pytest.mark.parametrize("n", [1, 2, 3])
def test_verify(codeverify, n):
    code = "print(int(input()) * 2)" if n != 2 else "print(0)"
    report = codeverify.verify({"id": f"py-{n}", "code": code,
                                "tests": [{"input": f"{n}\\n", "output": f"{2 * n}\\n"}]})
    assert report.total == 1

def test_unnamed_record(codeverify):
    codeverify.verify({"code": "print(1)", "tests": [{"input": "", "output": "1"}]})
"""


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_verify_reports_reach_the_rewards_file(pytester: pytest.Pytester, tmp_path: Path,
                                               workers: tuple[str, ...]) -> None:
    write_jsonl(pytester.path / "data.jsonl", [
        {"id": "jsonl-0", "code": "print(input())", "tests": [{"input": "x\n", "output": "x\n"}]}])
    pytester.makepyfile(test_verify=VERIFY_TESTS)
    rewards = tmp_path / "rewards.jsonl"
    result = pytester.runpytest_subprocess("--codeverify", "data.jsonl", "test_verify.py",
                                           "--codeverify-rewards", str(rewards), *workers, *NO_CACHE)
    result.assert_outcomes(passed=5)
    lines = read_jsonl(rewards)
    # The JSONL records first, then the Python tests' reports in test (not completion) order.
    assert [line["id"] for line in lines] == ["jsonl-0", "py-1", "py-2", "py-3", "test_verify.py::test_unnamed_record"]
    assert [line["reward"] for line in lines] == [1.0, 1.0, 0.0, 1.0, 1.0]
    assert lines[2]["tests"][0]["verdict"] == "WA"
    result.stdout.fnmatch_lines(["codeverify: 5 record(s), mean reward 0.8000 over 5 scored, 4 fully passed*",
                                 "  verdicts: AC 4, WA 1"])


def test_pytest_timeout_interrupts_a_run_and_the_sandbox_recovers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_timeout="""
        import pytest

        @pytest.mark.timeout(2)
        def test_stuck(codeverify):
            codeverify.run("while True: pass", time_limit=60)

        def test_after(codeverify):
            assert codeverify.run("print('still here')").stdout == "still here\\n"
    """)
    result = pytester.runpytest_subprocess(*NO_CACHE)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*Timeout (>2.0s)*"])


# -- the README's example file --------------------------------------------------------------


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_example_file_passes(pytester: pytest.Pytester, workers: tuple[str, ...]) -> None:
    result = pytester.runpytest_subprocess(str(EXAMPLES / "test_authoring.py"), *workers, *NO_CACHE)
    result.assert_outcomes(passed=5)


def test_example_file_fails_a_wrong_submission(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(str(EXAMPLES / "test_authoring.py"), "-n", "2",
                                           "--codeverify-candidate", str(EXAMPLES / "wrong_solution.py"), *NO_CACHE)
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(["E       AssertionError: add: WA, 0/3 passed, reward 0.0"])
    result.stdout.fnmatch_lines(["E       assert -1 == 3"])
    result.stdout.fnmatch_lines(["FAILED *test_authoring.py::test_add_as_dataset_record*"])
    result.stdout.fnmatch_lines(["FAILED *test_authoring.py::test_add_function*"])
    result.stdout.no_fnmatch_line("*Warning*")


def test_readme_example_is_the_example_file() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Authoring tests in Python", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert example.strip() in (EXAMPLES / "test_authoring.py").read_text()
