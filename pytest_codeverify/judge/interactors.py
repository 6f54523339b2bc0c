"""Interactive problems: the problem's interactor talks to the candidate, and decides.

A record's ``interactor`` is a program ``{"language": ..., "code": ..., "files": {name: text}}``
(or, short for a Python one, its source string) following testlib's convention: it runs as
``interactor INPUT OUTPUT [ANSWER]`` (INPUT: the test's input file; OUTPUT: a file it may write;
ANSWER: the test's expected output, when the test has one), reads what the candidate writes on
its stdin, writes the candidate's input on its stdout, and answers by exit code: 0 accepted,
1/2/4/8 wrong answer, 3 its own failure (``SE``), 7 points (a score on its stderr). When the
record has a ``checker`` too, an accepted dialogue is then judged by the checker on what the
interactor wrote to OUTPUT.

This module is the trusted side's knowledge of interactors: reading the field, the program and
files of an interactor's job, and the verdict of a test from how both jobs ended. Running them
is :mod:`pytest_codeverify.interaction`'s (and :mod:`pytest_codeverify.sandbox.relay`'s).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .. import languages
from ..cases import CaseError
from ..protocol import RawResult, Verdict
from .checkers import program_fields, program_limits, program_verdict
from .verdicts import Outcome, classify

#: Limits of an interactor's job unless the record sets ``interactor_time_limit`` /
#: ``interactor_memory_limit``. Its wall clock also covers all the time it waits on the candidate.
INTERACTOR_TIME_LIMIT = 5.0
INTERACTOR_MEMORY_LIMIT = 512
#: Bytes an interactor may write to the candidate (much more than a candidate's own output).
INTERACTOR_OUTPUT_LIMIT = 16 << 20
#: The files of the testlib command line, in the interactor's work directory.
ARG_FILES = ("interactor_input.txt", "interactor_output.txt", "interactor_answer.txt")
#: Exit code of a Python interactor that raised: testlib's "FAIL" (the interactor's own failure).
FAIL_EXIT = 3


@dataclass(frozen=True)
class Interactor:
    """A problem's interactor program and the limits of its job."""

    source: str
    language: str = "python"
    files: dict[str, str] = field(default_factory=dict)
    time_limit: float = INTERACTOR_TIME_LIMIT
    memory_limit: int = INTERACTOR_MEMORY_LIMIT


def parse_interactor(record: dict[str, Any]) -> Interactor | None:
    """The record's ``interactor`` (and its optional limits), validated; ``None`` when it has none."""
    value = record.get("interactor")
    if value is None:
        return None
    limits = program_limits(record, "interactor")
    if isinstance(value, str):
        value = {"language": "python", "code": value}
    if not isinstance(value, dict):
        raise CaseError(f"must be a program object {{language, code, files}} or Python source, "
                        f"got {type(value).__name__}", field="interactor")

    def interactor_language(language: Any) -> str:
        known = languages.names()
        if not isinstance(language, str) or language.lower() not in known:
            raise CaseError(f"interactor language {language!r} is not supported (supported: {', '.join(known)})",
                            field="interactor.language")
        return language.lower()

    code, language, files = program_fields(value, "interactor", "an interactor", ARG_FILES, interactor_language)
    return Interactor(code, language, files, **limits)


def interactor_files(interactor: Interactor, test_input: str, answer: str | None) -> tuple[dict[str, str], list[str]]:
    """The files of one test's interactor job (its own, the input, the answer) and the testlib
    arguments naming them."""
    files = {**interactor.files, ARG_FILES[0]: test_input}
    args = list(ARG_FILES[:2])
    if answer is not None:
        files[ARG_FILES[2]] = answer
        args.append(ARG_FILES[2])
    return files, args


