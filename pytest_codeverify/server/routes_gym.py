"""Tool sessions in NeMo Gym's ``math_with_code`` shape, so a Gym agent config can point here.

The session rides a signed cookie named :data:`COOKIE_NAME` holding base64 JSON
``{"session_id": ...}`` (Starlette's session middleware, as Gym uses); a request without one
gets one. ``POST /seed_session`` starts the session's sandbox, ``POST /execute_python
{"code"}`` runs a cell and answers ``{success, stdout, stderr, error_message, result}``,
``POST /end_session`` (or Gym's newer ``POST /close_session``) ends it. Unlike Gym's own
server, every session is a sandbox: no network, a private /tmp, memory and process limits, and a
per-call time limit.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..sessions import Session, SessionClosed, SessionResult, UnknownSession
from .http import AppContext, SafeJSONResponse, authorize, context, parse, read_json
from .models import CloseSessionRequest, ExecutePythonResponse, SeedSessionRequest, execute_python_model
from .routes_sessions import start_session

#: The cookie Gym's PythonExecutorResourcesServer (config name math_with_code) uses.
COOKIE_NAME = "PythonExecutorResourcesServer___math_with_code"
SESSION_ID_KEY = "session_id"

router = APIRouter(dependencies=[Depends(authorize)])


def cookie_session_id(request: Request) -> str:
    """The session id in the request's cookie, a new one when it has none (the cookie is then set)."""
    session_id = request.session.get(SESSION_ID_KEY)
    if not isinstance(session_id, str) or not session_id:
        session_id = secrets.token_urlsafe(18)
        request.session[SESSION_ID_KEY] = session_id
    return session_id


@router.post("/seed_session")
async def seed_session(request: Request) -> Response:
    """Start the cookie's session. ``{}`` answers ``{}``; Gym's typed body answers its id back."""
    ctx = context(request)
    body = await read_json(request)
    answer: dict[str, Any] = {}
    if body not in ({}, None):
        seed = parse(SeedSessionRequest, body)
        answer = {"resources_session_id": seed.resources_session_id}
    await _session(ctx, cookie_session_id(request))
    return SafeJSONResponse(answer)


@router.post("/execute_python", response_model=ExecutePythonResponse)
async def execute_python(request: Request) -> Response:
    """Run ``code`` as the session's next cell (the session starts on first use)."""
    ctx = context(request)
    parsed = parse(execute_python_model(ctx.config.limits), await read_json(request))
    session = await _session(ctx, cookie_session_id(request))
    try:
        result: SessionResult = await asyncio.get_running_loop().run_in_executor(
            ctx.sessions.executor, session.execute, parsed.code)
    except SessionClosed:
        return SafeJSONResponse(ExecutePythonResponse(success=False, stdout="", stderr="",
                                                      error_message="the session was ended").model_dump())
    ctx.metrics.verdict(result.verdict.value)
    return SafeJSONResponse(gym_answer(result).model_dump())


@router.post("/end_session", response_model=ExecutePythonResponse)
async def end_session(request: Request) -> Response:
    """End the cookie's session (nothing to do when it has none)."""
    await _end(context(request), request)
    return SafeJSONResponse(ExecutePythonResponse(success=True, stdout="", stderr="").model_dump())


@router.post("/close_session")
async def close_session(request: Request) -> Response:
    """Gym's newer close: ends the cookie's session and answers ``{"resources_session_id"}``."""
    closing = parse(CloseSessionRequest, await read_json(request))
    await _end(context(request), request)
    return SafeJSONResponse({"resources_session_id": closing.resources_session_id})


async def _end(ctx: AppContext, request: Request) -> None:
    session_id = request.session.get(SESSION_ID_KEY)
    if isinstance(session_id, str):
        ctx.gym_locks.pop(session_id, None)
        try:
            await asyncio.get_running_loop().run_in_executor(ctx.sessions.executor, ctx.sessions.end, session_id)
        except UnknownSession:
            pass


def gym_answer(result: SessionResult) -> ExecutePythonResponse:
    """A call's answer as math_with_code gives it: ``error_message`` is ``str()`` of the exception,
    or the reason a call did not run to its end (with a note when the state was lost)."""
    error = None
    if not result.ok:
        error = result.error if result.error_type is not None else result.message
    return ExecutePythonResponse(success=result.ok, stdout=result.stdout, stderr=result.stderr,
                                 error_message=error, result=result.result)


async def _session(ctx: AppContext, session_id: str) -> Session:
    """The live session of this id, started when there is none (one start per id at a time)."""
    lock = ctx.gym_locks.setdefault(session_id, asyncio.Lock())
    async with lock:
        try:
            return ctx.sessions.get(session_id)
        except UnknownSession:
            return await start_session(ctx.sessions, session_id)
