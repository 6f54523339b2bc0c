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
from .evidence import failure_evidence
from .interaction import run_interactive
from .judge import Outcome, judge
from .judge.checkers import Checker, checker_job, checker_verdict
from .judge.verdicts import classify
from .protocol import Job, Mode, RawResult, UnsupportedValue, Verdict, encode_value
from .rewards import case_line, case_verdict, reward, test_entry
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


def execute(backend: Backend, job: Job) -> RawResult | SandboxFailure:
    """Run one job; a failure of the sandbox itself comes back as :class:`SandboxFailure`.

    The one place where "run, and on a sandbox failure give ``SE``" is written.
    """
    try:
        return backend.run(job)
    except SandboxError as exc:
        return SandboxFailure(f"sandbox failure ({getattr(backend, 'name', '?')}): {exc}")


def run_test(backend: Backend, case: Case, test: TestSpec, output_limit: int = DEFAULT_OUTPUT_LIMIT) -> Outcome:
    """Run and judge one test. Never raises for the candidate's or the sandbox's failures."""
    if case.code is None:
        return Outcome(Verdict.CE, case.code_error or "no code to run")
    if case.interactor is not None and isinstance(test, StdioTest):
        return run_interactive(backend, case, test, output_limit)
    try:
        job = make_job(case, test, output_limit)
    except UnsupportedValue as exc:
        return Outcome(Verdict.SE, f"the test's arguments cannot be sent to the sandbox: {exc}")
    raw = execute(backend, job)
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
    """One test's result within a :class:`CaseReport`."""

    __test__ = False
    name: str
    outcome: Outcome
    #: The case and test judged: when given, a failing test's entry carries its evidence.
    case: Case | None = None
    test: TestSpec | None = None

    def to_dict(self) -> dict[str, Any]:
        """This test's entry in the rewards line."""
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
    def verdict(self) -> Verdict:
        return case_verdict([t.outcome.verdict for t in self.tests])

    @property
    def passed(self) -> int:
        return sum(t.outcome.passed for t in self.tests)

    @property
    def total(self) -> int:
        return len(self.tests)

    @property
    def reward(self) -> float | None:
        return reward([t.outcome.verdict for t in self.tests], self.reward_mode,
                      [t.outcome.score for t in self.tests])

    def to_dict(self) -> dict[str, Any]:
        """The rewards-file line for this case."""
        return case_line(self.case, (t.to_dict() for t in self.tests), self.reward_mode, self.extra)

    def explain(self) -> str:
        """A human-readable account of every test that did not pass."""
        lines = [f"{self.case.id}: {self.verdict.value}, {self.passed}/{self.total} passed, reward {self.reward}"]
        for test in self.tests:
            if not test.outcome.passed:
                lines.append(f"  {test.name}: {test.outcome.verdict.value} {test.outcome.message}".rstrip())
        return "\n".join(lines)


def verify_case(backend: Backend, case: Case, reward_mode: str = "fraction",
                output_limit: int = DEFAULT_OUTPUT_LIMIT) -> CaseReport:
    """Run every test of ``case`` and return its report."""
    reports = tuple(TestReport(case.test_name(position), run_test(backend, case, test, output_limit), case, test)
                    for position, test in enumerate(case.tests))
    return CaseReport(case, reports, reward_mode)
