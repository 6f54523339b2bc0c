"""The report page: summaries side by side, plots, changed verdicts, and the records table.

All of it is one HTML file with its stylesheet, script and images inline, so it opens from
disk with no network. Text from rewards files goes through :func:`~.escape.esc` only.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from importlib import resources
from string import Template

from .data import Change, RecordRow, Run, Summary, TestRow, changed_records, summarise
from .escape import SHOW_LIMIT, esc
from .plots import Plot, all_plots

#: Failing tests shown per record (the rest are counted).
FAILING_SHOWN = 10
#: Characters of failing-test detail in one page; past it, records point at their rewards line
#: instead, so a report of a large run still opens in a browser.
DETAIL_BUDGET = 20_000_000
#: Reading problems listed per file (the rest are counted).
PROBLEMS_SHOWN = 50


def _number(value: float | None, digits: int = 4) -> str:
    return "\u2014" if value is None else f"{value:.{digits}f}"


def _verdict(verdict: str) -> str:
    shown = verdict or "unreadable"
    return f'<span class="v v-{esc(shown)}">{esc(shown)}</span>'


def _counts(counts: dict[str, int]) -> str:
    return " ".join(f'<span class="count" data-verdict="{esc(v)}">{_verdict(v)}&nbsp;<b>{n}</b></span>'
                    for v, n in counts.items()) or "\u2014"


def summary_table(runs: list[Run], summaries: list[Summary]) -> str:
    """The headline numbers, one column per run."""
    head = "".join(f'<th title="{esc(run.path)}">{esc(run.label)}</th>' for run in runs)
    rows: list[tuple[str, str, list[str]]] = [
        ("records", "records", [str(s.records) for s in summaries]),
        ("tests", "tests", [str(s.tests) for s in summaries]),
        ("mean reward", "mean-reward",
         [f"{_number(s.mean_reward)} <small>over {s.scored} scored</small>" for s in summaries]),
        ("fully passed", "fully-passed",
         [f"{s.fully_passed} <small>({s.fully_passed / s.records:.1%})</small>" if s.records else "0"
          for s in summaries]),
        ("problems", "problems", [str(s.problems) for s in summaries]),
        ("CPU time", "cpu-time", [f"{s.total_time_s:.3f} s" for s in summaries]),
    ]
    ks = sorted({k for s in summaries for k in s.pass_at_k})
    rows += [(f"pass@{k}", f"pass-at-{k}", [_number(s.pass_at_k.get(k)) for s in summaries]) for k in ks]
    for kind, attribute in (("record", "record_verdicts"), ("test", "test_verdicts")):
        rows.append((f"{kind} verdicts", f"{kind}-verdicts",
                     [_counts(getattr(s, attribute)) for s in summaries]))
    body = "".join(
        f'<tr><th scope="row">{esc(name)}</th>'
        + "".join(f'<td data-run="{i}" data-stat="{stat}">{cell}</td>' for i, cell in enumerate(cells)) + "</tr>"
        for name, stat, cells in rows)
    return f'<table class="summary"><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>'


def problems_section(runs: list[Run]) -> str:
    """The lines that could not be read, named by file and line."""
    items = []
    for run in runs:
        items += [f"<li>{esc(problem, 500)}</li>" for problem in run.problems[:PROBLEMS_SHOWN]]
        if len(run.problems) > PROBLEMS_SHOWN:
            items.append(f"<li>{esc(run.label)}: {len(run.problems) - PROBLEMS_SHOWN} more lines not read</li>")
    if not items:
        return ""
    return f'<section id="problems"><h2>Lines not read</h2><ul class="problems">{"".join(items)}</ul></section>'


def plots_section(plots: list[Plot]) -> str:
    figures = []
    for plot in plots:
        inner = (f'<img src="{plot.uri}" alt="{esc(plot.title)}">' if plot.uri
                 else f'<p class="empty">{esc(plot.note)}</p>')
        figures.append(f"<figure><figcaption>{esc(plot.title)}</figcaption>{inner}</figure>")
    return f'<section id="plots"><h2>Plots</h2><div class="plots">{"".join(figures)}</div></section>'


def changes_section(runs: list[Run], changes: list[Change]) -> str:
    """Records whose verdict differs between runs (matched by id)."""
    if len(runs) < 2:
        return ""
    head = "".join(f"<th>{esc(run.label)}</th>" for run in runs)
    body = "".join(
        f'<tr class="change" data-key="{esc(change.key)}"><td>{esc(change.key, 200)}</td>'
        + "".join(f"<td>{_verdict(row.verdict)} <small>{_number(row.reward, 3)}</small></td>" if row is not None
                  else '<td class="absent">absent</td>' for row in change.rows) + "</tr>"
        for change in changes)
    table = (f'<table class="changes"><thead><tr><th>record</th>{head}</tr></thead><tbody>{body}</tbody></table>'
             if changes else '<p class="empty">No record changed its verdict.</p>')
    count = f"{len(changes)} record" + ("" if len(changes) == 1 else "s")
    return (f'<section id="changes"><h2>Changed verdicts <small>({count}, matched by id)</small>'
            f"</h2>{table}</section>")


def diff_block(expected: str, got: str) -> str:
    """A line diff from expected to got; a note when they differ only in line endings or trailing space."""
    lines = list(difflib.unified_diff(expected.splitlines(), got.splitlines(), "expected", "got", lineterm="", n=2))
    if not lines:
        return ('<p class="note">Same lines; they differ in whitespace at line ends or in the final newline.</p>'
                if expected != got else "")
    spans = []
    for line in lines[:400]:
        kind = "add" if line.startswith("+") else "del" if line.startswith("-") else "hunk" if line[:2] == "@@" else ""
        spans.append(f'<span class="{kind}">{esc(line, 300)}</span>')
    return f'<div class="field"><b>diff</b><pre class="diff">{"".join(spans)}</pre></div>'


def _field(name: str, text: str, *, keep_end: bool = False) -> str:
    return f'<div class="field"><b>{name}</b><pre>{esc(text, SHOW_LIMIT, keep_end=keep_end)}</pre></div>'


def failing_test_block(test: TestRow) -> str:
    """One failing test: verdict, reason, input, expected, got, their diff, stderr."""
    f = test.fields
    parts = [f'<h4>{esc(test.name, 200)} {_verdict(test.verdict)} <small>{test.time_s:.3f} s</small></h4>']
    for name in ("message", "error"):
        if name in f:
            parts.append(f'<p class="message">{esc(f[name], 1000)}</p>')
    parts += [_field(name, f[name]) for name in ("input", "expected", "got") if name in f]
    if "expected" in f and "got" in f:
        parts.append(diff_block(f["expected"][:SHOW_LIMIT], f["got"][:SHOW_LIMIT]))
    if "stderr" in f:
        parts.append(_field("stderr", f["stderr"], keep_end=True))
    return f'<div class="test">{"".join(parts)}</div>'


def detail(record: RecordRow) -> str:
    """What opens under a record: its error, or its failing tests."""
    parts = [f'<p class="message">{esc(record.error, 2000)}</p>'] if record.error else []
    failing = record.failing
    parts += [failing_test_block(test) for test in failing[:FAILING_SHOWN]]
    if len(failing) > FAILING_SHOWN:
        parts.append(f"<p>{len(failing) - FAILING_SHOWN} more failing tests not shown.</p>")
    if not parts:
        parts.append(f'<p class="empty">All {len(record.tests)} tests passed.</p>')
    return "".join(parts)


def records_section(runs: list[Run]) -> str:
    """The sortable, filterable table: one row per record, opening to its failing tests."""
    several = len(runs) > 1
    columns = (["file"] if several else []) + ["record", "problem", "verdict", "reward", "passed", "time (s)", "line"]
    kinds = (["text"] if several else []) + ["text", "text", "text", "num", "num", "num", "num"]
    head = "".join(f'<th data-kind="{kind}" tabindex="0">{name}</th>' for name, kind in zip(columns, kinds,
                                                                                            strict=True))
    width = len(columns)
    rows = []
    budget = DETAIL_BUDGET
    for index, run in enumerate(runs):
        for record in run.records:
            shown = detail(record) if budget > 0 else (
                f'<p class="note">Details left out to keep the page small: see line {record.line} of '
                f"{esc(run.path)}.</p>")
            budget -= len(shown)
            verdict = record.verdict or "unreadable"
            cells = ([f'<td data-sort="{esc(run.label)}">{esc(run.label)}</td>'] if several else []) + [
                f'<td data-sort="{esc(record.key)}"><span class="toggle">\u25b8</span> {esc(record.key, 200)}</td>',
                f'<td data-sort="{esc(record.problem_id)}">{esc(record.problem_id, 200)}</td>',
                f'<td data-sort="{esc(verdict)}">{_verdict(record.verdict)}</td>',
                f'<td data-sort="{record.reward if record.reward is not None else -1}">'
                f"{_number(record.reward, 3)}</td>",
                f'<td data-sort="{record.passed / record.total if record.total else -1}">'
                f"{record.passed}/{record.total}</td>",
                f'<td data-sort="{record.time_s}">{record.time_s:.3f}</td>',
                f'<td data-sort="{record.line}">{record.line}</td>',
            ]
            rows.append(f'<tr class="rec" data-run="{index}" data-verdict="{esc(verdict)}" '
                        f'data-key="{esc(record.key)}">{"".join(cells)}</tr>'
                        f'<tr class="detail" hidden><td colspan="{width}">{shown}</td></tr>')
    verdicts = list(dict.fromkeys(r.verdict or "unreadable" for run in runs for r in run.records))
    verdict_options = "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in verdicts)
    run_select = ('<select id="run-filter"><option value="">all files</option>'
                  + "".join(f'<option value="{i}">{esc(run.label)}</option>' for i, run in enumerate(runs))
                  + "</select>") if several else ""
    total = sum(len(run.records) for run in runs)
    return (f'<section id="records"><h2>Records</h2><div class="filters">'
            f'<input id="text-filter" type="search" placeholder="filter by record or problem id">'
            f'<select id="verdict-filter"><option value="">all verdicts</option>{verdict_options}'
            f'<option value="!AC">not AC</option></select>{run_select}'
            f'<span id="shown" data-total="{total}">{total} records</span></div>'
            f'<table class="records"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></section>')


def render(runs: list[Run], title: str = "codeverify report", generated: datetime | None = None,
           plots: bool = True) -> str:
    """The whole page for ``runs`` (one run: its report; several: compared side by side).

    ``plots=False`` leaves the figures out (they take most of the time to build).
    """
    summaries = [summarise(run) for run in runs]
    when = (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    files = "".join(f"<li>{esc(run.path)}</li>" for run in runs)
    body = (f'<header><h1>{esc(title)}</h1><p class="meta">{when}; {len(runs)} rewards file(s):</p>'
            f'<ul class="files">{files}</ul></header>'
            f'<section id="summary"><h2>Summary</h2>{summary_table(runs, summaries)}</section>'
            + problems_section(runs) + (plots_section(all_plots(runs)) if plots else "")
            + changes_section(runs, changed_records(runs)) + records_section(runs))
    page = Template(resources.files(__package__).joinpath("template.html").read_text(encoding="utf-8"))
    return page.substitute(title=esc(title), body=body)
