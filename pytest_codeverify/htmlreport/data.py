"""Reading rewards files and summarising them: records, verdict counts, pass@k, run comparison.

Stdlib only (no plotting here), so the summaries can be tested and reused without the
``report`` extra. A bad line never stops the report: it is skipped and named by file and
line in :attr:`Run.problems`.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..protocol import Verdict
from ..rewards import pass_at_k

#: Verdicts in the order they are shown (the judge's own order).
#: What a test that did not run (its record stopped early) shows instead of a verdict.
NOT_RUN = "not run"
VERDICT_ORDER = (*(v.value for v in Verdict), NOT_RUN)


@dataclass(frozen=True)
class TestRow:
    """One test of a record, as the rewards line gave it."""

    __test__ = False
    name: str
    verdict: str
    time_s: float
    fields: dict[str, str] = field(default_factory=dict)  # message, input, expected, got, stderr, error

    @property
    def passed(self) -> bool:
        return self.verdict == "AC"


@dataclass(frozen=True)
class RecordRow:
    """One rewards line."""

    key: str  # the id, made unique within its file (``id#2`` for a repeated id)
    id: str
    problem_id: str
    reward: float | None
    passed: int
    total: int
    verdict: str  # "" for an unreadable record (verdict null)
    tests: tuple[TestRow, ...]
    error: str
    line: int  # line in the rewards file

    @property
    def time_s(self) -> float:
        return sum(t.time_s for t in self.tests)

    @property
    def failing(self) -> tuple[TestRow, ...]:
        return tuple(t for t in self.tests if not t.passed and t.verdict != NOT_RUN)


@dataclass
class Run:
    """The records of one rewards file, and the lines that could not be read."""

    path: str
    records: list[RecordRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    label: str = ""

    def __post_init__(self) -> None:
        self.label = self.label or Path(self.path).name


@dataclass(frozen=True)
class Summary:
    """The headline numbers of one run."""

    records: int
    tests: int
    scored: int
    mean_reward: float | None
    fully_passed: int
    record_verdicts: dict[str, int]
    test_verdicts: dict[str, int]
    pass_at_k: dict[int, float]
    problems: int  # distinct problem ids among scored records
    unreadable: int  # records without tests (could not be read or run)
    total_time_s: float


class ReportInputError(Exception):
    """A rewards file that cannot be opened at all."""


def _text(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else json.dumps(value, ensure_ascii=False))


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def parse_test(data: object, where: str) -> TestRow:
    """One entry of a line's ``tests`` list; ``where`` names file and line in errors."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: field 'tests': each entry must be an object")
    verdict = data.get("verdict")
    if verdict is None and data.get("not_run"):
        verdict = NOT_RUN
    if not isinstance(verdict, str) or not verdict:
        raise ValueError(f"{where}: field 'tests': an entry has no verdict")
    fields = {name: _text(data[name]) for name in ("message", "error", "input", "expected", "got", "stderr",
                                                   "not_run")
              if data.get(name) not in (None, "")}
    return TestRow(_text(data.get("name")), verdict, _number(data.get("time_s")) or 0.0, fields)


