"""Calibrated time limits: run a problem's reference solution here, once, and size its limit.

A dataset's limit was set on someone else's machine. ``--codeverify-calibrate`` runs the
problem's reference solution (see :mod:`.formats.references`) through the problem's tests in
the sandbox, once per problem, and sets the limit to ``max(limit, CALIBRATION_FACTOR x the
reference's CPU time on its slowest test)``. A reference that fails its own tests is a problem
of the dataset, reported as a note on the case (never held against a candidate); its limit is
then left as declared.

Results are cached in one small JSON file per problem under ``<cache dir>/calibration/``, keyed
by a hash of everything the measurement depends on (reference, tests, setup, entry point,
language, declared limits), so a second run repeats nothing and a changed problem is measured
again. Under pytest-xdist every worker calibrates lazily, on the first test of a problem it
runs; an exclusive lock per problem makes the other workers wait for that one measurement and
then read it from the cache, so each problem is measured once across the whole run.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from .cases import Case, TestSpec
from .config import CALIBRATION_FACTOR
from .judge import Outcome
from .protocol import Verdict

#: The reference runs under this multiple of the problem's declared (scaled) limit, and at
#: least :data:`REFERENCE_MIN_S`: a reference slower than that is reported, not waited for.
REFERENCE_HEADROOM = 5.0
REFERENCE_MIN_S = 10.0
#: Bump when the meaning of a cached entry changes.
CACHE_VERSION = 1

RunTest = Callable[[Case, TestSpec], Outcome]


@dataclass(frozen=True)
class Calibration:
    """What running a problem's reference measured."""

    problem_id: str
    reference_cpu_s: float | None  # slowest passing test; None when nothing passed
    limit: float | None  # the calibrated limit, or None when the reference could not set one
    failures: tuple[str, ...] = ()  # "test_3: WA ..." for each test the reference failed
    error: str | None = None  # the calibration itself could not run (SE)

    def note(self) -> str | None:
        """The dataset problem this calibration found, as one line (or ``None``)."""
        if self.error:
            return f"calibration failed: {self.error}"
        if self.failures:
            return (f"the reference solution fails its own tests ({'; '.join(self.failures[:3])}"
                    f"{'; ...' if len(self.failures) > 3 else ''}): a dataset problem; limit left as declared")
        return None


def calibration_key(case: Case) -> str:
    """The cache key of ``case``'s problem: a hash of all the measurement depends on."""
    assert case.reference is not None
    material = json.dumps([CACHE_VERSION, case.problem_id, case.language, case.reference, case.setup_code,
                           case.entry_point, case.time_limit, case.time_scale, repr(case.tests),
                           str(case.compare)], sort_keys=True, default=repr)
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def measure(case: Case, run_test: RunTest, factor: float = CALIBRATION_FACTOR) -> Calibration:
    """Run ``case``'s reference through its tests and compute its calibrated limit."""
    assert case.reference is not None
    reference = replace(case, code=case.reference, code_error=None,
                        calibrated_limit=reference_limit(max(case.limit_for(test) for test in case.tests)))
    slowest: float | None = None
    failures: list[str] = []
    for position, test in enumerate(case.tests):
        outcome = run_test(reference, test)
        if outcome.verdict is Verdict.SE:
            return Calibration(case.problem_id, None, None, error=outcome.message)
        if outcome.verdict is Verdict.AC:
            slowest = max(slowest or 0.0, outcome.time_s)
        else:
            failures.append(f"{case.test_name(position)}: {outcome.verdict.value} {outcome.message}".strip()[:200])
    limit = None if failures or slowest is None else round(factor * slowest, 3)
    return Calibration(case.problem_id, slowest, limit, tuple(failures))


def reference_limit(declared: float) -> float:
    """The CPU limit a reference solution runs under while it is measured."""
    return max(declared * REFERENCE_HEADROOM, REFERENCE_MIN_S)


def apply(case: Case, calibration: Calibration) -> Case:
    """``case`` with its calibrated limit and any dataset problem noted."""
    note = calibration.note()
    return replace(case, calibrated_limit=calibration.limit,
                   notes=case.notes + ((note,) if note and note not in case.notes else ()))


class Calibrator:
    """Calibrates cases once per problem, through a cache directory shared by processes."""

    def __init__(self, run_test: RunTest, cache_dir: Path | None, factor: float = CALIBRATION_FACTOR,
                 remember: bool = True) -> None:
        self.run_test = run_test
        self.directory = cache_dir / "calibration" if cache_dir is not None else None
        self.factor = factor
        #: Whether calibrations are also kept in this object (a caller with its own bounded
        #: memory, such as the server, turns it off).
        self.remember = remember
        self._memory: dict[str, Calibration] = {}
        #: How many measurements this process made (the rest came from the cache).
        self.measured = 0

    def calibrate(self, case: Case) -> Case:
        """``case`` with its problem's calibration applied (unchanged when it has no reference)."""
        if case.reference is None:
            return case
        return apply(case, self.calibration(case))

    def calibration(self, case: Case, run_test: RunTest | None = None) -> Calibration:
        """The calibration of ``case``'s problem: from memory, the cache, or measured now
        (through ``run_test`` when given: the sandbox at hand, else the calibrator's own)."""
        key = calibration_key(case)
        found = self._memory.get(key)
        if found is not None:
            return found
        with self._locked(key):
            found = self._read(key)
            if found is None:
                found = measure(case, run_test or self.run_test, self.factor)
                self.measured += 1
                if found.error is None:  # a sandbox failure is not a property of the problem
                    self._write(key, found)
        if self.remember:
            self._memory[key] = found
        return found

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        if self.directory is None:
            yield
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / f"{key}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # another process measuring this problem: wait for it
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self, key: str) -> Calibration | None:
        if self.directory is None:
            return None
        try:
            data: dict[str, Any] = json.loads((self.directory / f"{key}.json").read_text(encoding="utf-8"))
            return Calibration(str(data["problem_id"]), data["reference_cpu_s"], data["limit"],
                               tuple(data.get("failures") or ()))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or unreadable: measure again

    def _write(self, key: str, calibration: Calibration) -> None:
        if self.directory is None:
            return
        path = self.directory / f"{key}.json"
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(asdict(calibration)), encoding="utf-8")
        os.replace(temporary, path)  # readers never see half a file
