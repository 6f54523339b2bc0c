"""The verifier as an HTTP service (FastAPI): an execution tool for agents and a reward endpoint.

Endpoints (see the README's "HTTP server" section):

- ``POST /execute``: run a program on stdin, no expected output; the verdict is judged by the
  same rules as every test (:func:`pytest_codeverify.judge.classify`).
- ``GET /tools``: ``/execute`` as an OpenAI-style function tool.
- ``POST /verify``: one record of any supported dataset format, or a NeMo Gym verify request.
- ``POST /verify/batch``: many records, answered in order, run concurrently.
- ``GET /health`` and ``GET /metrics`` (Prometheus text format).

Every run goes through one bounded :class:`~pytest_codeverify.server_pool.SandboxPool` and the
engine (:func:`~pytest_codeverify.engine.run_test`), so a verdict means what it means in the
pytest plugin.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .cases import LANGUAGES, Case, CaseError, StdioTest, check_language
from .engine import CaseReport, TestReport, make_job, run_test
from .formats import READERS, Defaults, detect, given_id
from .judge import Outcome, Verdict, classify
from .rewards import unreadable_line
from .sandbox import Sandbox, SandboxError
from .server_nemo import NEMO_GYM_REWARD_MODE, is_nemo_gym_request, nemo_gym_case
from .server_pool import PoolFull, SandboxPool

TOOL_NAME = "execute_code"


@dataclass(frozen=True)
class ServerLimits:
    """What one request may ask for; beyond these it gets a 4xx."""

    max_body_bytes: int = 32 << 20
    max_code_chars: int = 256 << 10
    max_stdin_bytes: int = 16 << 20
    max_tests: int = 1000
    max_batch: int = 256
    max_time_limit: float = 30.0
    max_memory_limit: int = 4096
    output_limit: int = 1 << 20


@dataclass(frozen=True)
class ServerConfig:
    """How the server runs: backend, pool size, queue bound, token and request limits."""

    backend: str = "auto"
    workers: int = 1
    max_queue: int = 64
    token: str | None = None
    limits: ServerLimits = field(default_factory=ServerLimits)
    defaults: Defaults = field(default_factory=Defaults)


class RequestError(Exception):
    """A request the server refuses, with its HTTP status."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail


class ClientGone(Exception):
    """The client disconnected before its answer was ready."""


# ---------------------------------------------------------------------------------------
# /execute request model and its tool schema
# ---------------------------------------------------------------------------------------


class ExecuteRequest(BaseModel):
    """The body of ``POST /execute``."""

    model_config = ConfigDict(extra="forbid")
    code: str
    language: str = "python"
    stdin: str = ""
    time_limit: float = Field(default=2.0, gt=0)
    memory_limit: int = Field(default=512, gt=0)


def tool_schema(limits: ServerLimits) -> dict[str, Any]:
    """``/execute`` as an OpenAI function tool (``{"type": "function", "function": {...}}``)."""
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


# ---------------------------------------------------------------------------------------
# Metrics (Prometheus text format, written by hand: a few counters and one histogram)
# ---------------------------------------------------------------------------------------

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
ENDPOINTS = ("/execute", "/verify", "/verify/batch", "/tools", "/health", "/metrics")


