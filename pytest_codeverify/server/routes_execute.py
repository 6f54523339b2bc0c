"""``POST /execute`` (stateless, or in a tool session) and ``GET /tools``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..cases import LANGUAGES, Case, CaseError, StdioTest, check_language
from ..engine import SandboxFailure, make_job
from ..engine import execute as execute_job
from ..judge import Verdict, classify
from ..sandbox import Sandbox
from ..sessions import SessionClosed, SessionResult, UnknownSession
from .config import ServerLimits
from .http import AppContext, RequestError, SafeJSONResponse, admitted, authorize, context, parse, read_json, wait_all
from .models import ExecuteRequest, ExecuteResponse, execute_model

TOOL_NAME = "execute_code"
SESSION_TOOL_NAME = "execute_code_in_session"

router = APIRouter(dependencies=[Depends(authorize)])


@router.post("/execute", response_model=ExecuteResponse)
async def execute(request: Request) -> Response:
    """Run a program on stdin and say how it ended; with ``session_id``, run it as the session's next cell."""
    ctx = context(request)

    async def handle() -> Response:
        parsed = parse(execute_model(ctx.config.limits), await read_json(request))
        try:
            language = check_language(parsed.language)
        except CaseError as exc:
            raise RequestError(422, str(exc)) from exc
        if parsed.session_id is not None:
            return await _execute_in_session(ctx, parsed, language)
        case = Case(id="execute", problem_id="execute", tests=(StdioTest(parsed.stdin, ""),), code=parsed.code,
                    language=language, time_limit=parsed.time_limit, memory_limit=parsed.memory_limit)
        job = make_job(case, case.tests[0], ctx.config.limits.output_limit)

        def run(sandbox: Sandbox) -> dict[str, Any]:
            raw = execute_job(sandbox, job)
            if isinstance(raw, SandboxFailure):
                return _failure(raw.message)
            verdict, message = classify(raw, time_limit=case.time_limit, memory_limit=case.memory_limit,
                                        language=case.language) or (Verdict.AC, "")
            return {"stdout": raw.stdout.decode("utf-8", errors="replace"),
                    "stderr": raw.stderr.decode("utf-8", errors="replace"),
                    "exit_code": raw.exit_code, "signal": raw.signal, "verdict": verdict.value,
                    "message": message, "time_s": round(raw.cpu_s, 6), "wall_s": round(raw.wall_s, 6),
                    "truncated": raw.stdout_truncated or raw.stderr_truncated}

        (result,) = await wait_all(request, [ctx.pool.submit(_guarded(run))])
        ctx.metrics.verdict(result["verdict"])
        return SafeJSONResponse(result)

    return await admitted(request, handle)


async def _execute_in_session(ctx: AppContext, parsed: ExecuteRequest, language: str) -> Response:
    if language != "python":
        raise RequestError(422, "field 'language': tool sessions run python only")
    if "memory_limit" in parsed.model_fields_set:
        raise RequestError(422, "field 'memory_limit': a session's memory limit is fixed when it starts "
                                f"({ctx.sessions.memory_limit} MiB)")
    try:
        session = ctx.sessions.get(parsed.session_id or "")
    except UnknownSession:
        raise RequestError(404, "no such session (never started, ended, or expired when idle)") from None
    time_limit = parsed.time_limit if "time_limit" in parsed.model_fields_set else None
    loop = asyncio.get_running_loop()
    try:
        result: SessionResult = await loop.run_in_executor(
            ctx.sessions.executor, lambda: session.execute(parsed.code, parsed.stdin, time_limit=time_limit))
    except SessionClosed:
        raise RequestError(404, "the session was ended") from None
    ctx.metrics.verdict(result.verdict.value)
    return SafeJSONResponse(session_answer(session.id, result))


def session_answer(session_id: str, result: SessionResult) -> dict[str, Any]:
    """A session call's answer in ``/execute``'s shape, with the session's own fields."""
    return {"stdout": result.stdout, "stderr": result.stderr, "exit_code": None, "signal": None,
            "verdict": result.verdict.value, "message": result.message, "time_s": result.time_s,
            "wall_s": result.wall_s, "truncated": result.truncated, "session_id": session_id,
            "result": result.result, "restarted": result.restarted}


@router.get("/tools")
async def tools(request: Request) -> Response:
    """The code tools as OpenAI function tools: stateless, and in a session."""
    ctx = context(request)
    return SafeJSONResponse([tool_schema(ctx.config.limits), session_tool_schema(ctx.config.limits)])


def tool_schema(limits: ServerLimits) -> dict[str, Any]:
    """Stateless ``/execute`` as an OpenAI function tool (``{"type": "function", "function": {...}}``)."""
    return {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": ("Run a program in an isolated sandbox (no network, no files kept) on the given stdin "
                            "and return its stdout, stderr, exit code and a verdict: AC (ran to a clean end), "
                            "TLE, MLE, RE (error or non-zero exit), CE (syntax error), OLE (too much output) "
                            "or SE (the sandbox failed)."),
            "parameters": {
                "type": "object",
                "properties": {
                    "code": {"type": "string", "description": "the complete program"},
                    "language": {"type": "string", "enum": list(LANGUAGES), "description": "its language"},
                    "stdin": {"type": "string", "description": "text given to the program on standard input"},
                    "time_limit": {"type": "number", "exclusiveMinimum": 0, "maximum": limits.max_time_limit,
                                   "description": "CPU seconds (default 2)"},
                    "memory_limit": {"type": "integer", "minimum": 1, "maximum": limits.max_memory_limit,
                                     "description": "memory limit in MiB (default 512)"},
                },
                "required": ["code"],
                "additionalProperties": False,
            },
        },
    }


def session_tool_schema(limits: ServerLimits) -> dict[str, Any]:
    """``/execute`` with ``session_id``: Python whose state persists from one call to the next."""
    return {
        "type": "function",
        "function": {
            "name": SESSION_TOOL_NAME,
            "description": ("Run Python code in a persistent, isolated interpreter (no network), like a notebook "
                            "cell: variables, functions, imports and files in /tmp stay for the next call. "
                            "Returns stdout, stderr, `result` (str() of the value of a last bare expression) "
                            "and a verdict: AC, RE (an exception), CE (syntax error), TLE, MLE or OLE. A call "
                            "over its time is interrupted and the state kept; after an exit, a crash, or "
                            "a call that will not stop, the interpreter restarts and its state is lost "
                            "(`restarted`: true)."),
            "parameters": {
                "type": "object",
                "properties": {
                    "session_id": {"type": "string", "description": "the session, from POST /sessions"},
                    "code": {"type": "string", "description": "Python code to run next"},
                    "stdin": {"type": "string", "description": "text given to this call on standard input"},
                    "time_limit": {"type": "number", "exclusiveMinimum": 0, "maximum": limits.max_time_limit,
                                   "description": "CPU seconds for this call"},
                },
                "required": ["session_id", "code"],
                "additionalProperties": False,
            },
        },
    }


def _failure(message: str) -> dict[str, Any]:
    return {"stdout": "", "stderr": "", "exit_code": None, "signal": None, "verdict": "SE", "message": message,
            "time_s": 0.0, "wall_s": 0.0, "truncated": False}


def _guarded(run: Any) -> Any:
    """``run``, with any unexpected failure turned into an ``SE`` answer instead of a 500."""

    def guarded(sandbox: Sandbox) -> dict[str, Any]:
        try:
            result: dict[str, Any] = run(sandbox)
            return result
        except Exception as exc:  # an infrastructure failure is SE, never a crash
            return _failure(f"internal error: {type(exc).__name__}: {exc}")

    return guarded
