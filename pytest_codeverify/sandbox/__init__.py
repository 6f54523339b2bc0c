"""Sandbox backends and backend selection."""

from __future__ import annotations

from ..config import BACKENDS, DEFAULT_IMAGE
from ..protocol import Job, RawResult
from .base import Sandbox, SandboxError
from .local import LocalSandbox

__all__ = ["BACKENDS", "DEFAULT_IMAGE", "Job", "LocalSandbox", "RawResult", "Sandbox", "SandboxError",
           "describe_backend", "open_sandbox", "resolve_backend"]


def _docker_check(image: str) -> tuple[bool, str]:
    from . import docker

    return docker.check(image)


def resolve_backend(name: str, image: str = DEFAULT_IMAGE) -> str:
    """The concrete backend for ``name``: ``auto`` is Docker when a daemon answers and
    ``image`` is present, local otherwise. An explicit ``docker`` is taken as asked (a missing
    daemon then shows as ``SE`` verdicts naming the cause, never as wrong answers)."""
    if name not in BACKENDS:
        raise ValueError(f"unknown sandbox backend {name!r} (choose from {', '.join(BACKENDS)})")
    if name == "auto":
        return "docker" if _docker_check(image)[0] else "local"
    return name


def open_sandbox(name: str = "auto", image: str = DEFAULT_IMAGE) -> Sandbox:
    """A new, not yet started sandbox of the named backend."""
    if resolve_backend(name, image) == "docker":
        from .docker import DockerSandbox

        return DockerSandbox(image)
    return LocalSandbox()


def describe_backend(name: str = "auto", image: str = DEFAULT_IMAGE) -> str:
    """One line for the run's header: which backend and which isolation are in force."""
    if resolve_backend(name, image) == "docker":
        from .docker import describe

        ok, why = _docker_check(image)
        return describe(image) if ok else f"docker UNUSABLE ({why}): every test will be SE"
    text = LocalSandbox().description
    if name == "auto":
        text += f" (docker not used: {_docker_check(image)[1]})"
    return text
