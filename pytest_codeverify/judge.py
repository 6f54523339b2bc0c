"""Judging, in the trusted process: raw results -> verdicts -> rewards.

Expected values live only here. The sandbox reports what a program printed or returned;
this module decides whether that is right.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from . import languages
from .cases import AssertTest, CallTest, Case, Compare, StdioTest, TestSpec
from .protocol import RawResult, decode_value

_SIGNAL_NAMES = {4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV",
                 13: "SIGPIPE", 15: "SIGTERM", 24: "SIGXCPU", 25: "SIGXFSZ"}


class Verdict(StrEnum):
    """One test's verdict."""

    AC = "AC"  # accepted
    WA = "WA"  # wrong answer
    TLE = "TLE"  # time limit exceeded
    MLE = "MLE"  # memory limit exceeded
    RE = "RE"  # runtime error
    CE = "CE"  # compile error (or no code could be extracted)
    OLE = "OLE"  # output limit exceeded
    SE = "SE"  # sandbox/system error: the harness failed, not the candidate

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Outcome:
    """The judgement of one test: verdict, a one-line reason, and the evidence."""

    verdict: Verdict
    message: str = ""
    time_s: float = 0.0
    stdout: str = ""
    stderr: str = ""
    expected: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.AC


def judge(case: Case, test: TestSpec, raw: RawResult) -> Outcome:
    """Decide the verdict of one test from what the sandbox observed."""
    stdout = raw.stdout.decode("utf-8", errors="replace")
    stderr = raw.stderr.decode("utf-8", errors="replace")
    expected = test.output if isinstance(test, StdioTest) else (
        repr(test.expected) if isinstance(test, CallTest) else "")
    limit = case.limit_for(test)

    def done(verdict: Verdict, message: str = "") -> Outcome:
        return Outcome(verdict, message, round(raw.cpu_s, 6), stdout, stderr, expected)

    failure = classify(raw, time_limit=limit, memory_limit=case.memory_limit, language=case.language)
    if failure is not None:
        return done(*failure)
    outcome = raw.outcome or {}
    status = outcome.get("status")
    if isinstance(test, StdioTest):
        same, why = compare_output(stdout, test.output, case.compare)
        return done(Verdict.AC) if same else done(Verdict.WA, why)
    if isinstance(test, CallTest):
        if status != "ok":
            return done(Verdict.RE, str(outcome.get("message") or "the call did not return"))
        if "value" not in outcome:  # never read a missing value as None
            return done(Verdict.SE, "the sandbox reported a return without its value")
        try:
            value = decode_value(outcome["value"])
        except (ValueError, TypeError) as exc:
            return done(Verdict.WA, f"unreadable return value: {exc}")
        if test.typed and test.relation != "eq":
            same, why = compare_relation(value, test.relation, test.expected, test.relation_arg)
        else:
            same, why = compare_value(value, test.expected, typed=test.typed, compare=case.compare)
        if same:
            return done(Verdict.AC)
        return Outcome(Verdict.WA, why, round(raw.cpu_s, 6), shorten(repr(value)), stderr, expected)
    if isinstance(test, AssertTest):
        if status == "passed":
            return done(Verdict.AC)
        return done(Verdict.RE, str(outcome.get("message") or "the test code did not run to its end"))
    raise TypeError(f"unknown test type {type(test).__name__}")


def verdict_of_run(raw: RawResult, memory_limit_mb: int, time_limit: float) -> tuple[Verdict, str]:
    """The verdict of a run that has no expected output: ``(verdict, reason)``.

    ``AC`` when the program ran to a clean end (exit code 0, no limit hit); otherwise the
    verdict :func:`judge` would give for the same failure (``CE``, ``MLE``, ``OLE``, ``TLE``,
    ``RE``, or ``WA`` for a returned value that is not a plain built-in value), with its
    one-line reason. ``memory_limit_mb`` and ``time_limit`` are the limits the job ran under,
    used only in the messages.
    """
    return classify(raw, time_limit=time_limit, memory_limit=memory_limit_mb) or (Verdict.AC, "")


