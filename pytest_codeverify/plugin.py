"""pytest hooks and options of pytest-codeverify; the work is done by the modules they wire."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from . import fixtures
from .collect import JsonlFile
from .formats import READERS
from .htmlreport.pytest_html_extras import register as register_html_extras
from .report import RewardReporter
from .sandbox import BACKENDS, DEFAULT_IMAGE, describe_backend
from .settings import SETTINGS_KEY, from_config, option

# Help texts are shared by each command-line option and its ini twin.
OPTIONS: dict[str, tuple[str, str, Any]] = {
    # name: (help, ini type, default)
    "codeverify": ("collect .jsonl files as code-verification cases", "bool", False),
    "codeverify_backend": (f"sandbox backend: {', '.join(BACKENDS)} (auto: Docker when usable, else local)",
                           "string", "auto"),
    "codeverify_image": ("container image of the docker backend", "string", DEFAULT_IMAGE),
    "codeverify_rewards": ("write one JSON line of rewards per record to this path", "string", None),
    "codeverify_time_limit": ("default CPU time limit per test in seconds (a record's own limit wins)",
                              "string", "2"),
    "codeverify_memory_limit": ("default memory limit per test in MiB (a record's own limit wins)", "string", "512"),
    "codeverify_reward": ("reward per record: fraction (passed/total) or all (1.0 only if all pass)",
                          "string", "fraction"),
    "codeverify_format": (f"dataset format: auto or one of {', '.join(READERS)}", "string", "auto"),
    "codeverify_extract": ("code extraction from responses: strict (fenced blocks only) or lenient",
                           "string", "strict"),
    "codeverify_problems": ("problems file (JSONL, may be gzipped) joined with each samples line by task_id, "
                            "problem_id, question_id, id (or NeMo Gym prompt text)", "string", None),
    "codeverify_pass_k": ("comma-separated k values for pass@k over several samples per problem", "string",
                          "1,5,10,100"),
    "codeverify_output_limit": ("bytes of stdout (and of stderr) a test may write before OLE", "string",
                                str(1 << 20)),
    "codeverify_candidate": ("source file of the candidate the codeverify_candidate fixture hands out "
                             "(overrides the codeverify marker's code/path)", "string", None),
}

METAVARS = {"codeverify_candidate": "PATH", "codeverify_rewards": "PATH", "codeverify_problems": "FILE",
            "codeverify_memory_limit": "MIB", "codeverify_time_limit": "SECONDS", "codeverify_output_limit": "BYTES",
            "codeverify_pass_k": "K,K"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("codeverify", "code verification of JSONL datasets")
    for name, (help_text, ini_type, default) in OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        if ini_type == "bool":
            group.addoption(flag, action="store_true", dest=name, default=None, help=help_text)
        else:
            group.addoption(flag, dest=name, default=None, metavar=METAVARS.get(name, name.split("_")[-1].upper()),
                            help=help_text)
        parser.addini(name, help_text, type=ini_type, default=default)  # type: ignore[arg-type]


def _enabled(config: pytest.Config) -> bool:
    return bool(option(config, "codeverify"))


def pytest_configure(config: pytest.Config) -> None:
    # The Python API's fixtures and marker work with or without --codeverify.
    if not config.pluginmanager.is_registered(fixtures):
        config.pluginmanager.register(fixtures, "codeverify-fixtures")
    if not _enabled(config):
        return
    settings = from_config(config)
    config.stash[SETTINGS_KEY] = settings
    register_html_extras(config)  # each test's evidence in pytest-html's report, when installed
    # A bad record is a collection error of its own; the other records must still run.
    config.option.continue_on_collection_errors = True
    if not hasattr(config, "workerinput"):  # the controller (or a serial run) reports
        config.pluginmanager.register(RewardReporter(settings, config.rootpath), "codeverify-reporter")


def pytest_unconfigure(config: pytest.Config) -> None:
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is not None:
        settings.close()


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None:
        return None
    return f"codeverify: backend {describe_backend(settings.backend, settings.image)}"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not _enabled(parent.config) or not file_path.name.endswith((".jsonl", ".jsonl.gz")):
        return None
    return JsonlFile.from_parent(parent, path=file_path)
