"""Request plumbing shared by the routes: errors, auth, reading bodies, waiting for work.

Every answer is rendered by :class:`SafeJSONResponse`: text from a candidate (an exception
message, its output) may hold lone surrogates, which are not UTF-8; they are replaced, never
a reason for a 500.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError

from ..sessions import SessionManager
from .calibrate import ServerCalibrator
from .config import ServerConfig
from .metrics import Metrics
from .pool import PoolFull, SandboxPool

if TYPE_CHECKING:
    from ..executors.ray import RayPool

ModelT = TypeVar("ModelT", bound=BaseModel)


class RequestError(Exception):
    """A request the server refuses, with its HTTP status (and headers such as Retry-After)."""

    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail
        self.headers = headers


class ClientGone(Exception):
    """The client disconnected before its answer was ready."""


@dataclass
class AppContext:
    """What the routes share: the configuration, the pool, the sessions and the metrics."""

    config: ServerConfig
    pool: SandboxPool
    sessions: SessionManager
    metrics: Metrics
    #: One lock per cookie session id, so concurrent first calls start one session, not two.
    gym_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    #: Calibrates time limits from reference solutions (``None`` unless the server calibrates).
    calibrator: ServerCalibrator | None = None
    #: Actors on a Ray cluster that verify records instead of ``pool`` (``serve --ray``).
    cluster: RayPool | None = None


def context(request: Request) -> AppContext:
    """The application's :class:`AppContext` (a FastAPI dependency)."""
    ctx: AppContext = request.app.state.ctx
    return ctx


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings replaced by U+FFFD, so it is valid UTF-8."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {clean_text(k): clean_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_text(v) for v in value]
    return value


class SafeJSONResponse(JSONResponse):
    """A JSON response that never fails on text that is not valid Unicode."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return super().render(clean_text(content))


async def refused(_: Request, exc: Exception) -> Response:
    """The answer to a :class:`RequestError`."""
    assert isinstance(exc, RequestError)
    return SafeJSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)


_bearer = HTTPBearer(auto_error=False)
_Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def authorize(request: Request, credentials: _Credentials) -> None:
    """Require the configured bearer token (compared in constant time); no token configured: open."""
    token = context(request).config.token
    if token is None:
        return
    given = credentials.credentials.encode() if credentials is not None else b""
    if not hmac.compare_digest(given, token.encode()):
        raise RequestError(401, "a valid bearer token is required (Authorization: Bearer <token>)",
                           {"WWW-Authenticate": "Bearer"})


async def read_json(request: Request) -> Any:
    """The body as JSON: 413 past the size limit, 400 when it is not JSON or nested too deeply."""
    limits = context(request).config.limits
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise RequestError(413, f"the body is over {limits.max_body_bytes} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limits.max_body_bytes:
            raise RequestError(413, f"the body is over {limits.max_body_bytes} bytes")
    try:
        data = json.loads(body)
    except RecursionError as exc:
        raise RequestError(400, f"the body is nested more than {limits.max_json_depth} levels deep") from exc
    except ValueError as exc:
        raise RequestError(400, f"the body is not valid JSON: {exc}") from exc
    if _nesting(data) > limits.max_json_depth:
        raise RequestError(400, f"the body is nested more than {limits.max_json_depth} levels deep")
    return data


def _nesting(data: Any) -> int:
    """How deep arrays and objects nest in ``data`` (walked without recursion)."""
    deepest = 0
    todo: list[tuple[Any, int]] = [(data, 0)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        deepest = max(deepest, depth + 1)
        todo.extend((item, depth + 1) for item in value if isinstance(item, dict | list))
    return deepest


def parse(model: type[ModelT], body: Any) -> ModelT:
    """``body`` as ``model``: 413 for a field over its size limit, 422 for anything else wrong."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = exc.errors()
        status = 413 if any(e["type"] == "string_too_long" for e in errors) else 422
        raise RequestError(status, [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
                                    for e in errors]) from exc


async def admitted(request: Request, handler: Callable[[], Awaitable[Response]]) -> Response:
    """Run ``handler`` as one admitted request: 429 when full, dropped work when the client leaves."""
    pool = context(request).pool
    try:
        pool.admit()
    except PoolFull as exc:
        raise RequestError(429, f"the server is busy: {exc}; retry later", {"Retry-After": "1"}) from exc
    try:
        return await handler()
    except ClientGone:
        return Response(status_code=499)
    finally:
        pool.release()


async def wait_all(request: Request, futures: list[Future[Any]]) -> list[Any]:
    """The futures' results; if the client disconnects first, cancel those not yet started."""
    gathered: asyncio.Future[list[Any]] = asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
    watcher: asyncio.Future[Any] = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({gathered, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if gathered in done:
        return gathered.result()
    for future in futures:
        future.cancel()
    gathered.cancel()
    raise ClientGone


async def _disconnected(request: Request) -> None:
    """Return when the client has gone (the body is already read, so only a disconnect is left)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