class Metrics:
    """Request, verdict and latency counts. Updated only on the event loop's thread."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, int]] = Counter()
        self.verdicts: Counter[str] = Counter()
        self.buckets: dict[str, list[int]] = {e: [0] * len(LATENCY_BUCKETS) for e in ENDPOINTS}
        self.latency_sum: dict[str, float] = dict.fromkeys(ENDPOINTS, 0.0)
        self.latency_count: Counter[str] = Counter()

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests[(endpoint, status)] += 1
        if endpoint in self.buckets:
            for index, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    self.buckets[endpoint][index] += 1
            self.latency_sum[endpoint] += seconds
            self.latency_count[endpoint] += 1

    def render(self, pool: SandboxPool) -> str:
        lines = ["# HELP codeverify_requests_total HTTP requests answered, by endpoint and status.",
                 "# TYPE codeverify_requests_total counter"]
        for (endpoint, status), count in sorted(self.requests.items()):
            lines.append(f'codeverify_requests_total{{endpoint="{endpoint}",status="{status}"}} {count}')
        lines += ["# HELP codeverify_verdicts_total Verdicts given (one per test, or per /execute run).",
                  "# TYPE codeverify_verdicts_total counter"]
        for verdict in Verdict:
            lines.append(f'codeverify_verdicts_total{{verdict="{verdict.value}"}} {self.verdicts[verdict.value]}')
        lines += ["# HELP codeverify_request_duration_seconds Time to answer a request.",
                  "# TYPE codeverify_request_duration_seconds histogram"]
        for endpoint in ENDPOINTS:
            if not self.latency_count[endpoint]:
                continue
            for bound, count in zip(LATENCY_BUCKETS, self.buckets[endpoint], strict=True):
                lines.append(f'codeverify_request_duration_seconds_bucket{{endpoint="{endpoint}",le="{bound}"}} '
                             f"{count}")
            total = self.latency_count[endpoint]
            lines.append(f'codeverify_request_duration_seconds_bucket{{endpoint="{endpoint}",le="+Inf"}} {total}')
            lines.append(f'codeverify_request_duration_seconds_sum{{endpoint="{endpoint}"}} '
                         f"{self.latency_sum[endpoint]:.6f}")
            lines.append(f'codeverify_request_duration_seconds_count{{endpoint="{endpoint}"}} {total}')
        lines += [
            "# HELP codeverify_sandbox_restarts_total Sandbox runners restarted after a failure.",
            "# TYPE codeverify_sandbox_restarts_total counter",
            f"codeverify_sandbox_restarts_total {pool.restarts}",
            "# HELP codeverify_queue_depth Jobs waiting for a sandbox.",
            "# TYPE codeverify_queue_depth gauge",
            f"codeverify_queue_depth {pool.queue_depth}",
            "# HELP codeverify_sandboxes_busy Sandboxes running a job.",
            "# TYPE codeverify_sandboxes_busy gauge",
            f"codeverify_sandboxes_busy {pool.busy}",
            "# HELP codeverify_requests_in_flight Requests admitted and not yet answered.",
            "# TYPE codeverify_requests_in_flight gauge",
            f"codeverify_requests_in_flight {pool.in_flight}",
        ]
        return "\n".join(lines) + "\n"


class _MetricsMiddleware:
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
            path = scope.get("path", "")
            self.metrics.observe(path if path in ENDPOINTS else "other", status, time.monotonic() - start)


# ---------------------------------------------------------------------------------------
# The application
# ---------------------------------------------------------------------------------------


def create_app(config: ServerConfig, pool: SandboxPool | None = None) -> FastAPI:
    """The FastAPI application. It starts ``pool`` (or one made from ``config``) on startup."""
    pool = pool or SandboxPool(config.backend, config.workers, config.max_queue)
    limits = config.limits
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool.start()
        try:
            yield
        finally:
            await asyncio.to_thread(pool.close)

    app = FastAPI(title="codeverify", lifespan=lifespan)
    app.state.pool = pool
    app.state.metrics = metrics

    @app.exception_handler(RequestError)
    async def _refused(_: Request, exc: RequestError) -> JSONResponse:
        headers = {"Retry-After": "1"} if exc.status == 429 else None
        if exc.status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)

    def authorize(request: Request) -> None:
        if config.token is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, credential = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(), config.token.encode()):
            raise RequestError(401, "a valid bearer token is required (Authorization: Bearer <token>)")

    async def read_json(request: Request) -> Any:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limits.max_body_bytes:
            raise RequestError(413, f"the body is over {limits.max_body_bytes} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limits.max_body_bytes:
                raise RequestError(413, f"the body is over {limits.max_body_bytes} bytes")
        try:
            return json.loads(body)
        except ValueError as exc:
            raise RequestError(400, f"the body is not valid JSON: {exc}") from exc

    async def admitted(request: Request, handler: Callable[[], Awaitable[Response]]) -> Response:
        """Run ``handler`` as one admitted request: 429 when full, dropped work when the client leaves."""
        authorize(request)
        try:
            pool.admit()
        except PoolFull as exc:
            raise RequestError(429, f"the server is busy: {exc}; retry later") from exc
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

    # -- /execute -------------------------------------------------------------------------

    def execute_request(body: Any) -> tuple[Case, Any]:
        try:
            parsed = ExecuteRequest.model_validate(body)
        except ValidationError as exc:
            raise RequestError(422, _pydantic_errors(exc)) from exc
        try:
            language = check_language(parsed.language)
        except CaseError as exc:
            raise RequestError(422, str(exc)) from exc
        if len(parsed.code) > limits.max_code_chars:
            raise RequestError(413, f"field 'code': over {limits.max_code_chars} characters")
        stdin = parsed.stdin.encode()
        if len(stdin) > limits.max_stdin_bytes:
            raise RequestError(413, f"field 'stdin': over {limits.max_stdin_bytes} bytes")
        if parsed.time_limit > limits.max_time_limit:
            raise RequestError(422, f"field 'time_limit': at most {limits.max_time_limit:g} s")
        if parsed.memory_limit > limits.max_memory_limit:
            raise RequestError(422, f"field 'memory_limit': at most {limits.max_memory_limit} MiB")
        case = Case(id="execute", problem_id="execute", tests=(StdioTest(parsed.stdin, ""),), code=parsed.code,
                    language=language, time_limit=parsed.time_limit, memory_limit=parsed.memory_limit)
        return case, make_job(case, case.tests[0], limits.output_limit)

    @app.post("/execute")
    async def execute(request: Request) -> Response:
        async def handle() -> Response:
            case, job = execute_request(await read_json(request))

            def run(sandbox: Sandbox) -> dict[str, Any]:
                try:
                    raw = sandbox.run(job)
                except SandboxError as exc:
                    return {"stdout": "", "stderr": "", "exit_code": None, "signal": None, "verdict": "SE",
                            "message": f"sandbox failure ({sandbox.name}): {exc}", "time_s": 0.0, "wall_s": 0.0,
                            "truncated": False}
                verdict, message = classify(raw, time_limit=case.time_limit, memory_limit=case.memory_limit) \
                    or (Verdict.AC, "")
                return {"stdout": raw.stdout.decode("utf-8", errors="replace"),
                        "stderr": raw.stderr.decode("utf-8", errors="replace"),
                        "exit_code": raw.exit_code, "signal": raw.signal, "verdict": verdict.value,
                        "message": message, "time_s": round(raw.cpu_s, 6), "wall_s": round(raw.wall_s, 6),
                        "truncated": raw.stdout_truncated or raw.stderr_truncated}

            (result,) = await wait_all(request, [pool.submit(_guarded(run))])
            metrics.verdicts[result["verdict"]] += 1
            return JSONResponse(result)

        return await admitted(request, handle)

    @app.get("/tools")
    async def tools(request: Request) -> JSONResponse:
        authorize(request)
        return JSONResponse([tool_schema(limits)])

    # -- /verify --------------------------------------------------------------------------

    def record_cases(record: Any, format: str, reward_mode: str | None) -> tuple[list[Case], str]:
        """A record's cases and their reward mode; :class:`CaseError` when it cannot be read."""
        if not isinstance(record, dict):
            raise CaseError(f"a record must be a JSON object, got {type(record).__name__}")
        if format == "auto" and is_nemo_gym_request(record):
            cases = [nemo_gym_case(record, config.defaults)]
            mode = NEMO_GYM_REWARD_MODE
        else:
            reader = detect(record) if format == "auto" else READERS[format]
            cases = reader.read(record, 1, config.defaults)
            mode = "fraction"
        for case in cases:
            if len(case.tests) > limits.max_tests:
                raise CaseError(f"{len(case.tests)} tests; at most {limits.max_tests} per record", field="tests")
            if case.code is not None and len(case.code) > limits.max_code_chars:
                raise CaseError(f"the program is over {limits.max_code_chars} characters", field="code")
        return cases, reward_mode or mode

    def check_options(request: Request) -> tuple[str, str | None]:
        format = request.query_params.get("format", "auto")
        if format != "auto" and format not in READERS:
            raise RequestError(422, f"unknown format {format!r} (known: auto, {', '.join(READERS)})")
        reward_mode = request.query_params.get("reward")
        if reward_mode not in (None, "fraction", "all"):
            raise RequestError(422, f"unknown reward mode {reward_mode!r} (fraction or all)")
        return format, reward_mode

    def submit_case(case: Case) -> list[Future[Any]]:
        return [pool.submit(_guarded_test(case, test, limits.output_limit)) for test in case.tests]

    def case_result(case: Case, outcomes: list[Outcome], mode: str) -> dict[str, Any]:
        report = CaseReport(case, tuple(TestReport(case.test_name(i), o) for i, o in enumerate(outcomes)), mode)
        line = report.to_dict()
        for entry, outcome in zip(line["tests"], outcomes, strict=True):
            if outcome.message:
                entry["message"] = outcome.message
            metrics.verdicts[outcome.verdict.value] += 1
        return line

    def record_result(record: Any, cases: list[Case], mode: str, outcomes: list[list[Outcome]]) -> dict[str, Any]:
        lines = [case_result(case, result, mode) for case, result in zip(cases, outcomes, strict=True)]
        if len(lines) == 1:
            result = lines[0]
        else:  # a record holding several samples: each one, and the mean reward
            rewards = [line["reward"] for line in lines]
            result = {"reward": None if None in rewards else sum(rewards) / len(rewards), "cases": lines}
        if isinstance(record, dict) and is_nemo_gym_request(record):
            # As a NeMo Gym resource server answers: the request echoed, plus the reward.
            result = {**record, **result}
            if cases[0].extracted is not None:
                result["extracted_model_code"] = cases[0].extracted
        return result

    @app.post("/verify")
    async def verify(request: Request) -> Response:
        async def handle() -> Response:
            format, reward_mode = check_options(request)
            record = await read_json(request)
            try:
                cases, mode = record_cases(record, format, reward_mode)
            except CaseError as exc:
                raise RequestError(422, str(exc)) from exc
            groups = [submit_case(case) for case in cases]
            flat = await wait_all(request, [f for group in groups for f in group])
            return JSONResponse(record_result(record, cases, mode, _regroup(flat, groups)))

        return await admitted(request, handle)

    @app.post("/verify/batch")
    async def verify_batch(request: Request) -> Response:
        async def handle() -> Response:
            format, reward_mode = check_options(request)
            body = await read_json(request)
            records = body.get("records") if isinstance(body, dict) else body
            if not isinstance(records, list):
                raise RequestError(422, 'the body must be a list of records or {"records": [...]}')
            if len(records) > limits.max_batch:
                raise RequestError(413, f"{len(records)} records; at most {limits.max_batch} per batch")
            read: list[tuple[list[Case], str] | CaseError] = []
            for record in records:
                try:
                    read.append(record_cases(record, format, reward_mode))
                except CaseError as exc:
                    read.append(exc)
            if sum(len(c.tests) for item in read if not isinstance(item, CaseError) for c in item[0]) \
                    > limits.max_tests * 10:
                raise RequestError(413, f"over {limits.max_tests * 10} tests in one batch")
            # Submit everything before waiting, so the whole batch runs on every sandbox at once.
            plans = [None if isinstance(item, CaseError) else [submit_case(c) for c in item[0]] for item in read]
            flat = await wait_all(request, [f for plan in plans if plan for group in plan for f in group])
            results: list[dict[str, Any]] = []
            position = 0
            for record, item, plan in zip(records, read, plans, strict=True):
                if isinstance(item, CaseError) or plan is None:
                    results.append(unreadable_line(given_id(record), item))
                    continue
                count = sum(len(group) for group in plan)
                mine = flat[position:position + count]
                position += count
                results.append(record_result(record, item[0], item[1], _regroup(mine, plan)))
            return JSONResponse({"results": results})

        return await admitted(request, handle)

    # -- health and metrics ---------------------------------------------------------------

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok", "backend": pool.backend, "isolation": pool.description,
                             "workers": pool.workers, "busy": pool.busy, "queue_depth": pool.queue_depth,
                             "in_flight": pool.in_flight, "max_queue": pool.max_queue,
                             "sandbox_restarts": pool.restarts})

    @app.get("/metrics")
    async def prometheus(request: Request) -> PlainTextResponse:
        authorize(request)
        return PlainTextResponse(metrics.render(pool), media_type="text/plain; version=0.0.4")

    app.add_middleware(_MetricsMiddleware, metrics=metrics)  # type: ignore[arg-type]
    return app


