"""This worker's sandbox: one public :class:`~pytest_codeverify.api.Sandbox` per pytest process,
shared by the JSONL items and the fixtures, started on first use and closed at the end."""

from __future__ import annotations

import pytest

from ..api import Sandbox
from ..calibration import Calibrator
from ..config import DEFAULT_CACHE_DIR
from ..sandbox import describe_backend
from .options import SETTINGS_KEY, Settings, from_config

_SANDBOX_KEY = pytest.StashKey[Sandbox]()
_CALIBRATOR_KEY = pytest.StashKey[Calibrator]()


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
                          lenient_extraction=run.lenient_extraction, bwrap=run.bwrap)
        config.stash[_SANDBOX_KEY] = sandbox
    return sandbox


def worker_calibrator(config: pytest.Config) -> Calibrator:
    """This process's calibrator: measures through the worker's sandbox, caches in the
    ``--codeverify-cache-dir``, else pytest's cache directory (cleared by ``--cache-clear``)."""
    calibrator = config.stash.get(_CALIBRATOR_KEY, None)
    if calibrator is None:
        directory = settings_of(config).run.cache_dir
        if directory is None:
            cache = getattr(config, "cache", None)
            directory = cache.mkdir("codeverify") if cache is not None else config.rootpath / DEFAULT_CACHE_DIR
        calibrator = Calibrator(worker_sandbox(config).run_test, directory)
        config.stash[_CALIBRATOR_KEY] = calibrator
    return calibrator


def close_worker_sandbox(config: pytest.Config) -> None:
    """Stop this process's sandbox, if one was started."""
    sandbox = config.stash.get(_SANDBOX_KEY, None)
    if sandbox is not None:
        sandbox.close()
        del config.stash[_SANDBOX_KEY]


def describe_worker_backend(config: pytest.Config) -> str:
    """The header line: which backend and which isolation are in force."""
    run = settings_of(config).run
    return describe_backend(run.backend, run.image, run.bwrap)
