"""Run-wide settings of the plugin, read once from options and ini, kept in the config stash."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .cases import CaseError
from .formats import READERS, Defaults, load_problems
from .judge import REWARD_MODES
from .sandbox import BACKENDS, DEFAULT_IMAGE, open_sandbox
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


def option(config: pytest.Config, name: str) -> Any:
    """An option's value from the command line, else from the ini file (or its default)."""
    value = config.getoption(name)
    return config.getini(name) if value is None else value


def from_config(config: pytest.Config) -> Settings:
    """Read and validate the run's options; a bad value is a usage error naming the option."""

    def number(name: str, kind: type) -> Any:
        raw = option(config, name)
        try:
            value = kind(raw)
        except (TypeError, ValueError):
            raise pytest.UsageError(f"--{name.replace('_', '-')}: expected a number, got {raw!r}") from None
        if value <= 0:
            raise pytest.UsageError(f"--{name.replace('_', '-')}: must be positive, got {raw!r}")
        return value

    def choice(name: str, choices: tuple[str, ...]) -> str:
        value = str(option(config, name))
        if value not in choices:
            raise pytest.UsageError(f"--{name.replace('_', '-')}: {value!r} is not one of {', '.join(choices)}")
        return value

    rewards = option(config, "codeverify_rewards")
    problems_path = option(config, "codeverify_problems")
    problems = None
    if problems_path:
        try:
            problems = load_problems(problems_path)
        except CaseError as exc:
            raise pytest.UsageError(f"--codeverify-problems: {exc}") from None
    raw_k = str(option(config, "codeverify_pass_k"))
    try:
        pass_k = tuple(sorted({int(part) for part in raw_k.split(",") if part.strip()}))
    except ValueError:
        pass_k = ()
    if not pass_k or min(pass_k) < 1:
        raise pytest.UsageError(f"--codeverify-pass-k: expected positive integers like 1,10, got {raw_k!r}")
    return Settings(
        pass_k=pass_k,
        backend=choice("codeverify_backend", BACKENDS),
        image=str(option(config, "codeverify_image")),
        rewards_path=Path(rewards) if rewards else None,
        reward_mode=choice("codeverify_reward", REWARD_MODES),
        format=choice("codeverify_format", ("auto", *READERS)),
        output_limit=number("codeverify_output_limit", int),
        defaults=Defaults(time_limit=number("codeverify_time_limit", float),
                          memory_limit=number("codeverify_memory_limit", int),
                          lenient_extraction=choice("codeverify_extract", ("strict", "lenient")) == "lenient",
                          problems=problems),
    )


SETTINGS_KEY = pytest.StashKey[Settings]()
