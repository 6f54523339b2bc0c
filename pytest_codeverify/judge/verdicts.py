"""Judging, in the trusted process: raw results -> verdicts.

Expected values live only here. The sandbox reports what a program printed or returned;
this module decides whether that is right.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import languages
from ..cases import AssertTest, CallTest, Case, StdioTest, TestSpec
from ..protocol import ProtocolError, RawResult, Verdict, decode_value
from ..text import safe_repr, shorten
from .compare import compare_output, compare_relation, compare_value

_SIGNAL_NAMES = {4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV",
                 13: "SIGPIPE", 15: "SIGTERM", 24: "SIGXCPU", 25: "SIGXFSZ"}


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
        safe_repr(test.expected) if isinstance(test, CallTest) else "")
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
        except ProtocolError as exc:  # written by the candidate's own process: its fault
            return done(Verdict.WA, f"unreadable return value: {exc}")
        if test.typed and test.relation != "eq":
            same, why = compare_relation(value, test.relation, test.expected, test.relation_arg)
        else:
            same, why = compare_value(value, test.expected, typed=test.typed, compare=case.compare)
        if same:
            return done(Verdict.AC)
        return Outcome(Verdict.WA, why, round(raw.cpu_s, 6), shorten(safe_repr(value)), stderr, expected)
    if isinstance(test, AssertTest):
        if status == "passed":
            return done(Verdict.AC)
        return done(Verdict.RE, str(outcome.get("message") or "the test code did not run to its end"))
    raise TypeError(f"unknown test type {type(test).__name__}")


def verdict_of_run(raw: RawResult, memory_limit_mb: int, time_limit: float,
                   language: str = "python") -> tuple[Verdict, str]:
    """The verdict of a run that has no expected output: ``(verdict, reason)``.

    ``AC`` when the program ran to a clean end (exit code 0, no limit hit); otherwise the
    verdict :func:`judge` would give for the same failure (``CE``, ``MLE``, ``OLE``, ``TLE``,
    ``RE``, or ``WA`` for a returned value that is not a plain built-in value), with its
    one-line reason. ``memory_limit_mb`` and ``time_limit`` are the limits the job ran under,
    used only in the messages.
    """
    return classify(raw, time_limit=time_limit, memory_limit=memory_limit_mb, language=language) or (Verdict.AC, "")


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
    # A MemoryError traceback as the last words of a program that then failed; a program that
    # ends cleanly merely printed that text.
    if outcome.get("type") == "MemoryError" or (raw.exit_code != 0 and _ends_with_memory_error(stderr)):
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