def classify(raw: RawResult, *, time_limit: float, memory_limit: int,
             language: str = "python") -> tuple[Verdict, str] | None:
    """The verdict a run earns whatever its expected answer: ``(verdict, reason)``, or ``None``.

    ``None`` means the program ran to a clean end (exit 0, no limit hit, no uncaught
    exception, no unsafe return value); only then does comparing its answer decide.
    :func:`judge`, :func:`verdict_of_run` and the HTTP server's ``/execute`` share these rules.
    A failed program of another ``language`` is read with that language's rules (its
    out-of-memory reports are ``MLE``; its error line explains an ``RE``).
    """
    stderr = raw.stderr.decode("utf-8", errors="replace")
    outcome = raw.outcome or {}
    status = outcome.get("status")
    if status == "compile_error":
        return Verdict.CE, str(outcome.get("message", "compile error"))
    if raw.oom_killed:
        return Verdict.MLE, f"killed for exceeding the memory limit of {memory_limit} MiB"
    if raw.killed_for == "output" or raw.stdout_truncated or raw.stderr_truncated:
        return Verdict.OLE, "output exceeded the limit; the program was stopped"
    if raw.killed_for == "cpu" or raw.signal == 24:
        return Verdict.TLE, f"CPU time exceeded the limit of {time_limit:g} s"
    if raw.killed_for == "wall":
        return Verdict.TLE, (f"still running after the wall-clock limit of {raw.wall_s:.1f} s "
                             "(sleeping, blocked, or starved)")
    if outcome.get("type") == "MemoryError" or _ends_with_memory_error(stderr):
        return Verdict.MLE, f"MemoryError: ran out of its {memory_limit} MiB"
    note = ""
    if language != "python" and (raw.signal is not None or raw.exit_code != 0):
        known = languages.registry().get(language)
        if known is not None and known.out_of_memory(stderr):
            return Verdict.MLE, f"ran out of its {memory_limit} MiB: {known.error_line(stderr) or 'out of memory'}"
        if known is not None and known.error_line(stderr):
            note = f": {known.error_line(stderr)}"
    if raw.signal is not None:
        return Verdict.RE, f"killed by {_SIGNAL_NAMES.get(raw.signal, f'signal {raw.signal}')}{note}"
    if status == "exception":
        return Verdict.RE, f"{outcome.get('type')}: {outcome.get('message', '')}".rstrip(": ")
    if status in ("not_plain", "unencodable"):
        return Verdict.WA, str(outcome.get("message"))
    if status == "failed":  # an assert of the test itself failed: the answer is wrong
        return Verdict.WA, str(outcome.get("message") or "an assertion of the test failed")
    if raw.exit_code != 0:
        return Verdict.RE, f"exit code {raw.exit_code}{note}"
    return None


def _ends_with_memory_error(stderr: str) -> bool:
    tail = stderr.rstrip().rsplit("\n", 1)[-1]
    return tail.startswith("MemoryError")


# ---------------------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------------------


def compare_output(got: str, expected: str, compare: Compare) -> tuple[bool, str]:
    """Compare a program's stdout with the expected text; returns ``(same, reason)``."""
    if compare.mode == "exact":
        if got == expected:
            return True, ""
        return False, _first_difference(got, expected)
    if compare.mode == "lines":
        got_lines, want_lines = _lines(got), _lines(expected)
        for number, (a, b) in enumerate(zip(got_lines, want_lines, strict=False), start=1):
            if a != b:
                return False, f"line {number}: expected {shorten(b)!r}, got {shorten(a)!r}"
        if len(got_lines) != len(want_lines):
            return False, f"expected {len(want_lines)} line(s), got {len(got_lines)}"
        return True, ""
    got_tokens, want_tokens = got.split(), expected.split()
    for number, (a, b) in enumerate(zip(got_tokens, want_tokens, strict=False), start=1):
        if a == b:
            continue
        if compare.mode == "float" and _close(a, b, compare.tolerance or 0.0):
            continue
        return False, f"token {number}: expected {shorten(b)!r}, got {shorten(a)!r}"
    if len(got_tokens) != len(want_tokens):
        return False, f"expected {len(want_tokens)} token(s), got {len(got_tokens)}"
    return True, ""


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)", re.IGNORECASE)


def _close(a: str, b: str, tolerance: float) -> bool:
    if not (_NUMBER.fullmatch(a) and _NUMBER.fullmatch(b)):
        return False
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return math.isclose(x, y, rel_tol=tolerance, abs_tol=tolerance)


def _first_difference(got: str, expected: str) -> str:
    for index, (a, b) in enumerate(zip(got, expected, strict=False)):
        if a != b:
            return f"first difference at character {index}: expected {shorten(expected[index:])!r}, " \
                   f"got {shorten(got[index:])!r}"
    return f"expected {len(expected)} characters, got {len(got)}"


