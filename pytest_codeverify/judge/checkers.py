"""Checkers: problems with more than one right answer, judged by the problem's own program.

A record's ``checker`` is either

- a Python source string defining ``check(input: str, output: str, expected: str)`` that returns
  a bool, or a score in [0, 1] (1.0 is accepted; a lower score is partial credit), or
- a checker program ``{"language": ..., "code": ..., "files": {name: text}}``, run as
  ``checker INPUT OUTPUT ANSWER`` (paths of files it can read) that answers by exit code with
  testlib's convention: 0 accepted, 1 wrong answer, 2 presentation error (WA), 3 checker
  failure (SE), 4 "dirt" (WA), 7 points (a score on its output), 8 unexpected end of file (WA).

The checker runs after the candidate, in a sandbox job of its own with its own limits: never
in the candidate's process, and only once the candidate's processes and files are gone. A
checker that raises, hangs, runs out of memory, exits 3 or answers nonsense gives ``SE``
(reward ``null``): the harness failed, not the candidate. This module is the trusted side:
it builds the checker's job and maps what the job did to a verdict and a score.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import languages
from ..cases import CaseError
from ..config import DEFAULT_OUTPUT_LIMIT, wall_limit
from ..languages import ProgramInputs
from ..protocol import Job, Mode, RawResult, Verdict
from .verdicts import classify

#: Limits of a checker's job unless the record sets ``checker_time_limit`` / ``checker_memory_limit``.
CHECKER_TIME_LIMIT = 5.0
CHECKER_MEMORY_LIMIT = 512
#: Languages a checker program may be written in: every language the project runs.
CHECKER_LANGUAGES = languages.names()
#: testlib's exit codes.
TESTLIB_EXIT = {0: "OK", 1: "WA", 2: "PE", 3: "FAIL", 4: "DIRT", 7: "POINTS", 8: "UNEXPECTED_EOF"}
_DRIVER = Path(__file__).resolve().parent.parent / "sandbox" / "checker_driver.py"
_RESERVED = ("checker_input.txt", "checker_output.txt", "checker_answer.txt")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Checker:
    """A problem's checker: ``form`` is ``function`` or ``program``."""

    form: str
    source: str
    language: str = "python"
    files: dict[str, str] = field(default_factory=dict)
    time_limit: float = CHECKER_TIME_LIMIT
    memory_limit: int = CHECKER_MEMORY_LIMIT


@dataclass(frozen=True)
class CheckerVerdict:
    """What a checker decided: ``AC``/``WA`` with a score in [0, 1], or ``SE`` with the reason."""

    verdict: Verdict
    score: float | None
    message: str = ""


def parse_checker(record: dict[str, Any]) -> Checker | None:
    """The record's ``checker`` (and its optional limits), validated; ``None`` when it has none."""
    value = record.get("checker")
    if value is None:
        return None
    limits = program_limits(record, "checker")
    if isinstance(value, str):
        if "check" not in value:
            raise CaseError("a Python checker must define check(input, output, expected)", field="checker")
        return Checker("function", value, **limits)
    if not isinstance(value, dict):
        raise CaseError(f"must be Python source or a program object, got {type(value).__name__}", field="checker")

    def checker_language(language: Any) -> str:
        name = _language_name(language)
        if name not in CHECKER_LANGUAGES:
            raise CaseError(f"checker language {language!r} is not supported (supported: "
                            f"{', '.join(CHECKER_LANGUAGES)})", field="checker.language")
        return name

    code, language, files = program_fields(value, "checker", "a checker program", _RESERVED, checker_language)
    return Checker("program", code, language, files, **limits)


def program_limits(record: dict[str, Any], role: str) -> dict[str, Any]:
    """The ``ROLE_time_limit`` and ``ROLE_memory_limit`` a record sets for its checker or
    interactor job, validated, as keyword arguments."""
    limits: dict[str, Any] = {}
    for key, kind in (("time_limit", float), ("memory_limit", int)):
        name = f"{role}_{key}"
        if record.get(name) is not None:
            limits[key] = _positive(record[name], name, kind)
    return limits


def program_fields(value: dict[str, Any], role: str, noun: str, reserved: tuple[str, ...],
                   language_of: Callable[[Any], str]) -> tuple[str, str, dict[str, str]]:
    """A problem's own program (a checker's or an interactor's) ``{"language", "code", "files"}``,
    validated: its code, its language's registry name (``language_of`` refuses what the role
    cannot run) and its files, whose plain names must not be one of ``reserved``."""
    unknown = set(value) - {"language", "code", "files"}
    if unknown:
        raise CaseError(f"unknown key(s) {sorted(unknown)}; {noun} has language, code, files", field=role)
    code, language, files = value.get("code"), value.get("language", "python"), value.get("files") or {}
    if not isinstance(code, str) or not code.strip():
        raise CaseError("needs the program's source text", field=f"{role}.code")
    name = language_of(language)
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise CaseError("must map file names to their text", field=f"{role}.files")
    for file_name in files:
        if not isinstance(file_name, str) or not file_name or file_name != os.path.basename(file_name) \
                or file_name in (".", "..") or file_name in reserved:
            raise CaseError(f"{file_name!r} is not a plain file name the {role} may use", field=f"{role}.files")
    return code, name, dict(files)


def _language_name(value: Any) -> str | None:
    """The registry name of a checker's ``language`` (a name or an alias such as ``c++``)."""
    if not isinstance(value, str):
        return None
    wanted = value.strip().lower()
    for name, aliases in languages.fence_aliases().items():
        if wanted in aliases:
            return name
    return None


