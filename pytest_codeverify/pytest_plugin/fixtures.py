"""pytest fixtures and the ``codeverify`` marker: the Python API inside ordinary pytest tests.

Loaded with the plugin whether or not ``--codeverify`` is given; nothing starts until a test
uses a fixture. With ``--codeverify`` the fixtures share the worker's sandbox with the JSONL
items; without it one sandbox per worker session is started on first use and closed at the
session's end.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ..api import Candidate, Sandbox
from ..engine import CaseReport
from .worker import worker_sandbox

#: The ``user_properties`` key under which each ``verify`` report (a rewards-file line as JSON
#: text: only built-in types may travel from xdist workers) reaches the controller's reporter.
REPORT_PROPERTY = "codeverify_report"

#: Keyword arguments the ``codeverify`` marker accepts.
MARKER_KEYS = ("code", "path", "entry_point", "language", "time_limit", "memory_limit")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "codeverify(code=None, path=None, entry_point=None, language='python', time_limit=None, memory_limit=None):"
        " the candidate the codeverify_candidate fixture hands out (--codeverify-candidate PATH overrides"
        " code/path).")


@pytest.fixture(scope="session")
def _codeverify_sandbox(pytestconfig: pytest.Config) -> Sandbox:
    """This worker's sandbox handle, shared with the JSONL items (closed when pytest ends)."""
    return worker_sandbox(pytestconfig)


@pytest.fixture
def codeverify(request: pytest.FixtureRequest, _codeverify_sandbox: Sandbox) -> Sandbox:
    """A :class:`~pytest_codeverify.Sandbox`: ``run(code, stdin=...)``, ``verify(record)``, ``candidate(...)``.

    Every ``verify`` report is also recorded on the test, so that under ``--codeverify`` it
    joins the reward summary and the ``--codeverify-rewards`` file (a record without an
    ``id`` is named after the test).
    """
    node = request.node

    def record(report: CaseReport) -> None:
        node.user_properties.append((REPORT_PROPERTY, json.dumps(report.to_dict(), ensure_ascii=False)))

    return _codeverify_sandbox._view(node.nodeid, record)


@pytest.fixture
def codeverify_candidate(request: pytest.FixtureRequest, codeverify: Sandbox) -> Candidate:
    """The candidate under test, from ``@pytest.mark.codeverify(...)`` and ``--codeverify-candidate``.

    The marker gives ``code=`` or ``path=`` (relative to the test file), ``entry_point``,
    ``language``, ``time_limit`` and ``memory_limit``; markers on the function, class and
    module combine, the closest winning. ``--codeverify-candidate PATH`` replaces the marker's
    code or path, so one test file can check any submitted solution.
    """
    options = _marker_options(request.node)
    override = _option_path(request.config)
    if override is not None:
        options.pop("code", None)
        options["path"] = override
    elif options.get("path") is not None:
        options["path"] = Path(request.node.path).parent / options["path"]
    if options.get("code") is None and options.get("path") is None:
        pytest.fail("codeverify_candidate needs a candidate: @pytest.mark.codeverify(code=...) or "
                    "@pytest.mark.codeverify(path=...), or --codeverify-candidate PATH", pytrace=False)
    if options.get("code") is not None and options.get("path") is not None:
        pytest.fail("@pytest.mark.codeverify: give code= or path=, not both", pytrace=False)
    try:
        return codeverify.candidate(**options)
    except (OSError, ValueError, TypeError) as exc:
        pytest.fail(f"codeverify_candidate: {exc}", pytrace=False)


def _marker_options(node: pytest.Item) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for mark in node.iter_markers("codeverify"):  # closest first
        if mark.args:
            pytest.fail(f"@pytest.mark.codeverify takes keyword arguments only ({', '.join(MARKER_KEYS)})",
                        pytrace=False)
        unknown = sorted(set(mark.kwargs) - set(MARKER_KEYS))
        if unknown:
            pytest.fail(f"@pytest.mark.codeverify: unknown argument(s) {', '.join(unknown)} "
                        f"(known: {', '.join(MARKER_KEYS)})", pytrace=False)
        for key, value in mark.kwargs.items():
            # code= and path= are one setting: the closest marker giving either one wins.
            if key in ("code", "path") and ("code" in options or "path" in options):
                continue
            options.setdefault(key, value)
    return options


def _option_path(config: pytest.Config) -> Path | None:
    """``--codeverify-candidate`` (relative to where pytest was started), else the ini key
    (relative to the ini file's folder)."""
    value = config.getoption("codeverify_candidate")
    if value:
        return config.invocation_params.dir / str(value)
    value = config.getini("codeverify_candidate")
    if value:
        base = config.inipath.parent if config.inipath is not None else config.rootpath
        return base / str(value)
    return None
