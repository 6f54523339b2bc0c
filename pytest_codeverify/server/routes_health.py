"""``GET /health`` (open, for probes) and ``GET /metrics`` (Prometheus exposition)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from .http import SafeJSONResponse, authorize, context
from .metrics import CONTENT_TYPE

router = APIRouter()


@router.get("/health")
async def health(request: Request) -> Response:
    """The pool's state, the backend and whether it isolates candidates, and the live sessions."""
    ctx = context(request)
    pool = ctx.pool
    answer = {"status": "ok", "backend": pool.backend, "isolation": pool.description,
              "isolated": pool.isolated, "workers": pool.workers, "busy": pool.busy,
              "queue_depth": pool.queue_depth, "in_flight": pool.in_flight,
              "max_queue": pool.max_queue, "sandbox_restarts": pool.restarts,
              "sessions": ctx.sessions.live, "max_sessions": ctx.sessions.max_sessions}
    if ctx.cluster is not None:  # serve --ray: records are verified by the cluster's actors
        answer["ray_actors"] = ctx.cluster.workers
        answer["ray_actors_lost"] = ctx.cluster.lost
    return SafeJSONResponse(answer)


@router.get("/metrics", dependencies=[Depends(authorize)])
async def metrics(request: Request) -> Response:
    """Counters, gauges and latency histograms in the Prometheus text format."""
    return Response(context(request).metrics.render(), media_type=CONTENT_TYPE)