def _positive(value: Any, name: str, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0 \
            or (kind is int and not isinstance(value, int)):
        raise CaseError(f"must be a positive {'whole ' if kind is int else ''}number, got {value!r}", field=name)
    return kind(value)


@functools.cache
def driver_source() -> str:
    """The program of every checker job (see :mod:`pytest_codeverify.sandbox.checker_driver`)."""
    return _DRIVER.read_text(encoding="utf-8")


def checker_job(checker: Checker, test_input: str, output: str, answer: str, mark: str) -> Job:
    """The sandbox job that runs a Python ``checker`` (either form) on one test's input, output
    and answer, through the checker driver."""
    request = {"form": checker.form, "source": checker.source, "files": checker.files,
               "input": test_input, "output": output, "answer": answer, "mark": mark}
    data = json.dumps(request).encode("utf-8", "surrogateescape")
    return Job(code=driver_source(), mode=Mode.STDIN.value, stdin=data, cpu_limit=checker.time_limit,
               wall_limit=wall_limit(checker.time_limit), memory_limit_mb=checker.memory_limit,
               output_limit=DEFAULT_OUTPUT_LIMIT, language="python")


def checker_run(checker: Checker, test_input: str, output: str, answer: str,
                mark: str) -> tuple[Job, ProgramInputs | None]:
    """The job (and, for a program in a language other than Python, its files and arguments)
    that runs ``checker`` on one test: ``checker INPUT OUTPUT ANSWER``, the three as files in
    the job's work directory, its ``files`` compiled with it (once per runner)."""
    if checker.language == "python":
        return checker_job(checker, test_input, output, answer, mark), None
    job = Job(code=checker.source, mode=Mode.STDIN.value, stdin=b"", cpu_limit=checker.time_limit,
              wall_limit=wall_limit(checker.time_limit), memory_limit_mb=checker.memory_limit,
              output_limit=DEFAULT_OUTPUT_LIMIT, language=checker.language)
    inputs = ProgramInputs(sources=dict(checker.files),
                           files=dict(zip(_RESERVED, (test_input, output, answer), strict=True)),
                           args=_RESERVED)
    return job, inputs


def checker_verdict(checker: Checker, raw: RawResult, mark: str) -> CheckerVerdict:
    """Map what a checker job did to the candidate's verdict and score."""
    failure = classify(raw, time_limit=checker.time_limit, memory_limit=checker.memory_limit,
                       language=checker.language)
    stdout = raw.stdout.decode("utf-8", "replace")
    stderr = raw.stderr.decode("utf-8", "replace")
    if failure is not None and failure[0] is Verdict.CE:
        return CheckerVerdict(Verdict.SE, None, f"the checker does not compile: {failure[1]}")
    if failure is not None and not (checker.form == "program" and failure[1].startswith("exit code")):
        return CheckerVerdict(Verdict.SE, None, f"the checker failed: {failure[0].value}: {failure[1]}")
    if checker.form == "program" and checker.language != "python" and raw.exit_code not in (None, 0):
        # An uncaught exception (Java, JavaScript, PyPy) exits 1 like testlib's "wrong answer":
        # the language's own error report tells them apart.
        crash = languages.get(checker.language).error_line(stderr)
        if crash:
            return CheckerVerdict(Verdict.SE, None, f"the checker crashed: {crash}")
    if checker.form == "function":
        return _function_verdict(stdout, mark)
    return program_verdict(raw.exit_code, stdout, stderr)


def _function_verdict(stdout: str, mark: str) -> CheckerVerdict:
    for line in stdout.splitlines():
        if line.startswith(mark + " "):
            try:
                result = json.loads(line[len(mark) + 1:])
            except ValueError:
                break
            if "error" in result:
                return CheckerVerdict(Verdict.SE, None, f"the checker failed: {result['error']}")
            return score_verdict(result.get("score"))
    return CheckerVerdict(Verdict.SE, None, "the checker gave no result")


def score_verdict(score: Any) -> CheckerVerdict:
    """A score in [0, 1]: ``AC`` at 1.0, else ``WA`` with the score as partial credit."""
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0.0 <= score <= 1.0:
        return CheckerVerdict(Verdict.SE, None, f"the checker's score {score!r} is not a number in [0, 1]")
    if score == 1.0:
        return CheckerVerdict(Verdict.AC, 1.0)
    return CheckerVerdict(Verdict.WA, float(score), f"the checker gave {score:g} of 1")


def program_verdict(exit_code: int | None, stdout: str, stderr: str) -> CheckerVerdict:
    """The verdict of a testlib-style checker program from its exit code (and, for points, output)."""
    said = (stderr.strip() or stdout.strip()).splitlines()
    detail = said[0][:200] if said else ""
    name = TESTLIB_EXIT.get(exit_code) if exit_code is not None else None
    if name == "OK":
        return CheckerVerdict(Verdict.AC, 1.0)
    if name in ("WA", "PE", "DIRT", "UNEXPECTED_EOF"):
        return CheckerVerdict(Verdict.WA, 0.0, f"checker: {name} {detail}".rstrip())
    if name == "POINTS":
        for text in (stdout, stderr):
            found = _NUMBER.search(text.replace("points", " ", 1))
            if found:
                verdict = score_verdict(float(found.group()))
                message = f"{verdict.message} ({detail})" if detail and verdict.message else verdict.message
                return CheckerVerdict(verdict.verdict, verdict.score, message)
        return CheckerVerdict(Verdict.SE, None, "the checker exited with points (7) but printed no score")
    if name == "FAIL":
        return CheckerVerdict(Verdict.SE, None, f"the checker failed (exit code 3): {detail}".rstrip(": "))
    return CheckerVerdict(Verdict.SE, None, f"the checker ended with exit code {exit_code}: {detail}".rstrip(": "))
