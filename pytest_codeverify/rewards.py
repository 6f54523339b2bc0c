"""Rewards: verdicts -> a record's reward, pass@k, and the rewards-file line. No sandbox here.

Every rewards line (from the pytest plugin, ``codeverify verify``, the server and the Python
API) is built by :func:`case_line` or :func:`unreadable_line`, so the file means the same
whichever entry point wrote it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .config import REWARD_MODES
from .protocol import Verdict

if TYPE_CHECKING:
    from .cases import Case

__all__ = ["REWARD_MODES", "case_head", "case_line", "case_verdict", "head_line", "not_run_entry", "pass_at_k",
           "reward", "test_entry", "unreadable_line"]


def case_verdict(verdicts: Sequence[Verdict]) -> Verdict:
    """``AC`` when every test passed, else the verdict of the first test that did not."""
    for verdict in verdicts:
        if verdict is not Verdict.AC:
            return verdict
    return Verdict.AC


def reward(verdicts: Sequence[Verdict], mode: str = "fraction",
           scores: Sequence[float | None] | None = None) -> float | None:
    """The case's reward: ``None`` when any test hit ``SE`` (not the candidate's fault).

    ``fraction``: the mean of the tests' scores, a test scoring 1 when it passed, its checker's
    partial credit when it has one (``scores``), else 0. ``all``: 1.0 only when every test passed.
    """
    if not verdicts or any(v is Verdict.SE for v in verdicts):
        return None
    passed = sum(v is Verdict.AC for v in verdicts)
    if mode == "all":
        return 1.0 if passed == len(verdicts) else 0.0
    partial = sum(score or 0.0 for v, score in zip(verdicts, scores or [None] * len(verdicts), strict=True)
                  if v is Verdict.WA)
    return (passed + partial) / len(verdicts)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples of which ``c`` are correct (Chen et al., 2021).

    Defined for ``0 <= c <= n`` and ``1 <= k <= n``; anything else raises :class:`ValueError`
    (with ``k > n`` the estimator would otherwise claim 1.0 even when no sample is correct).
    """
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


def test_entry(name: str, verdict: Verdict, time_s: float, message: str = "",
               evidence: dict[str, Any] | None = None, score: float | None = None) -> dict[str, Any]:
    """One test's entry in a rewards line; an ``SE`` carries its cause as ``error``, a failing
    test its ``evidence`` (message, input, expected, got, stderr: see :mod:`.evidence`), a ``WA``
    with a checker's partial credit its ``score``."""
    entry: dict[str, Any] = {"name": name, "verdict": verdict.value, "time_s": time_s}
    if verdict is Verdict.SE and message:
        entry["error"] = message
    entry.update(evidence or {})
    if verdict is Verdict.WA and score:
        entry["score"] = score
    return entry


test_entry.__test__ = False  # type: ignore[attr-defined]  # a builder, not a test pytest should collect


def not_run_entry(name: str, reason: str) -> dict[str, Any]:
    """The entry of a test left out because its record's reward was already decided (early stop
    in ``all`` mode): no verdict and no time, never counted as passed or failed."""
    return {"name": name, "verdict": None, "time_s": None, "not_run": reason}


def early_stop_reason(name: str, verdict: Verdict) -> str:
    """Why a record's remaining tests did not run: the test that decided its reward."""
    return f"not run: the reward was decided by {name} ({verdict.value})"


def decides_reward(verdict: Verdict) -> bool:
    """Whether one test's verdict settles an all-or-nothing reward at 0: a failure of the
    candidate's. ``SE`` does not (the harness failed; the other tests still tell)."""
    return verdict is not Verdict.AC and verdict is not Verdict.SE


def case_head(case: Case) -> dict[str, Any]:
    """What a case's rewards line says about the case itself, as JSON values: it can travel
    where the case cannot (from a pytest-xdist worker to the controller) and weighs far less."""
    head: dict[str, Any] = {"id": case.id, "problem_id": case.problem_id, "time_limits": case.time_limits()}
    if case.calibrated_limit is not None:
        head["calibrated"] = True
    if case.notes:
        head["notes"] = list(case.notes)
    if case.extracted is not None:
        head["extracted"] = case.extracted
    if case.code_error:
        head["code_error"] = case.code_error
    return head


def case_line(case: Case, tests: Iterable[dict[str, Any]], reward_mode: str = "fraction",
              extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The rewards line of a case whose tests ran: entries from :func:`test_entry`."""
    return head_line(case_head(case), tests, reward_mode, extra)


def head_line(head: dict[str, Any], tests: Iterable[dict[str, Any]], reward_mode: str = "fraction",
              extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The rewards line of a case known by its :func:`case_head`: entries from :func:`test_entry`."""
    entries = list(tests)
    ran = [t for t in entries if t["verdict"] is not None]  # the others did not run (early stop)
    verdicts = [Verdict(t["verdict"]) for t in ran]
    scores = [t.get("score") for t in ran]
    line: dict[str, Any] = {
        "id": head["id"], "problem_id": head["problem_id"], "reward": reward(verdicts, reward_mode, scores),
        "passed": sum(v is Verdict.AC for v in verdicts), "total": len(entries),
        "verdict": case_verdict(verdicts).value, "tests": entries,
    }
    if len(ran) < len(entries):
        line["not_run"] = len(entries) - len(ran)
    limits = head["time_limits"]
    # The CPU limit the tests ran under (scaled and calibrated): a list where tests differ.
    line["time_limit"] = limits[0] if len(limits) == 1 else list(limits)
    if head.get("calibrated"):
        line["calibrated"] = True
    if head.get("notes"):
        line["dataset_problems"] = list(head["notes"])
    if head.get("extracted") is not None:
        line["extracted"] = head["extracted"]
    if head.get("code_error"):
        line["error"] = head["code_error"]
    line.update(extra or {})
    return line


def unreadable_line(record_id: str | None, error: object, line: int | None = None) -> dict[str, Any]:
    """The rewards line of a record (or file) that could not be read: no tests, ``reward`` and
    ``verdict`` null, and the error, so that every input record still yields one line."""
    data: dict[str, Any] = {"id": record_id, "problem_id": record_id, "reward": None, "passed": 0, "total": 0,
                            "verdict": None, "tests": [], "error": str(error)}
    if line is not None:
        data["line"] = line
    return data
