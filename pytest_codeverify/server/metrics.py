"""Prometheus metrics of one application, in its own registry (never the process-global one).

Request counts and latencies are observed by :class:`MetricsMiddleware`; pool and session
state is read when ``/metrics`` is scraped (:class:`_StateCollector`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..judge import Verdict
from ..sessions import SessionManager
from .pool import SandboxPool

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Paths counted under their own name; anything else is ``other`` (the label set stays bounded).
ENDPOINTS = frozenset({"/execute", "/verify", "/verify/batch", "/tools", "/health", "/metrics", "/sessions",
                       "/seed_session", "/execute_python", "/end_session", "/close_session"})
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """The metrics of one application."""

    def __init__(self, pool: SandboxPool, sessions: SessionManager) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("codeverify_requests", "HTTP requests answered, by endpoint and status.",
                                ["endpoint", "status"], registry=self.registry)
        self.verdicts = Counter("codeverify_verdicts", "Verdicts given (one per test, or per /execute run).",
                                ["verdict"], registry=self.registry)
        for verdict in Verdict:
            self.verdicts.labels(verdict.value)  # every verdict shows, from 0
        self.latency = Histogram("codeverify_request_duration_seconds", "Time to answer a request.",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.registry.register(_StateCollector(pool, sessions))

    def observe(self, path: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        endpoint = path if path in ENDPOINTS else ("/sessions" if path.startswith("/sessions/") else "other")
        self.requests.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def verdict(self, verdict: str) -> None:
        """Count one verdict."""
        self.verdicts.labels(verdict).inc()

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """Pool and session state, read at scrape time."""

    def __init__(self, pool: SandboxPool, sessions: SessionManager) -> None:
        self.pool = pool
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily("codeverify_sandbox_restarts", "Sandbox runners restarted after a failure.",
                                  value=self.pool.restarts)
        yield GaugeMetricFamily("codeverify_queue_depth", "Jobs waiting for a sandbox.", value=self.pool.queue_depth)
        yield GaugeMetricFamily("codeverify_sandboxes_busy", "Sandboxes running a job.", value=self.pool.busy)
        yield GaugeMetricFamily("codeverify_requests_in_flight", "Requests admitted and not yet answered.",
                                value=self.pool.in_flight)
        yield GaugeMetricFamily("codeverify_sessions_live", "Tool sessions live now.", value=self.sessions.live)
        yield CounterMetricFamily("codeverify_session_calls", "Calls run in tool sessions.",
                                  value=self.sessions.calls_total)
        yield CounterMetricFamily("codeverify_session_restarts",
                                  "Session interpreters restarted after a call (time limit, exit, crash).",
                                  value=self.sessions.restarts_total)
        yield CounterMetricFamily("codeverify_sessions_expired", "Tool sessions ended for being idle.",
                                  value=self.sessions.expired_total)


class MetricsMiddleware:
    """Times every request and counts its status (plain ASGI, so disconnects pass through untouched)."""

    def __init__(self, app: Callable[..., Awaitable[None]], metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.monotonic()
        status = 500

        async def send_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.observe(scope.get("path", ""), status, time.monotonic() - start)
