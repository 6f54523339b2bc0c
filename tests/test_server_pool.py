"""The server's sandbox pool and the shared verdict rules, without HTTP."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pytest_codeverify.judge import Verdict, classify
from pytest_codeverify.protocol import RawResult
from pytest_codeverify.server.pool import PoolFull, SandboxPool


class FakeSandbox:
    """Runs jobs as plain functions; counts starts and closes."""

    name = "fake"
    description = "fake sandbox"

    def __init__(self, backend: str) -> None:
        self.restarts = 0
        self.started = self.closed = False

    def start(self) -> None:
        self.started = True

    def close(self) -> None:
        self.closed = True


def make_pool(workers: int = 1, max_queue: int = 1) -> tuple[SandboxPool, list[FakeSandbox]]:
    made: list[FakeSandbox] = []

    def factory(backend: str) -> Any:
        made.append(FakeSandbox(backend))
        return made[-1]

    pool = SandboxPool("fake", workers, max_queue, factory=factory)
    pool.start()
    return pool, made


def test_admission_is_bounded_by_workers_plus_queue() -> None:
    pool, _ = make_pool(workers=2, max_queue=1)
    try:
        for _ in range(3):
            pool.admit()
        with pytest.raises(PoolFull):
            pool.admit()
        pool.release()
        pool.admit()
        assert pool.in_flight == 3
    finally:
        pool.close()


def test_a_job_cancelled_before_it_starts_never_runs() -> None:
    pool, sandboxes = make_pool(workers=1)
    gate, ran = threading.Event(), []
    try:
        blocker = pool.submit(lambda sandbox: gate.wait(30))
        queued = pool.submit(lambda sandbox: ran.append("queued"))
        assert queued.cancel()
        after = pool.submit(lambda sandbox: ran.append("after") or sandbox)
        gate.set()
        assert blocker.result(30) is True
        assert after.result(30) is sandboxes[0]
        assert ran == ["after"]
        assert pool.queue_depth == 0
    finally:
        pool.close()
    assert all(s.started and s.closed for s in sandboxes)


def test_a_failing_job_reaches_its_caller_and_the_worker_goes_on() -> None:
    pool, _ = make_pool(workers=1)
    try:
        def broken(sandbox: Any) -> None:
            raise RuntimeError("broken")

        with pytest.raises(RuntimeError, match="broken"):
            pool.submit(broken).result(30)
        assert pool.submit(lambda sandbox: 42).result(30) == 42
    finally:
        pool.close()


def test_close_refuses_new_work() -> None:
    pool, _ = make_pool()
    pool.close()
    with pytest.raises(PoolFull):
        pool.admit()
    with pytest.raises(PoolFull):
        pool.submit(lambda sandbox: None)


def raw(**changes: Any) -> RawResult:
    fields: dict[str, Any] = dict(exit_code=0, signal=None, stdout=b"", stderr=b"", stdout_truncated=False,
                                  stderr_truncated=False, cpu_s=0.01, wall_s=0.02, killed_for=None, outcome=None)
    return RawResult(**{**fields, **changes})


@pytest.mark.parametrize(("changes", "verdict"), [
    ({}, None),
    ({"exit_code": 2}, Verdict.RE),
    ({"exit_code": None, "signal": 11}, Verdict.RE),
    ({"exit_code": None, "signal": 9, "killed_for": "cpu"}, Verdict.TLE),
    ({"exit_code": None, "signal": 9, "killed_for": "wall"}, Verdict.TLE),
    ({"exit_code": None, "signal": 9, "oom_killed": True}, Verdict.MLE),
    ({"stdout_truncated": True, "killed_for": "output"}, Verdict.OLE),
    ({"exit_code": 1, "outcome": {"status": "compile_error", "message": "SyntaxError"}}, Verdict.CE),
    ({"exit_code": 1, "stderr": b"Traceback...\nMemoryError\n"}, Verdict.MLE),
])
def test_classify_is_the_verdict_without_an_expected_answer(changes: dict[str, Any], verdict: Verdict | None) -> None:
    found = classify(raw(**changes), time_limit=1, memory_limit=64)
    assert (found[0] if found else None) is verdict
