"""The engine: run a case's tests in a sandbox and judge them. No pytest here.

The plugin, the HTTP server and scripts all verify through these functions, so a verdict
means the same thing wherever it was produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .cases import AssertTest, CallTest, Case, StdioTest, TestSpec
from .judge import Outcome, Verdict, case_verdict, judge, reward
from .protocol import Job, UnsupportedValue, encode_value
from .sandbox.base import Sandbox, SandboxError

#: The wall-clock backstop, as a multiple of the CPU limit plus slack: generous enough that
#: a loaded machine does not turn valid programs into TLEs, tight enough that a sleeping or
#: blocked program cannot hold a worker for long.
WALL_FACTOR = 2.0
WALL_SLACK_S = 1.0


def wall_limit(cpu_limit: float) -> float:
    """The wall-clock backstop of a job with this CPU limit."""
    return cpu_limit * WALL_FACTOR + WALL_SLACK_S


def job_limits(cpu_limit: float, memory_limit_mb: int, output_limit: int, language: str) -> dict[str, Any]:
    """A :class:`Job`'s limit fields: CPU seconds with their wall-clock backstop, memory, output."""
    return dict(cpu_limit=cpu_limit, wall_limit=wall_limit(cpu_limit),
                memory_limit_mb=memory_limit_mb, output_limit=output_limit, language=language)


def make_job(case: Case, test: TestSpec, output_limit: int = 1 << 20) -> Job:
    """The sandbox job for one test of a case (the expected value is left out on purpose)."""
    if case.code is None:
        raise ValueError("the case has no code to run")
    common: dict[str, Any] = dict(code=case.code, **job_limits(case.limit_for(test), case.memory_limit,
                                                                output_limit, case.language))
    if isinstance(test, StdioTest):
        return Job(mode="stdin", stdin=test.input.encode(), **common)
    if isinstance(test, CallTest):
        return Job(mode="call", entry_point=case.entry_point, args=encode_value(list(test.args)),
                   kwargs=encode_value(dict(test.kwargs)), args_source=test.args_source, **common)
    if isinstance(test, AssertTest):
        return Job(mode="assert", setup=case.setup_code, assert_code=test.code, entry_point=case.entry_point,
                   **common)
    raise TypeError(f"unknown test type {type(test).__name__}")


def run_test(sandbox: Sandbox, case: Case, test: TestSpec, output_limit: int = 1 << 20) -> Outcome:
    """Run and judge one test. Never raises for the candidate's or the sandbox's failures."""
    if case.code is None:
        return Outcome(Verdict.CE, case.code_error or "no code to run")
    try:
        job = make_job(case, test, output_limit)
    except UnsupportedValue as exc:
        return Outcome(Verdict.SE, f"the test's arguments cannot be sent to the sandbox: {exc}")
    try:
        raw = sandbox.run(job)
    except SandboxError as exc:
        return Outcome(Verdict.SE, f"sandbox failure ({sandbox.name}): {exc}")
    return judge(case, test, raw)


@dataclass(frozen=True)
class TestReport:
    """One test's result within a :class:`CaseReport`."""

    __test__ = False
    name: str
    outcome: Outcome

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "verdict": self.outcome.verdict.value, "time_s": self.outcome.time_s}


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
        return reward([t.outcome.verdict for t in self.tests], self.reward_mode)

    def to_dict(self) -> dict[str, Any]:
        """The rewards-file line for this case."""
        line: dict[str, Any] = {
            "id": self.case.id, "problem_id": self.case.problem_id, "reward": self.reward,
            "passed": self.passed, "total": self.total, "verdict": self.verdict.value,
            "tests": [t.to_dict() for t in self.tests],
        }
        if self.case.extracted is not None:
            line["extracted"] = self.case.extracted
        if self.case.code_error:
            line["error"] = self.case.code_error
        line.update(self.extra)
        return line

    def explain(self) -> str:
        """A human-readable account of every test that did not pass."""
        lines = [f"{self.case.id}: {self.verdict.value}, {self.passed}/{self.total} passed, reward {self.reward}"]
        for test in self.tests:
            if not test.outcome.passed:
                lines.append(f"  {test.name}: {test.outcome.verdict.value} {test.outcome.message}".rstrip())
        return "\n".join(lines)


def unreadable_line(record_id: str | None, error: object) -> dict[str, Any]:
    """The rewards line of a record that could not be read: no tests, ``reward`` null, the error."""
    return {"id": record_id, "problem_id": record_id, "reward": None, "passed": 0, "total": 0, "verdict": None,
            "tests": [], "error": str(error)}


def verify_case(sandbox: Sandbox, case: Case, reward_mode: str = "fraction",
                output_limit: int = 1 << 20) -> CaseReport:
    """Run every test of ``case`` and return its report."""
    reports = tuple(TestReport(case.test_name(position), run_test(sandbox, case, test, output_limit))
                    for position, test in enumerate(case.tests))
    return CaseReport(case, reports, reward_mode)
