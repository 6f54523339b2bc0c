"""Shared helpers for the project's own tests."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The real datasets: beside the checkout, or where CODEVERIFY_DATASETS says (a git worktree).
SHARED = Path(os.environ.get("CODEVERIFY_DATASETS") or ROOT.parent / "shared" / "datasets")


def write_jsonl(path: Path, records: Iterable[dict[str, Any] | str]) -> Path:
    """Write records (dicts, or raw lines for malformed input) as a JSONL file."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def shared_datasets() -> Path:
    """The shared real datasets, or a skip where this checkout has none beside it."""
    if not SHARED.is_dir():
        pytest.skip(f"real datasets not present at {SHARED}")
    return SHARED


def backend_usable(name: str) -> tuple[bool, str]:
    """Whether a sandbox backend can run here, and why not."""
    if name == "local":
        return True, ""
    try:
        from pytest_codeverify.sandbox import docker  # type: ignore[attr-defined]
    except ImportError:
        return False, "the docker backend is not part of this version"
    ok, why = docker.check()
    return ok, why


def require_backend(name: str) -> str:
    """``name`` if usable; else a skip, except for Docker in CI, where it must run."""
    ok, why = backend_usable(name)
    if not ok:
        if os.environ.get("CI") and name == "docker":
            pytest.fail(f"the docker backend must run in CI: {why}")
        pytest.skip(f"{name} backend unavailable: {why}")
    return name


@pytest.fixture(params=["local", "docker"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each sandbox backend in turn (see :func:`require_backend`)."""
    return require_backend(request.param)


#: Fixtures that start a sandbox (or a pytest subprocess that does): their tests are ``sandbox``.
SANDBOX_FIXTURES = frozenset({"backend", "sandbox", "sb", "pytester"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by what they need, so ``-m "not sandbox and not docker and not slow"`` is the
    fast lane of pure-logic tests: any test using a sandbox fixture is ``sandbox``, and any test
    parametrized onto the docker backend is ``docker`` too."""
    for item in items:
        if SANDBOX_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.sandbox)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") == "docker":
            item.add_marker(pytest.mark.sandbox)
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A Ray cluster of a head and a second node, each with one CPU, both on this machine (the
    tests of the Ray executor and of ``serve --ray``; they skip where ray is not installed)."""
    ray = pytest.importorskip("ray", reason='the Ray executor needs pip install "pytest-codeverify[ray]"')
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster
    ray.shutdown()
    cluster.shutdown()