def _guarded(run: Callable[[Sandbox], dict[str, Any]]) -> Callable[[Sandbox], dict[str, Any]]:
    """``run``, with any unexpected failure turned into an ``SE`` answer instead of a 500."""

    def guarded(sandbox: Sandbox) -> dict[str, Any]:
        try:
            return run(sandbox)
        except Exception as exc:  # an infrastructure failure is SE, never a crash
            return {"stdout": "", "stderr": "", "exit_code": None, "signal": None, "verdict": "SE",
                    "message": f"internal error: {type(exc).__name__}: {exc}", "time_s": 0.0, "wall_s": 0.0,
                    "truncated": False}

    return guarded


def _guarded_test(case: Case, test: Any, output_limit: int) -> Callable[[Sandbox], Outcome]:
    def run(sandbox: Sandbox) -> Outcome:
        try:
            return run_test(sandbox, case, test, output_limit)
        except Exception as exc:  # an infrastructure failure is SE, never a wrong answer
            return Outcome(Verdict.SE, f"internal error: {type(exc).__name__}: {exc}")

    return run


def _regroup(flat: list[Any], groups: list[list[Future[Any]]]) -> list[list[Any]]:
    out, position = [], 0
    for group in groups:
        out.append(flat[position:position + len(group)])
        position += len(group)
    return out


def _pydantic_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"field": ".".join(str(p) for p in error["loc"]) or "body", "message": error["msg"]}
            for error in exc.errors()]


async def _disconnected(request: Request) -> None:
    """Return when the client has gone (the body is already read, so only a disconnect is left)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
