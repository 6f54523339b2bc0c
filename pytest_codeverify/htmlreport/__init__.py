"""Reports people look at: a self-contained HTML page from rewards files, and pytest-html extras.

:mod:`.data` reads and summarises rewards files (stdlib only); :mod:`.plots` draws with
matplotlib (the ``report`` extra); :mod:`.render` builds the page; :mod:`.pytest_html_extras`
adds each test's evidence to pytest-html's report when that plugin is installed.
"""

from __future__ import annotations

from pathlib import Path

MISSING_EXTRA = ('the HTML report needs matplotlib: pip install "pytest-codeverify[report]"')


def plotting_available() -> bool:
    """Whether the ``report`` extra (matplotlib) is installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_report(paths: list[str], output: str | Path, title: str = "codeverify report") -> list[str]:
    """Write the report of the rewards files ``paths`` to ``output``; returns the lines not read.

    Raises :class:`ImportError` with an install hint when matplotlib is missing, and
    :class:`.data.ReportInputError` when a file cannot be opened.
    """
    if not plotting_available():
        raise ImportError(MISSING_EXTRA)
    from .data import load_runs
    from .render import render

    runs = load_runs(paths)
    Path(output).write_text(render(runs, title), encoding="utf-8")
    return [problem for run in runs for problem in run.problems]
