"""The local backend's isolation tests again, run as an unprivileged user (uid 65534).

As root the sandbox has no user namespace (the runner drops to the host's nobody itself); an
unprivileged user gets a user namespace instead. When the suite runs as root, this test re-runs
the isolation tests as uid 65534 from a world-readable copy of the project, inside a private
mount namespace (to make the interpreter's directory reachable where a parent of it is private,
such as /root) and a PID namespace of its own.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ROOT

NOBODY = 65534
#: The tests re-run unprivileged (local backend only).
SUBSET = ["tests/test_isolation.py", "tests/test_job_residue.py", "tests/test_isolation_choice.py"]

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def _hidden_ancestors(path: Path) -> list[Path]:
    """Ancestors of ``path`` that others may not traverse."""
    return [parent for parent in reversed(path.parents) if not os.stat(parent).st_mode & 0o001]


def _reveal_script(prefix: Path, stage: Path) -> str:
    """Shell commands (for a private mount namespace) that make ``prefix`` reachable by anyone:
    a world-traversable tmpfs over its private ancestor, with the way to ``prefix`` bound back."""
    hidden = _hidden_ancestors(prefix)
    if not hidden:
        return ""
    top = hidden[0]
    below = top / prefix.relative_to(top).parts[0]
    if any(parent != top for parent in hidden):
        pytest.skip(f"more than one private directory above the interpreter: {hidden}")
    q = shlex.quote
    return (f"mount --bind {q(str(below))} {q(str(stage))} && "
            f"mount -t tmpfs -o mode=755 tmpfs {q(str(top))} && mkdir -p {q(str(below))} && "
            f"mount --bind {q(str(stage))} {q(str(below))} && ")


@pytest.fixture
def world_readable_copy() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="codeverify-unprivileged-"))
    try:
        base.chmod(0o755)
        project = base / "project"
        for name in ("pytest_codeverify", "tests", "pyproject.toml", "README.md"):
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            elif source.exists():
                shutil.copy2(source, project / name)
        for directory, _, files in os.walk(base):
            os.chmod(directory, 0o755)
            for file in files:
                os.chmod(os.path.join(directory, file), 0o644)
        for name in ("home", "tmp", "stage"):
            (base / name).mkdir()
            os.chown(base / name, NOBODY, NOBODY)
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="already unprivileged: the suite itself covers this path")
@pytest.mark.skipif(not (shutil.which("unshare") and shutil.which("setpriv")), reason="needs unshare and setpriv")
def test_isolation_holds_for_an_unprivileged_user(world_readable_copy: Path) -> None:
    base = world_readable_copy
    project = base / "project"
    prefix = Path(os.path.realpath(sys.executable)).parent.parent
    plugin = tomllib.loads((project / "pyproject.toml").read_text())["project"]["entry-points"]["pytest11"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(base / "home"), "TMPDIR": str(base / "tmp"),
           "PYTHONPATH": str(project), "LANG": "C.UTF-8",
           # This copy's own plugin, whatever another installation of the package registered.
           "PYTEST_ADDOPTS": f"-p no:codeverify -p {plugin['codeverify']}"}
    pytest_argv = [os.path.realpath(sys.executable), "-m", "pytest", *SUBSET, "-q", "-p", "no:cacheprovider",
                   "-k", "not docker", "--basetemp", str(base / "tmp" / "t")]
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
    who = [os.path.realpath(sys.executable), "-c", "import os; from pytest_codeverify.sandbox import LocalSandbox; "
           "print('as uid', os.getuid(), LocalSandbox().description)"]
    script = (_reveal_script(prefix, base / "stage") + shlex.join([*drop, *who]) + " && exec "
              + shlex.join([*drop, *pytest_argv]))
    result = subprocess.run(["unshare", "--mount", "--pid", "--fork", "--mount-proc", "sh", "-c", script],
                            cwd=project, env=env, capture_output=True, text=True, timeout=900)
    output = result.stdout[-6000:] + result.stderr[-3000:]
    assert result.returncode == 0, output
    assert f"as uid {NOBODY} local: bubblewrap" in result.stdout and "user namespace" in result.stdout, output
    assert " passed" in result.stdout and " failed" not in result.stdout, output
