"""The verifier as an HTTP service (FastAPI): an execution tool for agents and a reward endpoint.

Endpoints (see the README's "HTTP server" section), one router module per concern:

- :mod:`.routes_execute`: ``POST /execute`` (a program on stdin, judged by the rules every test
  uses; with ``session_id``, a cell in a tool session) and ``GET /tools`` (OpenAI tool schemas).
- :mod:`.routes_verify`: ``POST /verify`` (a record of any supported format, or a NeMo Gym
  verify request, read by :mod:`.nemo`) and ``POST /verify/batch``.
- :mod:`.routes_sessions`: ``POST /sessions``, ``DELETE /sessions/{id}``.
- :mod:`.routes_gym`: NeMo Gym math_with_code's ``/seed_session``, ``/execute_python``, ``/end_session``.
- :mod:`.routes_health`: ``GET /health`` and ``GET /metrics`` (Prometheus).

Every stateless run goes through one bounded :class:`~.pool.SandboxPool`; every tool session
is its own sandbox (:mod:`pytest_codeverify.sessions`). :func:`~.app.create_app` builds the app.
"""

from __future__ import annotations

from .app import create_app
from .config import ServerConfig, ServerLimits, SessionConfig
from .pool import PoolFull, SandboxPool

__all__ = ["PoolFull", "SandboxPool", "ServerConfig", "ServerLimits", "SessionConfig", "create_app"]
