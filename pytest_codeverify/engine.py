"""The engine: run a case's tests in a sandbox and judge them. No pytest here.

The plugin, the HTTP server, the CLI and the Python API all verify through these functions,
so a verdict means the same thing wherever it was produced. Data flows one way:
case -> job (:func:`make_job`) -> raw result (:func:`execute`) -> verdict (:mod:`.judge`)
-> reward and rewards line (:mod:`.rewards`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from .cases import AssertTest, CallTest, Case, StdioTest, TestSpec
from .config import DEFAULT_OUTPUT_LIMIT, wall_limit
from .config import early_stop as stops_early
from .evidence import failure_evidence
from .judge import Outcome, judge
from .judge.checkers import Checker, checker_job, checker_verdict
from .judge.verdicts import classify
from .protocol import Job, Mode, RawResult, UnsupportedValue, Verdict, encode_value
from .rewards import (
    case_line,
    case_verdict,
    decides_reward,
    early_stop_reason,
    not_run_entry,
    reward,
    test_entry,
)
from .sandbox.base import Sandbox as Backend
from .sandbox.base import SandboxError


def job_limits(cpu_limit: float, memory_limit_mb: int, output_limit: int, language: str) -> dict[str, Any]:
    """A :class:`Job`'s limit fields: CPU seconds with their wall-clock backstop, memory, output."""
    return dict(cpu_limit=cpu_limit, wall_limit=wall_limit(cpu_limit),
                memory_limit_mb=memory_limit_mb, output_limit=output_limit, language=language)


def make_job(case: Case, test: TestSpec, output_limit: int = DEFAULT_OUTPUT_LIMIT) -> Job:
    """The sandbox job for one test of a case (the expected value is left out on purpose)."""
    if case.code is None:
        raise ValueError("the case has no code to run")
    common: dict[str, Any] = dict(code=case.code, **job_limits(case.limit_for(test), case.memory_limit,
                                                                output_limit, case.language))
    if isinstance(test, StdioTest):
        return Job(mode=Mode.STDIN.value, stdin=test.input.encode("utf-8", "surrogateescape"), **common)
    if isinstance(test, CallTest):
        return Job(mode=Mode.CALL.value, entry_point=case.entry_point, args=encode_value(list(test.args)),
                   kwargs=encode_value(dict(test.kwargs)), args_source=test.args_source, **common)
    if isinstance(test, AssertTest):
        return Job(mode=Mode.ASSERT.value, setup=case.setup_code, assert_code=test.code,
                   entry_point=case.entry_point, **common)
    raise TypeError(f"unknown test type {type(test).__name__}")


@dataclass(frozen=True)
class SandboxFailure:
    """A job the sandbox could not run: the test's verdict is ``SE``, never the candidate's fault."""

    message: str


def execute(backend: Backend, job: Job, follow: Job | None = None) -> RawResult | SandboxFailure:
    """Run one job; a failure of the sandbox itself comes back as :class:`SandboxFailure`.

    The one place where "run, and on a sandbox failure give ``SE``" is written. ``follow``: the
    job likely asked for next, started while this one's result is judged (see
    :meth:`~pytest_codeverify.sandbox.base.Sandbox.run`).
    """
    try:
        # Without a follow-up, the one-argument call that every backend answers.
        return backend.run(job, follow) if follow is not None else backend.run(job)
    except SandboxError as exc:
        return SandboxFailure(f"sandbox failure ({getattr(backend, 'name', '?')}): {exc}")


def follow_job(case: Case | None, test: TestSpec | None, output_limit: int = DEFAULT_OUTPUT_LIMIT) -> Job | None:
    """The job of a test likely to run next, to start early; ``None`` when it has none or needs
    more than one job (a checker's)."""
    if case is None or test is None or case.code is None or case.checker is not None:
        return None
    try:
        return make_job(case, test, output_limit)
    except (UnsupportedValue, ValueError, TypeError):
        return None


def run_test(backend: Backend, case: Case, test: TestSpec, output_limit: int = DEFAULT_OUTPUT_LIMIT,
             then: tuple[Case, TestSpec] | None = None) -> Outcome:
    """Run and judge one test. Never raises for the candidate's or the sandbox's failures.

    ``then``: the test likely to run next; its job starts in the sandbox while this one is
    judged, and runs only once (its own :func:`run_test` takes the result).
    """
    if case.code is None:
        return Outcome(Verdict.CE, case.code_error or "no code to run")
    try:
        job = make_job(case, test, output_limit)
    except UnsupportedValue as exc:
        return Outcome(Verdict.SE, f"the test's arguments cannot be sent to the sandbox: {exc}")
    follow = follow_job(*then, output_limit) if then is not None and case.checker is None else None
    raw = execute(backend, job, follow)
    if isinstance(raw, SandboxFailure):
        return Outcome(Verdict.SE, raw.message)
    if case.checker is not None and isinstance(test, StdioTest) and \
            classify(raw, time_limit=case.limit_for(test), memory_limit=case.memory_limit) is None:
        return run_checker(backend, case.checker, test, raw)
    return judge(case, test, raw)


