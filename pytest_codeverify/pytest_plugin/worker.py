"""This worker's sandbox: one public :class:`~pytest_codeverify.api.Sandbox` per pytest process,
shared by the JSONL items and the fixtures, started on first use and closed at the end."""

from __future__ import annotations

import pytest

from ..api import Sandbox
from ..sandbox import describe_backend
from .options import SETTINGS_KEY, Settings, from_config

_SANDBOX_KEY = pytest.StashKey[Sandbox]()


def settings_of(config: pytest.Config) -> Settings:
    """The run's settings: those of ``--codeverify``, else read now from the options."""
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None:
        settings = from_config(config)
        config.stash[SETTINGS_KEY] = settings
    return settings


def worker_sandbox(config: pytest.Config) -> Sandbox:
    """This process's sandbox handle (its backend starts lazily, on the first job)."""
    sandbox = config.stash.get(_SANDBOX_KEY, None)
    if sandbox is None:
        run = settings_of(config).run
        sandbox = Sandbox(run.backend, image=run.image, time_limit=run.time_limit, memory_limit=run.memory_limit,
                          output_limit=run.output_limit, reward_mode=run.reward_mode,
                          lenient_extraction=run.lenient_extraction)
        config.stash[_SANDBOX_KEY] = sandbox
    return sandbox


def close_worker_sandbox(config: pytest.Config) -> None:
    """Stop this process's sandbox, if one was started."""
    sandbox = config.stash.get(_SANDBOX_KEY, None)
    if sandbox is not None:
        sandbox.close()
        del config.stash[_SANDBOX_KEY]


def describe_worker_backend(config: pytest.Config) -> str:
    """The header line: which backend and which isolation are in force."""
    run = settings_of(config).run
    return describe_backend(run.backend, run.image)
