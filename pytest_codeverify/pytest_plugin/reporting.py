"""Reporting on the controller: per-test reports -> per-case rewards, summary, rewards file.

Runs once per session, on the controller only (under xdist the workers never see it). It
never reads the datasets again: what a rewards line says about its case (a "head": id,
problem, limits, place in the file, test names) comes from the collected items in a serial
run, and from each xdist worker's ``workeroutput`` at its end; an unreadable record's comes
on its collection report. So the rewards file has one line per case in input order even when
items crashed or errored without a verdict (such a test counts as ``SE``). Only when no
worker delivered a case's head (every worker lost, an interrupted session) are the files
read again for the missing ones.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ..formats import load_file
from ..protocol import Verdict
from ..rewards import head_line, not_run_entry, pass_at_k, test_entry, unreadable_line
from ..text import encodable
from .collection import CaseCollector, InvalidRecord, node_names
from .fixtures import REPORT_PROPERTY
from .options import Settings

#: The key of a worker's ``workeroutput`` that carries its collected cases' heads.
HEADS_KEY = "codeverify_heads"
#: The attribute of an unreadable record's collection report that carries its head.
RECORD_ATTRIBUTE = "codeverify_record"


def is_dataset(nodeid: str) -> bool:
    """Whether a node id is of a JSONL dataset (or of something in one)."""
    return nodeid.split("::", 1)[0].endswith((".jsonl", ".jsonl.gz"))


def collected_heads(items: Iterable[pytest.Item]) -> dict[str, dict[str, Any]]:
    """The head of each case the items belong to, by the case's node id."""
    heads: dict[str, dict[str, Any]] = {}
    for item in items:
        parent = item.parent
        if isinstance(parent, CaseCollector) and parent.nodeid not in heads:
            heads[parent.nodeid] = parent.head()
    return heads


def mark_invalid_record(collector: pytest.Collector, report: pytest.CollectReport) -> None:
    """Put an unreadable record's head on its collection report (it travels from xdist workers)."""
    if isinstance(collector, InvalidRecord) and report.failed:
        setattr(report, RECORD_ATTRIBUTE, collector.head())


@dataclass
class TestResult:
    """What the controller learned about one test item."""

    __test__ = False
    verdict: Verdict | None  # None: the test did not run (early stop); ``message`` says why
    time_s: float = 0.0
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)  # a failing test's input, expected, got, ...
    time_limit: float | None = None  # the CPU limit the test ran under (scaled, calibrated)
    calibrated: bool = False
    notes: tuple[str, ...] = ()  # problems of the dataset found running it
    score: float | None = None  # a checker's partial credit for a WA


@dataclass
class CaseLine:
    """One line of the rewards file."""

    path: str
    line: int
    index: int
    data: dict[str, Any]


