"""Every language on both backends: AC, WA, CE (with the compiler's message), RE, TLE and MLE,
and a record of many tests compiled once per sandbox worker."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator

import pytest
from language_programs import CE_MENTIONS, PROGRAMS

from pytest_codeverify import languages
from pytest_codeverify.cases import Case, StdioTest
from pytest_codeverify.engine import verify_case
from pytest_codeverify.judge import Verdict
from pytest_codeverify.languages import ToolchainMissing
from pytest_codeverify.sandbox import LocalSandbox, Sandbox

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

#: The Docker image holding every toolchain (``codeverify image build --languages ...``).
LANGUAGES_IMAGE = os.environ.get("CODEVERIFY_LANGUAGES_IMAGE", "codeverify-sandbox:languages")
EXPECTED = {"ac": Verdict.AC, "wa": Verdict.WA, "ce": Verdict.CE, "re": Verdict.RE, "tle": Verdict.TLE,
            "mle": Verdict.MLE}


@functools.cache
def image_has(image: str, tool: str) -> bool:
    """Whether ``tool`` is on the PATH of ``image``."""
    from pytest_codeverify.sandbox import docker

    try:
        docker._client().containers.run(image, ["sh", "-c", f"command -v {tool}"], remove=True, network_mode="none")
    except Exception:
        return False
    return True


def require_language(backend: str, name: str) -> None:
    """Skip (with the reason) when ``backend`` cannot run language ``name`` here."""
    language = languages.get(name)
    if backend == "local":
        if getattr(language, "native", False):
            return
        try:
            language.find_host()
        except ToolchainMissing as exc:
            if os.environ.get("CI"):  # .ci/run installs every toolchain
                pytest.fail(str(exc))
            pytest.skip(str(exc))
        return
    missing = [tool for tool in language.tools if not image_has(LANGUAGES_IMAGE, tool)]
    if missing and os.environ.get("CI"):
        pytest.fail(f"image {LANGUAGES_IMAGE} lacks {', '.join(missing)} in CI (see .ci/run)")
    if missing:
        pytest.skip(f"image {LANGUAGES_IMAGE} lacks {', '.join(missing)} "
                    f"(codeverify image build --languages {name} --tag {LANGUAGES_IMAGE})")


@pytest.fixture(scope="module", params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """One warm sandbox per backend for the whole module (as one worker would have)."""
    with languages_sandbox(request.param) as box:
        yield box


def languages_sandbox(backend: str) -> Sandbox:
    """A new sandbox of ``backend`` that can run every language: the languages image on Docker
    (skipped where it is unusable, a failure in CI, whose .ci/run builds it)."""
    if backend != "docker":
        return LocalSandbox()
    from pytest_codeverify.sandbox import docker

    ok, why = docker.check(LANGUAGES_IMAGE)
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"the languages image must be usable in CI: {why}")
        pytest.skip(f"docker backend unavailable: {why}")
    return docker.DockerSandbox(LANGUAGES_IMAGE)


def case_of(language: str, code: str, tests: int = 1, **limits: float) -> Case:
    inputs = [(f"{i} {i * 7}\n", f"{i * 8}\n") for i in range(2, 2 + tests)]
    return Case(id=f"{language}-case", problem_id="sum", code=code, language=language,
                tests=tuple(StdioTest(given, wanted) for given, wanted in inputs), **limits)  # type: ignore[arg-type]


@pytest.mark.parametrize("behaviour", list(EXPECTED))
@pytest.mark.parametrize("language", languages.names())
def test_verdict(sandbox: Sandbox, language: str, behaviour: str) -> None:
    require_language(sandbox.name, language)
    limits = {"time_limit": 1.0} if behaviour == "tle" else {"memory_limit": 256} if behaviour == "mle" else {}
    report = verify_case(sandbox, case_of(language, PROGRAMS[language][behaviour], **limits))
    outcome = report.tests[0].outcome
    assert outcome.verdict is EXPECTED[behaviour], (outcome.message, outcome.stderr[-800:])
    if behaviour == "ce":
        assert CE_MENTIONS[language] in outcome.message
    if behaviour == "re":
        assert outcome.message


@pytest.mark.parametrize("language", [name for name in languages.names() if name != "python"])
def test_forty_tests_compile_once(sandbox: Sandbox, language: str) -> None:
    """A record of 40 tests, and a second sample with the same source, cost one compilation."""
    require_language(sandbox.name, language)
    code = PROGRAMS[language]["ac"] + "\n"  # a source no other test compiled on this worker
    before = sandbox.compilations
    first = verify_case(sandbox, case_of(language, code, tests=40))
    second = verify_case(sandbox, case_of(language, code, tests=3))
    assert [t.outcome.verdict for t in first.tests] == [Verdict.AC] * 40, first.explain()
    assert second.verdict is Verdict.AC
    assert sandbox.compilations - before == 1


@pytest.mark.parametrize("language", [name for name in languages.names() if name != "python"])
def test_compile_error_compiles_once(sandbox: Sandbox, language: str) -> None:
    """Every test of a record that does not compile is CE, from a single compilation."""
    require_language(sandbox.name, language)
    code = PROGRAMS[language]["ce"] + "\n\n"
    before = sandbox.compilations
    report = verify_case(sandbox, case_of(language, code, tests=5))
    assert {t.outcome.verdict for t in report.tests} == {Verdict.CE}
    assert all(CE_MENTIONS[language] in t.outcome.message for t in report.tests)
    assert sandbox.compilations - before == 1


#: Programs that print the right sum, then try to poison the cached artefact of their source
#: by rewriting the files they were started from.
POISONERS = {
    "c": ('#include <stdio.h>\n#include <unistd.h>\nint main(void){long a,b;scanf("%ld %ld",&a,&b);'
          'printf("%ld\\n",a+b);fflush(stdout);unlink("main");FILE*f=fopen("main","w");'
          'if(f){fputs("#!/bin/sh\\necho 0\\n",f);fclose(f);}chmod("main",0755);return 0;}\n'
          "#include <sys/stat.h>\n"),
    "java": ("import java.io.*;\nimport java.util.*;\npublic class Poison { public static void main(String[] x)"
             " throws Exception { Scanner s = new Scanner(System.in); System.out.println(s.nextLong() + s.nextLong());"
             " File f = new File(\"Poison.class\"); f.setWritable(true); f.delete();"
             " try (FileOutputStream o = new FileOutputStream(f)) { o.write(new byte[]{1, 2, 3}); } } }\n"),
}


@pytest.mark.parametrize("language", list(POISONERS))
def test_a_run_cannot_poison_the_cached_artefact(sandbox: Sandbox, language: str) -> None:
    """Runs of the same source (this record's next test, another record's sample) start from the
    artefact as compiled, whatever an earlier run did to its own copy."""
    require_language(sandbox.name, language)
    before = sandbox.compilations
    first = verify_case(sandbox, case_of(language, POISONERS[language], tests=3))
    second = verify_case(sandbox, case_of(language, POISONERS[language], tests=2))
    assert first.verdict is Verdict.AC, first.explain()
    assert second.verdict is Verdict.AC, second.explain()
    assert sandbox.compilations - before == 1


def test_an_image_without_the_toolchain_is_a_clear_sandbox_error(sandbox: Sandbox) -> None:
    if sandbox.name != "docker":
        pytest.skip("the local backend's missing tools are covered in test_languages.py")
    missing = next((name for name, language in languages.registry().items()
                    if not getattr(language, "native", False)
                    and not all(image_has(LANGUAGES_IMAGE, tool) for tool in language.tools)), None)
    if missing is None:
        pytest.skip(f"image {LANGUAGES_IMAGE} has every language's toolchain")
    report = verify_case(sandbox, case_of(missing, PROGRAMS[missing]["ac"]))
    outcome = report.tests[0].outcome
    assert outcome.verdict is Verdict.SE
    assert f"codeverify image build --languages {missing}" in outcome.message


def test_the_python_api_runs_other_languages_with_their_rules() -> None:
    """``Sandbox.run(..., language=...)`` judges a failed program by its language's rules."""
    from pytest_codeverify.api import Sandbox as ApiSandbox

    require_language("local", "go")
    with ApiSandbox("local") as box:
        done = box.run(PROGRAMS["go"]["ac"], "2 3\n", language="go")
        failed = box.run(PROGRAMS["go"]["re"], language="go")
    assert (done.verdict, done.stdout) == (Verdict.AC, "5\n")
    assert failed.verdict is Verdict.RE and "panic: boom" in failed.message
