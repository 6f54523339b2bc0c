"""The report's plots, drawn with matplotlib as static SVG and inlined as ``data:`` images.

matplotlib draws offline (no JavaScript bundle, no network), is widely packaged and kept up,
and an SVG inside an ``<img>`` is inert: no script in it runs and its ids cannot clash with
the page's. Texts taken from rewards files (record and test names) are cleaned first, so
neither mathtext (``$...$``) nor control characters reach the renderer.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .data import VERDICT_ORDER, Run, pass_at_k_curve, slowest_tests, summarise

#: One colour per verdict, kept in step with the page's stylesheet.
VERDICT_COLOURS = {"AC": "#2e7d32", "WA": "#c62828", "TLE": "#ef6c00", "MLE": "#6a1b9a", "RE": "#ad1457",
                   "CE": "#6d4c41", "OLE": "#f9a825", "SE": "#607d8b"}
#: Colours of runs when several are compared.
RUN_COLOURS = ("#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#c62828", "#00838f", "#6d4c41", "#546e7a")

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(frozen=True)
class Plot:
    """One figure: its title, and the image as a ``data:`` URI (``""`` with ``note`` when there is nothing to draw)."""

    title: str
    uri: str
    note: str = ""


def label(text: str, limit: int = 48) -> str:
    """A text safe to draw: control characters and lone surrogates replaced, ``$`` literal, shortened."""
    text = _UNSAFE.sub("\ufffd", text)
    text = text if len(text) <= limit else text[:limit - 1] + "\u2026"
    return text.replace("$", r"\$")


def _render(name: str, draw: Callable[[Figure], None], size: tuple[float, float] = (5.2, 3.2)) -> str:
    # A per-figure salt keeps the SVG's generated ids distinct; no date makes output reproducible.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": name, "font.size": 9}):
        figure = Figure(figsize=size, layout="constrained")
        draw(figure)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _run_colour(index: int) -> str:
    return RUN_COLOURS[index % len(RUN_COLOURS)]


def _legend(axes: Axes, runs: list[Run]) -> None:
    if len(runs) > 1:
        axes.legend(fontsize=8, frameon=False)


def verdict_plot(runs: list[Run]) -> Plot:
    """Test verdicts per run: bars per verdict, grouped by run."""
    counts = [summarise(run).test_verdicts for run in runs]
    verdicts = [v for v in VERDICT_ORDER if any(c.get(v) for c in counts)]
    verdicts += sorted({v for c in counts for v in c} - set(verdicts))
    if not verdicts:
        return Plot("Test verdicts", "", "no tests")

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        width = 0.8 / len(runs)
        for index, (run, count) in enumerate(zip(runs, counts, strict=True)):
            xs = [i + (index - (len(runs) - 1) / 2) * width for i in range(len(verdicts))]
            colours = [VERDICT_COLOURS.get(v, "#9e9e9e") for v in verdicts] if len(runs) == 1 else _run_colour(index)
            bars = axes.bar(xs, [count.get(v, 0) for v in verdicts], width, color=colours, label=label(run.label))
            axes.bar_label(bars, fontsize=7)
        axes.set_xticks(range(len(verdicts)), [label(v, 12) for v in verdicts])
        axes.set_ylabel("tests")
        _legend(axes, runs)

    return Plot("Test verdicts", _render("verdicts", draw))


def reward_plot(runs: list[Run]) -> Plot:
    """A histogram of record rewards in ten bins over [0, 1]."""
    data = [[r.reward for r in run.records if r.reward is not None] for run in runs]
    if not any(data):
        return Plot("Reward per record", "", "no scored records")

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        axes.hist(data, bins=[i / 10 for i in range(11)], color=[_run_colour(i) for i in range(len(runs))],
                  label=[label(run.label) for run in runs])
        axes.set_xlabel("reward")
        axes.set_ylabel("records")
        _legend(axes, runs)

    return Plot("Reward per record", _render("rewards", draw))


def time_plot(runs: list[Run]) -> Plot:
    """The distribution of per-test CPU time, on a log scale when it spans more than 100x."""
    data = [[t.time_s for r in run.records for t in r.tests if t.time_s > 0] for run in runs]
    values = [v for d in data for v in d]
    if not values:
        return Plot("CPU time per test", "", "no timed tests")
    low, high = min(values), max(values)
    logarithmic = high / low > 100

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        if logarithmic:
            edges = [low * (high / low) ** (i / 20) for i in range(21)]
            axes.set_xscale("log")
        else:
            edges = [low + (high - low) * i / 20 for i in range(21)] if high > low else [low * 0.9, high * 1.1]
        axes.hist(data, bins=edges, color=[_run_colour(i) for i in range(len(runs))],
                  label=[label(run.label) for run in runs], histtype="step" if len(runs) > 1 else "bar")
        axes.set_xlabel("CPU seconds")
        axes.set_ylabel("tests")
        _legend(axes, runs)

    return Plot("CPU time per test", _render("times", draw))


def slowest_plot(runs: list[Run], count: int = 15) -> Plot:
    """The slowest tests, coloured by verdict."""
    rows = [row for row in slowest_tests(runs, count) if row[0] > 0]
    if not rows:
        return Plot("Slowest tests", "", "no timed tests")
    names = [label(f"{run}: {name}" if len(runs) > 1 else name, 60) for _, run, name, _ in rows]

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        positions = range(len(rows))[::-1]
        axes.barh(list(positions), [row[0] for row in rows],
                  color=[VERDICT_COLOURS.get(row[3], "#9e9e9e") for row in rows])
        axes.set_yticks(list(positions), names, fontsize=7)
        for position, row in zip(positions, rows, strict=True):
            axes.annotate(f" {row[3]}", (row[0], position), va="center", fontsize=7)
        axes.set_xlabel("CPU seconds")

    return Plot("Slowest tests", _render("slowest", draw, (5.2, 0.8 + 0.2 * len(rows))))


def pass_at_k_plot(runs: list[Run]) -> Plot:
    """pass@k against k, one line per run (k up to the fewest samples any problem has)."""
    curves = [pass_at_k_curve(run.records) for run in runs]
    if not any(curves):
        return Plot("pass@k", "", "no scored records")

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        for index, (run, curve) in enumerate(zip(runs, curves, strict=True)):
            if curve:
                axes.plot(list(curve), list(curve.values()), marker="o", color=_run_colour(index),
                          label=label(run.label))
        axes.set_xlabel("k (samples per problem)")
        axes.set_ylabel("pass@k")
        axes.set_ylim(0, 1.02)
        highest = max(max(curve, default=1) for curve in curves)
        axes.set_xlim(0.5, highest + 0.5)
        ks = sorted({k for curve in curves for k in curve})
        if len(ks) <= 12:
            axes.set_xticks(ks)
        else:
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        _legend(axes, runs)

    return Plot("pass@k", _render("passk", draw))


def all_plots(runs: list[Run]) -> list[Plot]:
    """Every plot of the report, in the order shown."""
    return [verdict_plot(runs), reward_plot(runs), time_plot(runs), slowest_plot(runs), pass_at_k_plot(runs)]
