"""pytest hooks of pytest-codeverify: thin wiring; the work is done by the modules they call."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

import pytest

from ..htmlreport.pytest_html_extras import register as register_html_extras
from . import fixtures
from .collection import CodeverifyItem, JsonlFile
from .options import SETTINGS_KEY, add_options, from_config, option
from .reporting import HEADS_KEY, RewardReporter, collected_heads, mark_invalid_record
from .scheduling import RecordScheduling
from .worker import close_worker_sandbox, describe_worker_backend


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


#: Set when -n came without --dist: records then go to workers through :class:`RecordScheduling`.
RECORDS_DIST_KEY = pytest.StashKey[bool]()


def _enabled(config: pytest.Config) -> bool:
    return bool(option(config, "codeverify"))


def _dist_chosen(config: pytest.Config) -> bool:
    """Whether the user named an xdist distribution mode (``--dist``, or ``-d``), on the command
    line, in ``PYTEST_ADDOPTS`` or in the ini file's ``addopts``."""
    args = [*config.invocation_params.args, *shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))]
    try:
        args += list(config.getini("addopts"))
    except (ValueError, KeyError):
        pass
    return any(str(arg).startswith("--dist") or str(arg) == "-d" for arg in args)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    # With -n and no --dist of the user's, each record's tests go to one worker, in order (not
    # spread over workers as --dist load would): its sandbox then starts each next test while
    # the last is judged, and early stop can leave out the rest of a record that failed.
    # (xdist may have turned -n into --dist load already, depending on the plugins' order.)
    if _enabled(config) and getattr(config.option, "numprocesses", None) \
            and getattr(config.option, "dist", None) in ("no", "load") and not _dist_chosen(config):
        config.option.dist = "loadscope"
        config.stash[RECORDS_DIST_KEY] = True


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> RecordScheduling | None:
    # loadscope's grouping, with bookkeeping that does not grow with the run (see scheduling.py);
    # an explicit --dist of the user's gets xdist's own scheduler.
    return RecordScheduling(config, log) if config.stash.get(RECORDS_DIST_KEY, False) else None


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
    close_worker_sandbox(config)


def pytest_report_header(config: pytest.Config) -> str | None:
    if SETTINGS_KEY not in config.stash:
        return None
    return f"codeverify: backend {describe_worker_backend(config)}"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not _enabled(parent.config) or not file_path.name.endswith((".jsonl", ".jsonl.gz")):
        return None
    return JsonlFile.from_parent(parent, path=file_path)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    report = yield
    if SETTINGS_KEY in collector.config.stash:
        mark_invalid_record(collector, report)
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    workeroutput = getattr(config, "workeroutput", None)
    if SETTINGS_KEY in config.stash and isinstance(workeroutput, dict):
        # An xdist worker: the controller builds rewards lines from these, not from the files.
        workeroutput[HEADS_KEY] = collected_heads(session.items)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    # The item knows what runs next, so its sandbox can start that test's job early.
    if isinstance(item, CodeverifyItem):
        item.next_item = nextitem