def compare_value(got: Any, expected: Any, *, typed: bool, compare: Compare | None = None) -> tuple[bool, str]:
    """Compare a returned value with the expected one.

    ``typed``: both are Python values and Python's ``==`` decides, exactly as the assertion
    it came from would. Otherwise ``expected`` is JSON: the value is compared as JSON
    (tuples as lists), numbers by value but never a bool for a number, floats within the
    ``compare`` tolerance if one is set.
    """
    if typed:
        try:
            same = bool(got == expected)
        except Exception as exc:  # comparing built-in values can still raise (e.g. deep recursion)
            return False, f"comparison failed: {type(exc).__name__}"
        return (True, "") if same else (False, f"expected {shorten(repr(expected))}, got {shorten(repr(got))}")
    tolerance = compare.tolerance if compare is not None and compare.mode == "float" else None
    problem = _json_difference(got, expected, tolerance, "")
    return (True, "") if problem is None else (False, problem)


def compare_relation(got: Any, relation: str, expected: Any, argument: Any = None) -> tuple[bool, str]:
    """Judge a converted assertion other than ``==`` exactly as Python's ``assert`` would.

    ``got`` is a decoded plain built-in value, so none of these operations can run the
    candidate's code; any exception here is what the original assertion would have raised.
    """
    try:
        if relation == "is":
            same = got is expected
            what = f"expected {expected!r} (is), got {shorten(repr(got))}"
        elif relation == "truthy":
            same, what = bool(got), f"expected a true value, got {shorten(repr(got))}"
        elif relation == "falsy":
            same, what = not got, f"expected a false value, got {shorten(repr(got))}"
        elif relation in ("abs_lt", "abs_le"):
            distance = abs(got - expected)
            same = bool(distance < argument) if relation == "abs_lt" else bool(distance <= argument)
            what = f"expected within {argument!r} of {expected!r}, got {shorten(repr(got))}"
        elif relation == "isclose":
            same = math.isclose(got, expected, **(argument or {}))
            what = f"expected close to {expected!r}, got {shorten(repr(got))}"
        else:
            raise ValueError(f"unknown relation {relation!r}")
    except (TypeError, ValueError, OverflowError, ArithmeticError, RecursionError) as exc:
        return False, f"the assertion raised {type(exc).__name__}: {exc}"
    return (True, "") if same else (False, what)


def _json_difference(got: Any, want: Any, tolerance: float | None, where: str) -> str | None:
    at = f" at {where}" if where else ""
    if isinstance(want, bool) or want is None or isinstance(want, str):
        if type(got) is type(want) and got == want:
            return None
        return f"expected {shorten(repr(want))}{at}, got {shorten(repr(got))}"
    if isinstance(want, (int, float)):
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return f"expected {want!r}{at}, got {shorten(repr(got))}"
        if got == want or (tolerance is not None and math.isclose(got, want, rel_tol=tolerance, abs_tol=tolerance)):
            return None
        return f"expected {want!r}{at}, got {got!r}"
    if isinstance(want, list):
        if not isinstance(got, (list, tuple)):
            return f"expected a list{at}, got {shorten(repr(got))}"
        if len(got) != len(want):
            return f"expected {len(want)} item(s){at}, got {len(got)}"
        for index, (g, w) in enumerate(zip(got, want, strict=False)):
            problem = _json_difference(g, w, tolerance, f"{where}[{index}]")
            if problem:
                return problem
        return None
    if isinstance(want, dict):
        if not isinstance(got, dict) or not all(isinstance(k, str) for k in got):
            return f"expected an object{at}, got {shorten(repr(got))}"
        if set(got) != set(want):
            return f"expected keys {sorted(want)}{at}, got {sorted(got)}"
        for key in want:
            problem = _json_difference(got[key], want[key], tolerance, f"{where}[{key!r}]")
            if problem:
                return problem
        return None
    return f"cannot compare with expected value of type {type(want).__name__}"


def shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


# ---------------------------------------------------------------------------------------
# Rewards
# ---------------------------------------------------------------------------------------

REWARD_MODES = ("fraction", "all")


def case_verdict(verdicts: Sequence[Verdict]) -> Verdict:
    """``AC`` when every test passed, else the verdict of the first test that did not."""
    for verdict in verdicts:
        if verdict is not Verdict.AC:
            return verdict
    return Verdict.AC


def reward(verdicts: Sequence[Verdict], mode: str = "fraction") -> float | None:
    """The case's reward: ``None`` when any test hit ``SE`` (not the candidate's fault).

    ``fraction``: passed / total. ``all``: 1.0 only when every test passed.
    """
    if not verdicts or any(v is Verdict.SE for v in verdicts):
        return None
    passed = sum(v is Verdict.AC for v in verdicts)
    if mode == "all":
        return 1.0 if passed == len(verdicts) else 0.0
    return passed / len(verdicts)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples of which ``c`` are correct (Chen et al., 2021)."""
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product
