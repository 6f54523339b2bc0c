"""Tool sessions, native shape: ``POST /sessions``, ``DELETE /sessions/{id}``.

A session's calls go through ``POST /execute`` with its ``session_id``
(:mod:`.routes_execute`); the NeMo Gym shape is in :mod:`.routes_gym`.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..sandbox import SandboxError
from ..sessions import Session, SessionManager, TooManySessions, UnknownSession
from .http import RequestError, SafeJSONResponse, authorize, context

router = APIRouter(dependencies=[Depends(authorize)])


@router.post("/sessions", status_code=201)
async def create_session(request: Request) -> Response:
    """Start a session (its own sandbox and interpreter); answers its ``session_id`` and limits."""
    sessions = context(request).sessions
    session = await start_session(sessions)
    return SafeJSONResponse({"session_id": session.id, "time_limit": session.time_limit,
                             "memory_limit": session.memory_limit, "idle_timeout": sessions.idle_timeout},
                            status_code=201)


@router.delete("/sessions/{session_id}")
async def end_session(session_id: str, request: Request) -> Response:
    """End a session; 404 when it is not live."""
    sessions = context(request).sessions
    try:
        session = sessions.get(session_id)
    except UnknownSession:
        raise RequestError(404, "no such session (never started, ended, or expired when idle)") from None
    await asyncio.get_running_loop().run_in_executor(sessions.executor, _end, sessions, session)
    return SafeJSONResponse({"session_id": session_id, "ended": True, "calls": session.calls})


async def start_session(sessions: SessionManager, session_id: str | None = None) -> Session:
    """A new session, started off the event loop: 429 (with Retry-After) when too many are live."""
    try:
        return await asyncio.get_running_loop().run_in_executor(sessions.executor, sessions.create, session_id)
    except TooManySessions as exc:
        raise RequestError(429, str(exc), {"Retry-After": str(exc.retry_after)}) from exc
    except SandboxError as exc:
        raise RequestError(503, f"the session's sandbox could not start: {exc}") from exc


def _end(sessions: SessionManager, session: Session) -> None:
    try:
        sessions.end(session.id)
    except UnknownSession:  # ended meanwhile (expired, or a second DELETE): ended all the same
        pass