def python_program(interactor: Interactor, files: dict[str, str], args: list[str]) -> str:
    """The program of a Python interactor's job: writes its files, sets ``sys.argv`` and runs the
    interactor as ``__main__`` with a line-buffered stdout. An exception it raises is testlib's
    FAIL (exit code 3), never a wrong answer (Python's own exit code 1)."""
    return (
        "import json as _json, os as _os, sys as _sys, traceback as _traceback\n"
        f"for _name, _text in _json.loads({json.dumps(files)!r}).items():\n"
        "    with open(_name, 'w', encoding='utf-8', errors='surrogateescape', newline='') as _handle:\n"
        "        _handle.write(_text)\n"
        f"_sys.argv = {['interactor', *args]!r}\n"
        "_sys.path.insert(0, _os.getcwd())\n"
        "_sys.stdout.reconfigure(line_buffering=True)\n"
        f"_code = compile({interactor.source!r}, 'interactor.py', 'exec', dont_inherit=True)\n"
        "try:\n"
        "    exec(_code, {'__name__': '__main__', '__builtins__': __builtins__})\n"
        "except SystemExit:\n"
        "    raise\n"
        "except BaseException:\n"
        "    _traceback.print_exc()\n"
        f"    _sys.exit({FAIL_EXIT})\n"
    )


def interactor_failure(raw: RawResult, interactor: Interactor) -> str | None:
    """Why an interactor's job failed as a program (so the test is ``SE``), or ``None`` when it
    ended by an exit code, which is its verdict."""
    outcome = raw.outcome or {}
    if outcome.get("status") == "compile_error":
        return f"the interactor does not compile: {outcome.get('message', '')}".rstrip(": ")
    if raw.killed_for == "stopped":
        return "the interactor was stopped"
    failure = classify(raw, time_limit=interactor.time_limit, memory_limit=interactor.memory_limit,
                       language=interactor.language)
    if failure is None or failure[1].startswith("exit code"):  # it ended by itself: its verdict
        return None
    return f"the interactor failed: {failure[0].value}: {failure[1]}"


def interactive_outcome(*, candidate: RawResult | None, candidate_error: str | None,
                        interactor_raw: RawResult | None, interactor_error: str | None,
                        interactor: Interactor, time_limit: float, memory_limit: int, language: str,
                        transcript: str = "", expected: str = "", deadlock: bool = False) -> Outcome:
    """One interactive test's verdict from how both jobs ended, in this order:

    1. the candidate's own failure (``TLE``, ``MLE``, ``OLE``, ``RE``, ``CE``), ``TLE`` too when
       the harness stopped it because it and the interactor each waited for the other
       (``deadlock``); a candidate stopped because the interactor had already decided is not
       judged on its end;
    2. the interactor's failure (a crash, its limits, exit code 3 or one testlib does not know)
       or a sandbox failure: ``SE``, reward ``null``;
    3. the interactor's exit code: 0 ``AC``, 1/2/4/8 ``WA``, 7 a score.
    """
    cpu = round(candidate.cpu_s, 6) if candidate is not None else 0.0
    stderr = candidate.stderr.decode("utf-8", "replace") if candidate is not None else ""

    def done(verdict: Verdict, message: str = "", score: float | None = None) -> Outcome:
        return Outcome(verdict, message, cpu, transcript, stderr, expected, score)

    if candidate_error is not None or candidate is None:
        return done(Verdict.SE, f"the candidate's sandbox failed: {candidate_error or 'no result'}")
    if candidate.killed_for == "stopped" and deadlock:
        return done(Verdict.TLE, "idle: the program waited for input while the interactor waited for the "
                                 "program's (did it flush its output?)")
    if candidate.killed_for != "stopped":
        failure = classify(candidate, time_limit=time_limit, memory_limit=memory_limit, language=language)
        if failure is not None:
            return done(*failure)
    if interactor_error is not None or interactor_raw is None:
        return done(Verdict.SE, f"the interactor's sandbox failed: {interactor_error or 'no result'}")
    failed = interactor_failure(interactor_raw, interactor)
    if failed is not None:
        return done(Verdict.SE, failed)
    found = program_verdict(interactor_raw.exit_code, "", interactor_raw.stderr.decode("utf-8", "replace"))
    message = found.message.replace("checker", "interactor", 1)
    if found.verdict is Verdict.AC and candidate.killed_for == "stopped":
        return done(Verdict.SE, "the candidate was stopped although the interactor accepted")
    return done(found.verdict, message, found.score if found.verdict is Verdict.WA else None)
