"""Languages other than Python on the trusted side: compile once per runner, then run per test.

For a job whose language is not ``python``, :func:`run_program` finds the language's toolchain
for the backend (the host's tools for the local backend, the image's for Docker), builds the
language's :class:`~pytest_codeverify.languages.Plan`, sends a ``compile`` job the first time
this runner meets the plan's key (under the language's compile limits) and then the test's
own job, which names the cached artefact. A compile error is remembered too: every test of the
record gets ``CE`` with the compiler's diagnostic, and the source is not compiled again.
"""

from __future__ import annotations

import base64
import functools
from typing import Any

from .. import languages
from ..languages import Language, Plan, ProgramInputs, Step, Toolchain, ToolchainMissing, trim
from ..protocol import Job, Mode, RawResult
from .base import Sandbox, SandboxError

#: Characters of compiler output kept as the diagnostic of a compile error.
COMPILE_OUTPUT_LIMIT = 64 << 10
#: Compile outcomes a sandbox remembers (a long-lived server meets unboundedly many sources;
#: forgetting one only means compiling it again).
REMEMBERED = 4096


@functools.cache
def host_toolchain(name: str) -> Toolchain:
    """This machine's toolchain for language ``name`` (raises :class:`ToolchainMissing`)."""
    return languages.get(name).find_host()


def toolchain_for(sandbox: Sandbox, language: Language) -> Toolchain:
    """The toolchain as seen inside ``sandbox``: the host's tools for the local backend (at the
    paths its binds give them), the image's (by name, on its PATH) otherwise."""
    if sandbox.name == "local":
        try:
            found = host_toolchain(language.name)
        except ToolchainMissing as exc:
            raise SandboxError(str(exc)) from None
        isolated = getattr(getattr(sandbox, "caps", None), "bwrap", None)
        return found.inside() if isolated else found  # without bubblewrap the runner sees the host
    return language.in_image()


def step_fields(step: Step) -> dict[str, Any]:
    """The job-frame fields of a step."""
    return {"argv": step.argv, "env": step.env,
            "files": {name: base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")
                      for name, text in step.files.items()}}


def run_program(sandbox: Sandbox, job: Job, inputs: ProgramInputs | None = None) -> RawResult:
    """Run ``job`` (a stdin test of a language other than Python): compile if needed, then run."""
    try:
        language = languages.get(job.language)
    except KeyError as exc:
        raise SandboxError(str(exc.args[0])) from None
    if job.mode != Mode.STDIN.value:
        raise SandboxError(f"language {language.name!r} runs stdin tests only, not {job.mode} tests")
    inputs = inputs or ProgramInputs()
    plan = language.plan(job.code, toolchain_for(sandbox, language), job.memory_limit_mb, inputs.sources)
    if plan.compile is not None:
        error = compile_once(sandbox, language, plan)
        if error is not None:
            return compile_error(error)
    run = plan.run
    if inputs.files or inputs.args:
        run = Step([*run.argv, *inputs.args], {**run.files, **inputs.files}, run.env)
    fields = {"mode": "exec", **step_fields(run)}
    if plan.compile is not None:
        fields["artefact"] = plan.key
    if language.reserves_address_space:
        fields["memory_rlimit"] = None  # only a cgroup can limit it (see Language)
    raw = sandbox.exchange(job, fields)
    exec_failure(raw, language, sandbox)
    return raw


def compile_once(sandbox: Sandbox, language: Language, plan: Plan) -> str | None:
    """Compile ``plan`` unless this runner has; ``None`` when compiled, else the CE message."""
    if plan.key in sandbox.artefacts:
        return sandbox.artefacts[plan.key]
    assert plan.compile is not None
    step = plan.compile
    compile_job = Job(code="", cpu_limit=language.compile_cpu_s, wall_limit=language.compile_cpu_s * 2 + 1,
                      memory_limit_mb=language.compile_memory_mb, output_limit=COMPILE_OUTPUT_LIMIT,
                      language=language.name)
    fields = {"mode": "compile", "key": plan.key, "outputs": list(step.outputs), **step_fields(step),
              "fsize_limit": 256 << 20}
    if language.reserves_address_space:
        fields["memory_rlimit"] = None
    raw = sandbox.exchange(compile_job, fields)
    sandbox.compilations += 1
    for key in sandbox.last_message.get("evicted") or ():
        sandbox.artefacts.pop(key, None)
    exec_failure(raw, language, sandbox)
    error = compile_verdict(raw, language, sandbox.last_message)
    sandbox.artefacts[plan.key] = error
    while len(sandbox.artefacts) > REMEMBERED:
        del sandbox.artefacts[next(iter(sandbox.artefacts))]
    return error


def compile_verdict(raw: RawResult, language: Language, message: dict[str, Any]) -> str | None:
    """``None`` for a compile that produced its artefact, else why it failed (a CE message)."""
    tool = language.tools[0]
    output = (raw.stderr + b"\n" + raw.stdout).decode("utf-8", "replace").strip()
    if raw.oom_killed:
        return f"compile error ({tool}): the compiler exceeded its memory limit of {language.compile_memory_mb} MiB"
    if raw.killed_for in ("cpu", "wall") or raw.signal == 24:
        return f"compile error ({tool}): compilation exceeded its limit of {language.compile_cpu_s:g} s"
    if raw.killed_for == "output":
        return f"compile error ({tool}): too much compiler output\n{trim(output)}"
    if raw.exit_code != 0 or raw.signal is not None:
        status = f"exit code {raw.exit_code}" if raw.signal is None else f"signal {raw.signal}"
        return f"compile error ({tool}, {status}):\n{trim(output) or '(no diagnostic)'}"
    if message.get("artefact_error"):
        return f"compile error ({tool}): {message['artefact_error']}"
    if not message.get("artefact"):
        return f"compile error ({tool}): no artefact was kept"
    return None


def exec_failure(raw: RawResult, language: Language, sandbox: Sandbox) -> None:
    """Raise :class:`SandboxError` when the sandbox could not start the language's tool."""
    outcome = raw.outcome or {}
    if outcome.get("type") == "ExecError":
        hint = (f"; build an image with it: codeverify image build --languages {language.name}"
                if sandbox.name != "local" else f"; {language.install}")
        raise SandboxError(f"{outcome.get('message')} (language {language.name!r}{hint})")


def compile_error(message: str) -> RawResult:
    """The raw result every test of a record that does not compile gets (judged ``CE``)."""
    return RawResult(exit_code=None, signal=None, stdout=b"", stderr=b"", stdout_truncated=False,
                     stderr_truncated=False, cpu_s=0.0, wall_s=0.0, killed_for=None,
                     outcome={"status": "compile_error", "message": message})


__all__ = ["ProgramInputs", "compile_once", "host_toolchain", "run_program", "toolchain_for"]