def parse_line(text: str, where: str, line: int) -> RecordRow:
    """One rewards line; raises ``ValueError`` naming ``where`` (file:line) and the field."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{where}: not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{where}: a rewards line must be a JSON object")
    tests = data.get("tests", [])
    if not isinstance(tests, list):
        raise ValueError(f"{where}: field 'tests' must be a list")
    rows = tuple(parse_test(t, where) for t in tests)
    if data.get("id") is None:
        raise ValueError(f"{where}: field 'id' is missing")
    record_id = _text(data["id"])
    reward = data.get("reward")
    if reward is not None and _number(reward) is None:
        raise ValueError(f"{where}: field 'reward' must be a number or null")
    passed = data.get("passed", sum(t.passed for t in rows))
    total = data.get("total", len(rows))
    if not isinstance(passed, int) or not isinstance(total, int):
        raise ValueError(f"{where}: fields 'passed' and 'total' must be integers")
    return RecordRow(record_id, record_id, _text(data.get("problem_id", record_id)) or record_id,
                     _number(reward), passed, total, _text(data.get("verdict")), rows, _text(data.get("error")), line)


def load_run(path: str | Path) -> Run:
    """Read one rewards file (``.jsonl`` or ``.jsonl.gz``); bad lines go to :attr:`Run.problems`."""
    run = Run(str(path))
    opener: Any = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="surrogateescape") as handle:
            lines = handle.read().splitlines()
    except (OSError, EOFError) as exc:
        raise ReportInputError(f"{path}: cannot read: {exc}") from None
    seen: Counter[str] = Counter()
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            record = parse_line(text, f"{path}:{number}", number)
        except ValueError as exc:
            run.problems.append(str(exc))
            continue
        seen[record.id] += 1
        if seen[record.id] > 1:  # keep every line, but let comparisons tell repeats apart
            record = replace(record, key=f"{record.id}#{seen[record.id]}")
        run.records.append(record)
    return run


def load_runs(paths: list[str]) -> list[Run]:
    """:func:`load_run` for each path; labels are file names, or whole paths where names repeat."""
    runs = [load_run(path) for path in paths]
    names = Counter(run.label for run in runs)
    for run in runs:
        if names[run.label] > 1:
            run.label = run.path
    return runs


def pass_at_k_curve(records: list[RecordRow], ks: list[int] | None = None) -> dict[int, float]:
    """Unbiased pass@k averaged over problems, for every k that each problem has samples for.

    Only scored records with tests count (an unreadable record or a sandbox failure says nothing
    about the candidate). ``ks`` defaults to 1 .. the fewest samples any problem has.
    """
    by_problem: dict[str, list[bool]] = {}
    for record in records:
        if record.tests and record.reward is not None:
            by_problem.setdefault(record.problem_id, []).append(record.verdict == "AC")
    if not by_problem:
        return {}
    fewest = min(len(v) for v in by_problem.values())
    wanted = ks if ks is not None else list(range(1, fewest + 1))
    return {k: sum(pass_at_k(len(v), sum(v), k) for v in by_problem.values()) / len(by_problem)
            for k in wanted if 1 <= k <= fewest}


def summarise(run: Run) -> Summary:
    """The headline numbers of ``run``."""
    records = run.records
    scored = [r.reward for r in records if r.reward is not None]
    record_verdicts = Counter(r.verdict or "unreadable" for r in records)
    test_verdicts = Counter(t.verdict for r in records for t in r.tests)
    return Summary(
        records=len(records), tests=sum(len(r.tests) for r in records), scored=len(scored),
        mean_reward=(sum(scored) / len(scored)) if scored else None,
        fully_passed=sum(r.verdict == "AC" for r in records),
        record_verdicts=_ordered(record_verdicts), test_verdicts=_ordered(test_verdicts),
        pass_at_k=pass_at_k_curve(records),
        problems=len({r.problem_id for r in records if r.tests and r.reward is not None}),
        unreadable=sum(1 for r in records if not r.tests),
        total_time_s=sum(r.time_s for r in records),
    )


def _ordered(counts: Counter[str]) -> dict[str, int]:
    known = [v for v in VERDICT_ORDER if counts[v]]
    others = sorted(v for v in counts if v not in VERDICT_ORDER and counts[v])
    return {v: counts[v] for v in known + others}


@dataclass(frozen=True)
class Change:
    """A record whose verdict differs between runs: its row in each run (``None`` where absent)."""

    key: str
    rows: tuple[RecordRow | None, ...]


def changed_records(runs: list[Run]) -> list[Change]:
    """Records (matched by id) present in two or more runs whose verdicts are not all the same.

    In the order of the first run that has them.
    """
    if len(runs) < 2:
        return []
    by_key = [{r.key: r for r in run.records} for run in runs]
    order: dict[str, None] = {}
    for run in runs:
        order.update(dict.fromkeys(r.key for r in run.records))
    changes = []
    for key in order:
        rows = tuple(index.get(key) for index in by_key)
        present = [row.verdict for row in rows if row is not None]
        if len(present) >= 2 and len(set(present)) > 1:
            changes.append(Change(key, rows))
    return changes


def slowest_tests(runs: list[Run], count: int = 15) -> list[tuple[float, str, str, str]]:
    """The ``count`` slowest tests over all runs: ``(seconds, run label, record::test, verdict)``."""
    rows = [(t.time_s, run.label, f"{r.id}::{t.name}", t.verdict)
            for run in runs for r in run.records for t in r.tests]
    return sorted(rows, key=lambda row: row[0], reverse=True)[:count]
