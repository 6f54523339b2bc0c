"""pytest collection: JSONL file -> one collector per case -> one item per test."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ..calibration import reference_limit
from ..cases import AssertTest, CallTest, Case, CaseError, StdioTest, TestSpec
from ..config import wall_cap, wall_limit
from ..evidence import failure_evidence
from ..formats import Record, load_file
from ..judge import Outcome
from ..protocol import Verdict
from ..rewards import case_head, decides_reward, early_stop_reason
from ..sandbox.base import RESULT_GRACE_S
from ..text import encodable, printable
from .options import SETTINGS_KEY
from .worker import settings_of, worker_calibrator, worker_sandbox

if TYPE_CHECKING:
    from _pytest._code.code import ExceptionInfo, TerminalRepr


def node_names(records: Iterable[Record]) -> Iterator[tuple[Record, Case | None, str, CaseError | None]]:
    """Stable, unique node names: ``(record, case, name, error)`` for each case or bad record.

    The controller's reporter calls this on the same file to map node ids back to records, so
    collection and reporting always agree.
    """
    seen: dict[str, int] = {}
    for record in records:
        if record.error is not None:
            yield record, None, f"line{record.line}", record.error
            continue
        for case in record.cases:
            ambiguous = [name for name in (case.id, *map(case.test_name, range(len(case.tests)))) if "::" in name]
            if ambiguous:
                # "::" separates node id parts: a record "a::b" and a record "a" with a test
                # "b::c" would share node ids and merge their results.
                error = CaseError(f"{ambiguous[0]!r} contains '::', which separates the parts of a test's id; "
                                  "rename it", path=record.path, line=record.line,
                                  field="id" if ambiguous[0] == case.id else "tests")
                yield record, None, f"line{record.line}", error
                continue
            if case.id in seen:
                error = CaseError(f"duplicate id {case.id!r} (first used on line {seen[case.id]})",
                                  path=record.path, line=record.line, field="id")
                yield record, None, f"line{record.line}", error
                continue
            seen[case.id] = record.line
            yield record, case, case.id, None


class JsonlFile(pytest.File):
    """A JSONL dataset given on the command line."""

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        settings = self.config.stash[SETTINGS_KEY]
        try:
            records = list(load_file(self.path, settings.run.format, settings.defaults, display_path=self.nodeid))
        except CaseError as exc:
            raise self.CollectError(str(exc)) from None
        if not records:
            self.warn(pytest.PytestWarning(f"{self.nodeid}: the file holds no records; nothing to verify"))
            return
        for record, case, name, error in node_names(records):
            if case is None:
                yield InvalidRecord.from_parent(self, name=name, error=error, record_id=record.id, line=record.line,
                                                format=record.format)
            else:
                yield CaseCollector.from_parent(self, name=name, case=case)


class LazyContainer:
    """An attribute pytest gives every node as an empty container, made only when first used.

    pytest sets ``extra_keyword_matches``, ``user_properties`` and ``_report_sections`` to a new
    empty set or list on each node; with 100,000 items, those empty containers alone weigh over
    30 MB. Setting one to an empty container of its kind stores nothing; reading it makes (and
    keeps) one, so code that appends through the attribute works as before.
    """

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory
        self.kind = type(factory())
        self.key = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = f"_lazy_{name}"

    # Attributes, not ``node.__dict__``: reading a node's __dict__ would make Python build a
    # dict object for it, which costs more than the container spared.
    def __get__(self, node: Any, owner: type | None = None) -> Any:
        if node is None:
            return self
        stored = getattr(node, self.key, None)
        if stored is None:
            stored = self.factory()
            object.__setattr__(node, self.key, stored)
        return stored

    def __set__(self, node: Any, value: Any) -> None:
        if type(value) is self.kind and not value and getattr(node, self.key, None) is None:
            return  # pytest's empty default: made on first use instead
        object.__setattr__(node, self.key, value)


class InvalidRecord(pytest.Collector):
    """A record that could not become a case: a collection error naming file, line and field."""

    def __init__(self, *, error: CaseError | None, record_id: str = "", line: int = 0, format: str = "",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error
        self.record_id = record_id
        self.line = line
        self.format = format

    def head(self) -> dict[str, Any]:
        """What the rewards line of this record needs, as JSON values (it rides on the collection
        report, so an xdist controller learns it without reading the dataset)."""
        return {"id": self.record_id, "line": self.line, "format": self.format, "error": str(self.error)}

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        raise self.CollectError(str(self.error))

    def repr_failure(self, excinfo: ExceptionInfo[BaseException]) -> str | TerminalRepr:  # type: ignore[override]
        return str(self.error)


class CaseCollector(pytest.Collector):
    """One candidate program with its tests."""

    extra_keyword_matches = LazyContainer(set)
    _report_sections = LazyContainer(list)

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        #: Set (in the worker running its tests) once a failing test settled the reward in
        #: early-stop mode: why the remaining tests do not run.
        self.decided = ""

    def head(self) -> dict[str, Any]:
        """What the rewards line of this case needs, as JSON values: the case's own part (see
        :func:`~pytest_codeverify.rewards.case_head`), where it is in its file, and its tests'
        names and limits (for a test that never reported)."""
        return self.head_of(self.case)

    @staticmethod
    def head_of(case: Case) -> dict[str, Any]:
        """:meth:`head` of the collector ``case`` would have."""
        return {**case_head(case), "line": case.line, "index": case.index, "format": case.format,
                "tests": {case.test_name(i): case.limit_for(test) for i, test in enumerate(case.tests)}}

    def collect(self) -> Iterable[pytest.Item]:
        case = self.case
        calibrate = settings_of(self.config).run.calibrate
        backstops = {backstop(case, test, calibrate) for test in case.tests}
        # Tests sharing one backstop share its mark too, here on their collector (pytest-timeout
        # finds it from the item): a mark on each item would be a good part of its memory.
        shared = len(backstops) == 1
        if shared:
            self.add_marker(_timeout_mark(backstops.pop()))
        for position in range(len(case.tests)):
            # Interned: most names are test_0, test_1, ... in every case, one string each.
            yield CodeverifyItem.from_parent(self, name=sys.intern(case.test_name(position)), case=case,
                                             position=position, shared_backstop=shared)


def backstop(case: Case, test: TestSpec, calibrate: bool) -> float:
    """The pytest-timeout limit of a test: beyond the runner's own wall limit (extended while a
    job is starved of CPU) and the harness's wait for its answer."""
    limit = case.limit_for(test)
    seconds = wall_cap(limit, wall_limit(limit)) + RESULT_GRACE_S + 10
    if case.reference is not None and calibrate:
        # The first test of a problem may run its reference through every test first.
        reference = reference_limit(limit)
        seconds += len(case.tests) * (wall_cap(reference, wall_limit(reference)) + RESULT_GRACE_S) + seconds
    return seconds