def run_checker(backend: Backend, checker: Checker, test: StdioTest, raw: RawResult) -> Outcome:
    """Judge a clean run's output with the problem's checker, in a job of its own.

    Runs after the candidate's job, whose processes and files the runner has removed by then,
    so nothing of the candidate's sees the checker, the expected answer or another test.
    """
    stdout = raw.stdout.decode("utf-8", errors="replace")
    stderr = raw.stderr.decode("utf-8", errors="replace")
    mark = secrets.token_hex(16)
    checked = execute(backend, checker_job(checker, test.input, stdout, test.output, mark))
    if isinstance(checked, SandboxFailure):
        return Outcome(Verdict.SE, f"the checker could not run: {checked.message}", round(raw.cpu_s, 6),
                       stdout, stderr, test.output)
    found = checker_verdict(checker, checked, mark)
    return Outcome(found.verdict, found.message, round(raw.cpu_s, 6), stdout, stderr, test.output,
                   found.score if found.verdict is Verdict.WA else None)


@dataclass(frozen=True)
class TestReport:
    """One test's result within a :class:`CaseReport`; ``outcome`` is ``None`` for a test that
    did not run because the record's reward was already decided (early stop)."""

    __test__ = False
    name: str
    outcome: Outcome | None
    #: The case and test judged: when given, a failing test's entry carries its evidence.
    case: Case | None = None
    test: TestSpec | None = None
    #: Why the test did not run (with ``outcome`` ``None``).
    not_run: str = ""

    def to_dict(self) -> dict[str, Any]:
        """This test's entry in the rewards line."""
        if self.outcome is None:
            return not_run_entry(self.name, self.not_run)
        evidence = failure_evidence(self.case, self.test, self.outcome) if self.case is not None else None
        return test_entry(self.name, self.outcome.verdict, self.outcome.time_s, self.outcome.message, evidence,
                          score=self.outcome.score)


@dataclass(frozen=True)
class CaseReport:
    """A case's per-test results, verdict and reward."""

    case: Case
    tests: tuple[TestReport, ...]
    reward_mode: str = "fraction"
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ran(self) -> list[Outcome]:
        """The outcomes of the tests that ran."""
        return [t.outcome for t in self.tests if t.outcome is not None]

    @property
    def not_run(self) -> int:
        """How many tests did not run (early stop)."""
        return len(self.tests) - len(self.ran)

    @property
    def verdict(self) -> Verdict:
        return case_verdict([o.verdict for o in self.ran])

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.ran)

    @property
    def total(self) -> int:
        return len(self.tests)

    @property
    def reward(self) -> float | None:
        ran = self.ran
        return reward([o.verdict for o in ran], self.reward_mode, [o.score for o in ran])

    def to_dict(self) -> dict[str, Any]:
        """The rewards-file line for this case."""
        return case_line(self.case, (t.to_dict() for t in self.tests), self.reward_mode, self.extra)

    def explain(self) -> str:
        """A human-readable account of every test that did not pass."""
        lines = [f"{self.case.id}: {self.verdict.value}, {self.passed}/{self.total} passed, reward {self.reward}"]
        for test in self.tests:
            if test.outcome is None:
                lines.append(f"  {test.name}: {test.not_run}")
            elif not test.outcome.passed:
                lines.append(f"  {test.name}: {test.outcome.verdict.value} {test.outcome.message}".rstrip())
        return "\n".join(lines)


def verify_case(backend: Backend, case: Case, reward_mode: str = "fraction",
                output_limit: int = DEFAULT_OUTPUT_LIMIT, early_stop: bool | None = None) -> CaseReport:
    """Run the tests of ``case`` and return its report.

    ``early_stop`` (default: on in ``all`` mode): once a test fails, the reward is 0 whatever
    the rest do, so they are reported as not run instead of running.
    """
    stop = stops_early(early_stop, reward_mode, "early_stop")
    reports: list[TestReport] = []
    decided = ""
    for position, test in enumerate(case.tests):
        name = case.test_name(position)
        if decided:
            reports.append(TestReport(name, None, case, test, not_run=decided))
            continue
        then = (case, case.tests[position + 1]) if position + 1 < len(case.tests) else None
        outcome = run_test(backend, case, test, output_limit, then)
        reports.append(TestReport(name, outcome, case, test))
        if stop and decides_reward(outcome.verdict):
            decided = early_stop_reason(name, outcome.verdict)
    return CaseReport(case, tuple(reports), reward_mode)
