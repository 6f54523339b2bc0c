"""Sandbox backends and backend selection."""

from __future__ import annotations

from .base import Job, RawResult, Sandbox, SandboxError
from .local import LocalSandbox

BACKENDS = ("auto", "local", "docker")

__all__ = ["BACKENDS", "Job", "LocalSandbox", "RawResult", "Sandbox", "SandboxError", "describe_backend",
           "open_sandbox", "resolve_backend"]


def resolve_backend(name: str) -> str:
    """The concrete backend for ``name``: ``auto`` means Docker when usable, else local."""
    if name not in BACKENDS:
        raise ValueError(f"unknown sandbox backend {name!r} (choose from {', '.join(BACKENDS)})")
    if name == "docker":
        raise ValueError("the docker backend is not part of this version; use --codeverify-backend local")
    return "local"


def open_sandbox(name: str = "auto") -> Sandbox:
    """A new, not yet started sandbox of the named backend."""
    resolve_backend(name)
    return LocalSandbox()


def describe_backend(name: str = "auto") -> str:
    """One line for the run's header: which backend and which isolation are in force."""
    resolve_backend(name)
    return LocalSandbox().description