class VerdictFailure(Exception):
    """Raised by an item whose test did not pass."""


class CodeverifyItem(pytest.Item):
    """One test of one case, run in this worker's sandbox.

    Holds little of its own: the case (shared by its tests) and its position in it.
    """

    extra_keyword_matches = LazyContainer(set)
    own_markers = LazyContainer(list)
    user_properties = LazyContainer(list)
    _report_sections = LazyContainer(list)
    #: The test's outcome, once it ran.
    outcome: Outcome | None = None
    #: The item pytest runs after this one (set by the plugin's runtest-protocol hook).
    next_item: pytest.Item | None = None

    def __init__(self, *, case: Case, position: int, shared_backstop: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.position = position
        if not shared_backstop:
            self.add_marker(_timeout_mark(backstop(case, self.test, settings_of(self.config).run.calibrate)))

    @property
    def test(self) -> TestSpec:
        """The test this item runs."""
        return self.case.tests[self.position]

    def setup(self) -> None:
        """Run and judge the test; a sandbox failure here makes the item an error, not a failure."""
        run = settings_of(self.config).run
        record = self.parent if isinstance(self.parent, CaseCollector) else None
        if record is not None and record.decided:
            self.user_properties.extend([("not_run", record.decided), ("record", self.case.id)])
            pytest.skip(record.decided)
        case = self.case
        if case.reference is not None and run.calibrate:
            case = worker_calibrator(self.config).calibrate(case)
        outcome = worker_sandbox(self.config).run_test(case, self.test, self._then(run.calibrate))
        self.outcome = outcome
        if record is not None and run.early_stop and decides_reward(outcome.verdict):
            record.decided = early_stop_reason(self.name, outcome.verdict)
        self.user_properties.extend([
            ("verdict", outcome.verdict.value), ("time_s", outcome.time_s),
            ("record", case.id), ("problem_id", case.problem_id), ("time_limit", case.limit_for(self.test)),
        ])
        if outcome.score is not None:
            self.user_properties.append(("score", outcome.score))
        if case.calibrated_limit is not None:
            self.user_properties.append(("calibrated", True))
        for note in case.notes:
            self.user_properties.append(("dataset_problem", encodable(note)))
        if outcome.message:
            # Only encodable text may travel to the xdist controller (a lone surrogate in a
            # candidate's exception message once crashed the whole session).
            self.user_properties.append(("message", encodable(outcome.message[:500])))
        if not outcome.passed:  # JSON text: only built-in values may travel from xdist workers
            self.user_properties.append(("evidence", json.dumps(failure_evidence(self.case, self.test, outcome))))
        if outcome.verdict is Verdict.SE:
            # pytrace=False: show the explanation, not a traceback of the plugin (and fast).
            pytest.fail(self._explain(outcome), pytrace=False)

    def _then(self, calibrate: bool) -> tuple[Case, TestSpec] | None:
        """The next item's test, to start in the sandbox while this one is judged (not when its
        limit is still to be calibrated: its job is not known yet)."""
        following = self.next_item
        if not isinstance(following, CodeverifyItem) or (calibrate and following.case.reference is not None):
            return None
        return following.case, following.test

    def runtest(self) -> None:
        assert self.outcome is not None
        if not self.outcome.passed:
            raise VerdictFailure(self.outcome.verdict.value)

    def repr_failure(self, excinfo: ExceptionInfo[BaseException],
                     style: Any = None) -> str | TerminalRepr:
        # Never the default traceback rendering: it costs ~0.1 s per failure and shows the
        # plugin's frames, not the candidate's problem.
        if isinstance(excinfo.value, VerdictFailure) and self.outcome is not None:
            return self._explain(self.outcome)
        return printable(f"{type(excinfo.value).__name__}: {excinfo.value}")

    def _explain(self, outcome: Outcome) -> str:
        """The failure text; escaped, since candidate output must never drive the terminal."""
        return printable(self._describe(outcome))

    def _describe(self, outcome: Outcome) -> str:
        lines = [f"{outcome.verdict.value}: {outcome.message}".rstrip(": ")]
        test = self.test
        if isinstance(test, StdioTest) and self.case.interactor is not None:
            # The candidate never read the input: the interactor did; "sent" is what it wrote.
            lines.append(f"input:    {_excerpt(test.input)} (the interactor's)")
            lines.append(f"sent:     {_excerpt(outcome.stdout)}")
        elif isinstance(test, StdioTest):
            lines.append(f"input:    {_excerpt(test.input)}")
            lines.append(f"expected: {_excerpt(test.output)}")
            lines.append(f"got:      {_excerpt(outcome.stdout)}")
        elif isinstance(test, CallTest):
            call = ", ".join([repr(a) for a in test.args] + [f"{k}={v!r}" for k, v in test.kwargs.items()])
            lines.append(f"call:     {self.case.entry_point}({_excerpt(call, 160)[1:-1]})")
            lines.append(f"expected: {_excerpt(outcome.expected, 160)[1:-1]}")
            if outcome.verdict is Verdict.WA:
                lines.append(f"got:      {_excerpt(outcome.stdout, 160)[1:-1]}")
        elif isinstance(test, AssertTest):
            lines.append(f"test:     {_excerpt(test.code, 160)}")
        if outcome.stderr.strip():
            tail = outcome.stderr.rstrip().splitlines()[-6:]
            lines.append("stderr (tail):")
            lines.extend(f"    {line[:200]}" for line in tail)
        return "\n".join(lines)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, max(self.case.line - 1, 0), f"{self.case.id}::{self.name}"


@functools.lru_cache(maxsize=256)
def _timeout_mark(seconds: float) -> pytest.MarkDecorator:
    return pytest.mark.timeout(seconds, method="signal")


def _excerpt(text: str, limit: int = 120) -> str:
    shown = repr(text)
    return shown if len(shown) <= limit else shown[:limit - 4] + "...'"
