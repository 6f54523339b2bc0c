"""Run-wide settings of the plugin, read once from options and ini, kept in the config stash."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .formats import Defaults
from .sandbox import DEFAULT_IMAGE, open_sandbox
from .sandbox.base import Sandbox


@dataclass
class Settings:
    """What a run was asked to do, plus this process's sandbox (one per pytest worker)."""

    backend: str = "auto"
    image: str = DEFAULT_IMAGE
    rewards_path: Path | None = None
    reward_mode: str = "fraction"
    format: str = "auto"
    output_limit: int = 1 << 20
    pass_k: tuple[int, ...] = (1, 5, 10, 100)
    defaults: Defaults = field(default_factory=Defaults)
    _sandbox: Sandbox | None = None

    def sandbox(self) -> Sandbox:
        """This worker's sandbox, started on first use and kept warm for the whole session."""
        if self._sandbox is None:
            self._sandbox = open_sandbox(self.backend, self.image)
        return self._sandbox

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None


SETTINGS_KEY = pytest.StashKey[Settings]()
