"""pytest-html extras: each codeverify test's verdict, input, expected, got and stderr in its row.

Registered by :func:`register` only when pytest-html is importable. The extras are built on
the process that ran the test (an xdist worker ships them to the controller inside the report,
as plain dicts) from the item's own judgement, escaped, so a candidate's output stays text.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Generator
from typing import Any

import pytest

from ..evidence import evidence
from ..pytest_plugin.collection import CodeverifyItem
from .escape import SHOW_LIMIT, esc

#: The plugin name under which the hook object is registered.
PLUGIN_NAME = "codeverify-html-extras"


def extras_html(verdict: str, time_s: float, fields: dict[str, str]) -> str:
    """The block shown under a test in pytest-html's report."""
    parts = [f'<div class="codeverify"><p><b>verdict</b> {esc(verdict)} &middot; {time_s:.3f} s CPU</p>']
    if fields.get("message"):
        parts.append(f"<p><b>message</b> {esc(fields['message'], 1000)}</p>")
    for name in ("input", "expected", "got", "stderr"):
        if fields.get(name):
            parts.append(f"<p><b>{name}</b></p><pre>{esc(fields[name], SHOW_LIMIT, keep_end=name == 'stderr')}</pre>")
    parts.append("</div>")
    return "".join(parts)


class HtmlExtras:
    """The hook object: adds one HTML extra to the report of each codeverify test."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[
            None, pytest.TestReport, pytest.TestReport]:
        report = yield
        # The judgement is made in setup: extras go on the call report, or on setup's when it failed (SE).
        wanted = call.when == "call" or (call.when == "setup" and report.failed)
        if not isinstance(item, CodeverifyItem) or item.outcome is None or not wanted:
            return report
        from pytest_html import extras

        outcome = item.outcome
        html = extras_html(outcome.verdict.value, outcome.time_s, evidence(item.case, item.test, outcome))
        report_extras: list[Any] = list(getattr(report, "extras", []))
        report_extras.append(extras.html(html))
        report.extras = report_extras  # type: ignore[attr-defined]
        return report


def register(config: pytest.Config) -> None:
    """Add the extras when pytest-html is installed and writes a report (``--html``); other runs
    pay nothing for them."""
    if importlib.util.find_spec("pytest_html") is None or config.pluginmanager.has_plugin(PLUGIN_NAME):
        return
    if not config.getoption("htmlpath", None):
        return
    config.pluginmanager.register(HtmlExtras(), PLUGIN_NAME)