@dataclass(eq=False)  # registered as a plugin: pytest keeps plugins in sets
class RewardReporter:
    """Collects test reports and writes the rewards summary and file at the end."""

    settings: Settings
    rootdir: Path
    results: dict[str, TestResult] = field(default_factory=dict)
    collect_errors: dict[str, str] = field(default_factory=dict)
    files: dict[str, None] = field(default_factory=dict)  # ordered set of collected file node ids
    collected: set[str] = field(default_factory=set)
    lines: list[CaseLine] = field(default_factory=list)
    order: dict[str, int] = field(default_factory=dict)  # collected node ids of Python tests -> position
    heads: dict[str, dict[str, Any]] = field(default_factory=dict)  # case node id -> its head
    invalid: dict[str, dict[str, Any]] = field(default_factory=dict)  # unreadable record's node id -> head
    file_errors: dict[str, str] = field(default_factory=dict)  # file node id -> why it cannot be read
    collect_only: bool = False
    items: list[pytest.Item] = field(default_factory=list)  # a serial run's items
    verified: list[tuple[str, str]] = field(default_factory=list)  # (node id, report JSON) of Python tests
    formats: dict[str, str] = field(default_factory=dict)  # file node id -> format (and how chosen)

    # -- hooks ------------------------------------------------------------------------------

    @pytest.hookimpl
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        path = report.nodeid.split("::", 1)[0]
        if path.endswith((".jsonl", ".jsonl.gz")):
            self.files.setdefault(path)
            if report.failed and "::" in report.nodeid:
                self.collect_errors[report.nodeid] = str(report.longrepr)
                head = getattr(report, RECORD_ATTRIBUTE, None)
                if isinstance(head, dict):
                    self.invalid.setdefault(report.nodeid, head)
            elif report.failed:
                self.file_errors.setdefault(path, str(report.longrepr))

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collect_only = bool(session.config.option.collectonly)
        # A serial run: the items stay alive to the end, so the collected set and the cases'
        # heads are read from them then, not copied now (100,000 items: tens of MB).
        self.items = session.items
        self.order.update((item.nodeid, position) for position, item in enumerate(session.items)
                          if not is_dataset(item.nodeid))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self._note_collected(ids)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        heads = getattr(node, "workeroutput", {}).get(HEADS_KEY)
        if isinstance(heads, dict):
            self.add_heads(heads)

    def add_heads(self, heads: dict[str, dict[str, Any]]) -> None:
        """Cases' heads by node id (every xdist worker sends all of them: the first one counts)."""
        for nodeid, head in heads.items():
            self.heads.setdefault(nodeid, head)

    def _note_collected(self, ids: Iterable[str]) -> None:
        for nodeid in ids:
            if is_dataset(nodeid):
                self.collected.add(nodeid)
                self.files.setdefault(nodeid.split("::", 1)[0])
            else:
                self.order.setdefault(nodeid, len(self.order))

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown":  # holds every report the test's codeverify.verify() calls made
            self.verified.extend((report.nodeid, str(value)) for name, value in report.user_properties
                                 if name == REPORT_PROPERTY)
        if not is_dataset(report.nodeid) or "::" not in report.nodeid:
            return
        props = dict(report.user_properties)
        if "not_run" in props and report.skipped:
            self.results[report.nodeid] = TestResult(None, 0.0, str(props["not_run"]))
        elif "verdict" in props and (report.when == "call" or (report.when == "setup" and not report.passed)):
            self.results[report.nodeid] = TestResult(Verdict(str(props["verdict"])),
                                                     float(str(props.get("time_s", 0.0))),
                                                     str(props.get("message", "")),
                                                     _evidence(props.get("evidence")),
                                                     _float_or_none(props.get("time_limit")),
                                                     bool(props.get("calibrated")),
                                                     tuple(str(value) for name, value in report.user_properties
                                                           if name == "dataset_problem"),
                                                     _float_or_none(props.get("score")))
        elif report.failed and report.nodeid not in self.results:
            # No verdict: the harness itself failed (a timeout backstop, a crashed worker).
            text = str(report.longrepr).strip().splitlines()
            self.results[report.nodeid] = TestResult(Verdict.SE, 0.0, text[-1][:300] if text else "no result")

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.lines = self.build_lines(session.config) + self.verified_lines()
        if self.settings.run.backend == "unisolated":  # said on every line, so no reader can miss it
            for line in self.lines:
                line.data["isolated"] = False
        if self.settings.run.rewards_path is not None:
            self.write(self.settings.run.rewards_path)
            passk = self.pass_at_k_table()
            if passk:
                sibling = self.settings.run.rewards_path.with_name(self.settings.run.rewards_path.name + ".passk.json")
                sibling.write_text(json.dumps(passk, indent=1) + "\n", encoding="utf-8")

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for line in self.summary():
            terminalreporter.write_line(line)

    # -- building ---------------------------------------------------------------------------

    def build_lines(self, config: pytest.Config) -> list[CaseLine]:
        """The JSONL records' lines, file by file, in input order (nothing for --collect-only)."""
        if self.collect_only:
            return []
        if self.items:  # a serial run (see pytest_collection_finish)
            self._note_collected(item.nodeid for item in self.items if is_dataset(item.nodeid))
            self.add_heads(collected_heads(self.items))
        cases: dict[str, set[str]] = {}  # file node id -> the node ids of its cases with a collected test
        for test_id in self.collected:
            case_id = test_id.rpartition("::")[0]
            cases.setdefault(case_id.split("::", 1)[0], set()).add(case_id)
        invalid: dict[str, list[dict[str, Any]]] = {}
        for nodeid, record in self.invalid.items():
            invalid.setdefault(nodeid.split("::", 1)[0], []).append(record)
        missing = [case_id for ids in cases.values() for case_id in ids if case_id not in self.heads]
        if missing:
            self._read_heads(missing)
        lines: list[CaseLine] = []
        for file_id in self.files:
            if file_id in self.file_errors:  # the file itself is unreadable: already a collection error
                lines.append(CaseLine(file_id, 0, 0, unreadable_line(file_id, self.file_errors[file_id])))
                continue
            mine: list[CaseLine] = []
            found: set[str] = set()
            for record in invalid.get(file_id, ()):
                found.add(str(record.get("format") or ""))
                mine.append(CaseLine(file_id, int(record.get("line") or 0), 0,
                                     unreadable_line(record.get("id"), record.get("error"), record.get("line"))))
            for case_id in cases.get(file_id, ()):
                head = self.heads.get(case_id)
                if head is None:
                    continue
                found.add(str(head.get("format") or ""))
                line = self._case_line(head, case_id)
                if line is not None:
                    mine.append(CaseLine(file_id, int(head["line"]), int(head["index"]), line))
            mine.sort(key=lambda line: (line.line, line.index))
            lines.extend(mine)
            how = "detected" if self.settings.run.format == "auto" else "chosen"
            self.formats[file_id] = f"{', '.join(sorted(found - {''})) or 'none'} ({how})"
        return lines

    def _read_heads(self, case_ids: list[str]) -> None:
        """Heads no worker delivered (every worker lost, an interrupted session): read from the files."""
        wanted = set(case_ids)
        for file_id in dict.fromkeys(case_id.split("::", 1)[0] for case_id in case_ids):
            try:
                records = load_file(self.rootdir / file_id, self.settings.run.format, self.settings.defaults,
                                    display_path=file_id)
                for _record, case, name, _error in node_names(records):
                    nodeid = f"{file_id}::{name}"
                    if case is not None and nodeid in wanted:
                        self.heads[nodeid] = CaseCollector.head_of(case)
            except Exception:  # the file changed or went: those tests keep no line
                continue

    def _case_line(self, head: dict[str, Any], node: str) -> dict[str, Any] | None:
        tests = []
        limits: dict[float, None] = {}
        notes: dict[str, None] = {}
        calibrated = False
        for name, limit in head["tests"].items():
            test_id = f"{node}::{name}"
            if test_id not in self.collected:
                continue
            result = self.results.get(test_id) or TestResult(Verdict.SE, 0.0, "no result was reported")
            if result.verdict is None:
                tests.append(not_run_entry(name, result.message))
                continue
            tests.append(test_entry(name, result.verdict, result.time_s, result.message, result.evidence,
                                    score=result.score))
            limits[result.time_limit if result.time_limit is not None else float(limit)] = None
            notes.update(dict.fromkeys(result.notes))
            calibrated = calibrated or result.calibrated
        if not tests:
            return None  # deselected
        # The limits the workers actually used: calibration happens there, not here.
        extra: dict[str, Any] = {"time_limit": next(iter(limits)) if len(limits) == 1 else list(limits)}
        if calibrated:
            extra["calibrated"] = True
        if notes:
            extra["dataset_problems"] = list(notes)
        return head_line(head, tests, self.settings.run.reward_mode, extra)

    def verified_lines(self) -> list[CaseLine]:
        """The reports of Python tests' ``verify`` calls, after the JSONL records, in test order."""
        ordered = sorted(self.verified, key=lambda item: self.order.get(item[0], len(self.order)))
        return [CaseLine(nodeid.split("::", 1)[0], 0, index, json.loads(data))
                for index, (nodeid, data) in enumerate(ordered)]

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            for line in self.lines:
                # encodable: a lone surrogate in a dataset's text must not stop the file being written.
                handle.write(encodable(json.dumps(line.data, ensure_ascii=False)) + "\n")

    # -- summary ----------------------------------------------------------------------------

    def summary(self) -> list[str]:
        if not self.lines:
            return []
        problems = {(c.get("problem_id"), note) for c in (line.data for line in self.lines)
                    for note in c.get("dataset_problems", ())}
        cases = [line.data for line in self.lines]
        scored = [c["reward"] for c in cases if c["reward"] is not None]
        counts = Counter(t["verdict"] for c in cases for t in c["tests"])
        errors = sum(1 for c in cases if c.get("error") and not c["tests"])
        out = ["", "codeverify: "
               f"{len(cases)} record(s), mean reward "
               f"{(sum(scored) / len(scored)) if scored else float('nan'):.4f} over {len(scored)} scored, "
               f"{sum(1 for c in cases if c['verdict'] == 'AC')} fully passed "
               f"({sum(1 for c in cases if c['verdict'] == 'AC') / len(cases):.1%})"]
        if self.settings.run.backend == "unisolated":
            out.append("  *** NO ISOLATION: candidates ran with rlimits only (--codeverify-backend unisolated) ***")
        if counts:
            out.append("  verdicts: " + ", ".join(f"{v.value} {counts[v.value]}" for v in Verdict if counts[v.value]))
        if counts[None]:
            out.append(f"  {counts[None]} test(s) not run: their record's reward was decided by a failing test "
                       "(early stop, --codeverify-early-stop)")
        unscored = len(cases) - len(scored) - errors
        if unscored:
            out.append(f"  {unscored} record(s) have reward null: a sandbox failure (SE), not the candidate's")
        if errors:
            out.append(f"  {errors} record(s) could not be read (see the collection errors above)")
        out.extend(f"  format: {file_id}: {how}" for file_id, how in self.formats.items())
        out.extend(f"  dataset problem: {problem}: {note}" for problem, note in sorted(problems, key=str))
        out.extend(self._pass_at_k())
        slow = sorted(((t["time_s"], f"{c['id']}::{t['name']}", t["verdict"]) for c in cases for t in c["tests"]
                       if t["time_s"] is not None), reverse=True)[:5]
        if slow and slow[0][0] > 0:
            out.append("  slowest: " + ", ".join(f"{name} {seconds:.3f}s {verdict}" for seconds, name, verdict in slow))
        if self.settings.run.rewards_path is not None:
            out.append(f"  rewards written to {self.settings.run.rewards_path}")
        return out

    def pass_at_k_table(self) -> dict[str, Any]:
        """Unbiased pass@k over problems with several samples, for each k every problem has samples for.

        ``{"problems": N, "samples": {problem: n}, "pass@k": {"1": score, ...}, "per_problem": {...}}``;
        empty when no problem has two or more scored samples.
        """
        by_problem: dict[str, list[bool]] = {}
        for line in self.lines:
            case = line.data
            if case["tests"] and case["reward"] is not None:
                by_problem.setdefault(str(case["problem_id"]), []).append(case["verdict"] == "AC")
        if not by_problem or max(len(v) for v in by_problem.values()) < 2:
            return {}
        ks = [k for k in self.settings.run.pass_k if all(len(v) >= k for v in by_problem.values())]
        per_problem = {problem: {"n": len(v), "c": sum(v),
                                 **{f"pass@{k}": pass_at_k(len(v), sum(v), k) for k in ks}}
                       for problem, v in by_problem.items()}
        scores = {f"pass@{k}": sum(p[f"pass@{k}"] for p in per_problem.values()) / len(per_problem) for k in ks}
        return {"problems": len(by_problem), "pass@k": scores, "per_problem": per_problem}

    def _pass_at_k(self) -> list[str]:
        table = self.pass_at_k_table()
        if not table or not table["pass@k"]:
            return []
        parts = [f"{name} {score:.4f}" for name, score in table["pass@k"].items()]
        return [f"  {table['problems']} problem(s): " + ", ".join(parts)]


def _float_or_none(value: object) -> float | None:
    try:
        return float(str(value)) if value is not None else None
    except ValueError:
        return None


def _evidence(value: object) -> dict[str, Any]:
    """A failing test's evidence from its JSON text property (nothing when absent or unreadable)."""
    if not isinstance(value, str):
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return {str(k): v for k, v in data.items()} if isinstance(data, dict) else {}
