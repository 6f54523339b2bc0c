"""The application factory: one FastAPI app with its pool, sessions, metrics and routes."""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from ..sandbox import open_sandbox
from ..sessions import SessionManager
from . import routes_execute, routes_gym, routes_health, routes_sessions, routes_verify
from .calibrate import ServerCalibrator
from .config import ServerConfig
from .http import AppContext, RequestError, SafeJSONResponse, refused
from .metrics import Metrics, MetricsMiddleware
from .pool import SandboxPool

if TYPE_CHECKING:
    from ..executors.ray import RayPool


def create_app(config: ServerConfig, pool: SandboxPool | None = None,
               sessions: SessionManager | None = None, cluster: RayPool | None = None) -> FastAPI:
    """The FastAPI application. It starts ``pool`` (or one made from ``config``) on startup and
    ends every tool session on shutdown.

    With ``cluster`` (or ``config.ray_address``), /verify and /verify/batch run their records on
    that Ray cluster's actors; /execute and tool sessions stay on this machine. The app closes
    the cluster's actors on shutdown."""
    factory = functools.partial(open_sandbox, image=config.image, bwrap=config.bwrap)
    pool = pool or SandboxPool(config.backend, config.workers, config.max_queue, factory=factory)
    session_config = config.sessions
    sessions = sessions or SessionManager(
        config.backend, max_sessions=session_config.max_sessions, idle_timeout=session_config.idle_timeout,
        time_limit=session_config.time_limit, memory_limit=session_config.memory_limit,
        output_limit=config.limits.output_limit, factory=factory)
    metrics = Metrics(pool, sessions)
    if cluster is None and config.ray_address is not None:
        from ..executors.ray import RayPool

        cluster = RayPool(config.ray_address, config.ray_workers, backend=config.backend, image=config.image,
                          bwrap=config.bwrap, output_limit=config.limits.output_limit)
    if cluster is not None:  # requests its actors serve at once are admitted, not refused
        pool.elsewhere = cluster.workers

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool.start()
        sessions.start()
        try:
            yield
        finally:
            await asyncio.to_thread(sessions.close)
            await asyncio.to_thread(pool.close)
            if cluster is not None:
                await asyncio.to_thread(cluster.close)

    app = FastAPI(title="codeverify", lifespan=lifespan, default_response_class=SafeJSONResponse)
    calibrator = ServerCalibrator(Path(config.cache_dir) if config.cache_dir else None,
                                  config.limits.output_limit) if config.calibrate else None
    app.state.ctx = AppContext(config, pool, sessions, metrics, calibrator=calibrator, cluster=cluster)
    app.add_exception_handler(RequestError, refused)
    for module in (routes_execute, routes_verify, routes_health, routes_sessions, routes_gym):
        app.include_router(module.router)
    app.add_middleware(SessionMiddleware, secret_key=session_config.cookie_secret or secrets.token_hex(32),
                       session_cookie=routes_gym.COOKIE_NAME, same_site="lax", https_only=False)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
