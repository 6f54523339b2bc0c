"""Calibrated time limits in the server (``codeverify serve --calibrate``).

The same calibration as the plugin's ``--codeverify-calibrate`` (see
:mod:`pytest_codeverify.calibration`): a record carrying a reference solution has its problem's
reference run through its tests on one of the pool's sandboxes, once, and its limit set to
``max(limit, factor x the reference's CPU time)``. Measurements are kept for the server's
lifetime (and in the cache directory when one is configured, shared with other runs), keyed
per problem and hash of all the measurement depends on. Requests arriving together for one
problem wait for one measurement rather than each making their own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from pathlib import Path

from ..calibration import Calibration, Calibrator, apply, calibration_key
from ..cases import Case, TestSpec
from ..engine import run_test
from ..judge import Outcome
from ..sandbox import Sandbox

#: Problems whose measurement (or its pending future) the server remembers in memory; older
#: ones are read from the cache directory, or measured again without one.
REMEMBERED = 65536

Submit = Callable[[Callable[[Sandbox], Calibration]], "Future[Calibration]"]


class ServerCalibrator:
    """Calibrates the cases of requests through the server's sandbox pool, once per problem."""

    def __init__(self, cache_dir: Path | None, output_limit: int) -> None:
        self._calibrator = Calibrator(_no_sandbox, cache_dir, remember=False)
        self._output_limit = output_limit
        self._lock = threading.Lock()
        self._futures: OrderedDict[str, Future[Calibration]] = OrderedDict()

    @property
    def measured(self) -> int:
        """How many references this server ran (the rest came from memory or the cache)."""
        return self._calibrator.measured

    def future(self, case: Case, submit: Submit) -> Future[Calibration] | None:
        """The calibration of ``case``'s problem, measured on a pool sandbox if nobody has;
        ``None`` when the case has no reference solution."""
        if case.reference is None:
            return None
        key = calibration_key(case)
        with self._lock:
            found = self._futures.get(key)
            if found is not None and not _failed(found):
                self._futures.move_to_end(key)
                return found
            # A failed measurement (the sandbox broke) is not the problem's: measure it again.
            found = submit(self._measure(case))
            self._futures[key] = found
            while len(self._futures) > REMEMBERED:
                self._futures.popitem(last=False)
            return found

    def _measure(self, case: Case) -> Callable[[Sandbox], Calibration]:
        def measure(sandbox: Sandbox) -> Calibration:
            def on_sandbox(reference: Case, test: TestSpec) -> Outcome:
                return run_test(sandbox, reference, test, self._output_limit)

            try:
                return self._calibrator.calibration(case, on_sandbox)
            except Exception as exc:  # the harness failed, not the problem: noted, never cached
                return Calibration(case.problem_id, None, None, error=f"{type(exc).__name__}: {exc}")

        return measure


def calibrated(case: Case, calibration: Calibration | None) -> Case:
    """``case`` with its problem's calibration applied (unchanged without one)."""
    return case if calibration is None else apply(case, calibration)


def follower(shared: Future[Calibration]) -> Future[Calibration]:
    """A future with ``shared``'s outcome that one request may cancel (when its client goes)
    without cancelling the measurement other requests wait for."""
    mine: Future[Calibration] = Future()

    def copy(done: Future[Calibration]) -> None:
        try:
            if done.cancelled():
                mine.cancel()
            elif done.exception() is not None:
                mine.set_exception(done.exception())
            else:
                mine.set_result(done.result())
        except InvalidStateError:
            pass  # the request gave up on it first

    shared.add_done_callback(copy)
    return mine


def _failed(future: Future[Calibration]) -> bool:
    if future.cancelled():
        return True
    if not future.done():
        return False
    return future.exception() is not None or future.result().error is not None


def _no_sandbox(case: Case, test: TestSpec) -> Outcome:
    raise RuntimeError("a server calibration runs on a pool sandbox")
