"""Interactive tests: the candidate and the problem's interactor, each in a sandbox of its own.

The engine's way of running one test of a record with an ``interactor`` (see
:mod:`pytest_codeverify.judge.interactors` for the convention): the candidate runs in the
backend it was given, the interactor in that backend's partner sandbox (same kind, started on
first use), and :mod:`pytest_codeverify.sandbox.relay` joins their standard streams. Programs of
languages other than Python are compiled once per sandbox, as for any test. The candidate's job
carries no input at all: it hears only what the interactor writes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import replace
from typing import Any

from . import languages
from .cases import Case, StdioTest
from .config import DEFAULT_OUTPUT_LIMIT, WALL_FACTOR, wall_cap, wall_limit
from .judge.checkers import Checker, checker_job, checker_verdict
from .judge.interactors import (
    ARG_FILES,
    INTERACTOR_OUTPUT_LIMIT,
    Interactor,
    interactive_outcome,
    interactor_failure,
    interactor_files,
    python_program,
)
from .judge.verdicts import Outcome, classify
from .languages import Plan, Step
from .protocol import Job, Mode, RawResult, Verdict
from .sandbox.base import Sandbox, SandboxError
from .sandbox.compiled import compile_error, compile_once, exec_failure, step_fields, toolchain_for
from .sandbox.relay import Party, interact


def program_fields(sandbox: Sandbox, language_name: str, code: str, memory_mb: int,
                   own_files: dict[str, str] | None = None, run_files: dict[str, str] | None = None,
                   args: list[str] | None = None) -> dict[str, Any] | RawResult:
    """The job-frame fields that run ``code`` (a language other than the runner's Python) in
    ``sandbox``, compiling it first unless this sandbox has: ``own_files`` go with the source
    (a ``testlib.h``), ``run_files`` only with each run, ``args`` after the program's command.
    A compile error comes back as the raw result every run of it gets."""
    language = languages.get(language_name)
    sandbox.ensure_started()
    plan = language.plan(code, toolchain_for(sandbox, language), memory_mb)
    own = own_files or {}
    if own:
        identity = json.dumps([plan.key, sorted(own.items())]).encode("utf-8", "surrogatepass")
        build = None if plan.compile is None else replace(plan.compile, files={**own, **plan.compile.files})
        plan = Plan(hashlib.sha256(identity).hexdigest(), plan.run, build)
    run = Step([*plan.run.argv, *(args or ())], {**own, **(run_files or {}), **plan.run.files}, plan.run.env)
    if plan.compile is not None:
        error = compile_once(sandbox, language, plan)
        if error is not None:
            return compile_error(error)
    fields: dict[str, Any] = {"mode": "exec", **step_fields(run)}
    if plan.compile is not None:
        fields["artefact"] = plan.key
    if language.reserves_address_space:
        fields["memory_rlimit"] = None  # only a cgroup can limit it (see Language)
    return fields


def candidate_wall(cpu_limit: float, interactor: Interactor) -> float:
    """The candidate's wall-clock backstop: its own, plus the time the interactor may spend
    computing while the candidate waits for its answer (the interactor's CPU limit, with the
    same allowance as any job's backstop), so a slow interactor never makes valid code TLE."""
    return wall_limit(cpu_limit) + WALL_FACTOR * interactor.time_limit


def interactor_party(sandbox: Sandbox, interactor: Interactor, test: StdioTest,
                     candidate_job: Job, collect: bool = False) -> Party | RawResult:
    """The interactor's side of one test (or its compile error). Its wall clock covers the
    whole time the candidate may take, which it spends waiting on it. With ``collect``, its
    OUTPUT file comes back with its result (for the problem's checker)."""
    answer = test.output if test.output or test.accepted else None
    files, args = interactor_files(interactor, test.input, answer)
    waits = wall_cap(candidate_job.cpu_limit, candidate_job.wall_limit)
    job = Job(code=interactor.source, mode=Mode.STDIN.value, cpu_limit=interactor.time_limit,
              wall_limit=wall_limit(interactor.time_limit) + waits, memory_limit_mb=interactor.memory_limit,
              output_limit=INTERACTOR_OUTPUT_LIMIT, language=interactor.language)
    wanted = {"collect": ARG_FILES[1]} if collect else {}
    if languages.is_native(interactor.language):
        return Party(sandbox, replace(job, code=python_program(interactor, files, args)), wanted)
    own = interactor.files
    fields = program_fields(sandbox, interactor.language, interactor.source, interactor.memory_limit,
                            own, {k: v for k, v in files.items() if k not in own}, args)
    return fields if isinstance(fields, RawResult) else Party(sandbox, job, {**fields, **wanted})


def run_interactive(backend: Sandbox, case: Case, test: StdioTest, output_limit: int = DEFAULT_OUTPUT_LIMIT) -> Outcome:
    """Run and judge one interactive test. Never raises for the candidate's, the interactor's
    or a sandbox's failures."""
    interactor = case.interactor
    if interactor is None or case.code is None:
        raise ValueError("an interactive test needs the case's code and interactor")
    limit = case.limit_for(test)
    job = Job(code=case.code, mode=Mode.STDIN.value, cpu_limit=limit, wall_limit=candidate_wall(limit, interactor),
              memory_limit_mb=case.memory_limit, output_limit=output_limit, language=case.language)
    try:
        fields: dict[str, Any] | RawResult = {}
        if not languages.is_native(case.language):
            fields = program_fields(backend, case.language, case.code, case.memory_limit)
        if isinstance(fields, RawResult):  # the candidate does not compile
            failure = classify(fields, time_limit=limit, memory_limit=case.memory_limit, language=case.language)
            return Outcome(*(failure or (Verdict.CE, "compile error")))
        other = interactor_party(backend.partner(), interactor, test, job, collect=case.checker is not None)
    except SandboxError as exc:
        return Outcome(Verdict.SE, f"sandbox failure ({getattr(backend, 'name', '?')}): {exc}")
    if isinstance(other, RawResult):  # the interactor does not compile: the harness's problem
        return Outcome(Verdict.SE, interactor_failure(other, interactor) or "the interactor does not compile")
    candidate = Party(backend, job, fields)
    interact(candidate, other)
    for party, language in ((candidate, case.language), (other, interactor.language)):
        if party.result is not None and not languages.is_native(language):
            try:
                exec_failure(party.result, languages.get(language), party.sandbox)
            except SandboxError as exc:
                party.error = exc
    outcome = interactive_outcome(
        candidate=candidate.result, candidate_error=_text(candidate.error),
        interactor_raw=other.result, interactor_error=_text(other.error), interactor=interactor,
        time_limit=limit, memory_limit=case.memory_limit, language=case.language,
        transcript=candidate.said.decode("utf-8", "replace"), expected=test.output, deadlock=candidate.deadlock)
    if case.checker is None or outcome.verdict is not Verdict.AC:
        return outcome
    return check_output(other, case.checker, test, outcome)


def check_output(interactor: Party, checker: Checker, test: StdioTest, outcome: Outcome) -> Outcome:
    """The verdict of the problem's checker on what the interactor wrote to its OUTPUT file
    (testlib's interactor-then-checker), run in the interactor's sandbox once the dialogue is
    over; only an accepted dialogue gets here."""
    collected = interactor.message.get("collected")
    output = base64.b64decode(collected).decode("utf-8", "replace") if isinstance(collected, str) else ""
    mark = secrets.token_hex(16)
    try:
        checked = interactor.sandbox.run(checker_job(checker, test.input, output, test.output, mark))
    except SandboxError as exc:
        return replace(outcome, verdict=Verdict.SE, message=f"the checker could not run: {exc}")
    found = checker_verdict(checker, checked, mark)
    return replace(outcome, verdict=found.verdict, message=found.message,
                   score=found.score if found.verdict is Verdict.WA else None)


def _text(error: SandboxError | None) -> str | None:
    return None if error is None else str(error)


__all__ = ["candidate_wall", "check_output", "interactor_party", "program_fields", "run_interactive"]
