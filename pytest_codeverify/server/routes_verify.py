"""``POST /verify`` (one record, or a NeMo Gym verify request) and ``POST /verify/batch``."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..cases import Case, CaseError, TestSpec
from ..engine import CaseReport, TestReport, run_test
from ..executors.ray import lost_outcomes
from ..formats import READERS, detect, given_id, with_extras
from ..judge import Outcome, Verdict
from ..rewards import unreadable_line
from ..sandbox import Sandbox
from .calibrate import calibrated, follower
from .http import AppContext, RequestError, SafeJSONResponse, admitted, authorize, context, read_json, wait_all
from .nemo import NEMO_GYM_REWARD_MODE, is_nemo_gym_request, nemo_gym_case

router = APIRouter(dependencies=[Depends(authorize)])


@router.post("/verify")
async def verify(request: Request) -> Response:
    """Verify one record of any supported format, or a NeMo Gym verify request."""
    ctx = context(request)

    async def handle() -> Response:
        format, reward_mode = _options(request)
        record = await read_json(request)
        try:
            cases, mode = _record_cases(ctx, record, format, reward_mode)
        except CaseError as exc:
            raise RequestError(422, str(exc)) from exc
        cases = await _calibrated(request, ctx, cases)
        groups = [_submit_case(ctx, case) for case in cases]
        flat = await wait_all(request, [f for group in groups for f in group])
        return SafeJSONResponse(_record_result(ctx, record, cases, mode, _regroup(flat, groups)))

    return await admitted(request, handle)


@router.post("/verify/batch")
async def verify_batch(request: Request) -> Response:
    """Verify many records, answered in order; every test of the batch is queued at once."""
    ctx = context(request)
    limits = ctx.config.limits

    async def handle() -> Response:
        format, reward_mode = _options(request)
        body = await read_json(request)
        records = body.get("records") if isinstance(body, dict) else body
        if not isinstance(records, list):
            raise RequestError(422, 'the body must be a list of records or {"records": [...]}')
        if len(records) > limits.max_batch:
            raise RequestError(413, f"{len(records)} records; at most {limits.max_batch} per batch")
        read: list[tuple[list[Case], str] | CaseError] = []
        for record in records:
            try:
                read.append(_record_cases(ctx, record, format, reward_mode))
            except CaseError as exc:
                read.append(exc)
        if sum(len(c.tests) for item in read if not isinstance(item, CaseError) for c in item[0]) \
                > limits.max_tests * 10:
            raise RequestError(413, f"over {limits.max_tests * 10} tests in one batch")
        readable = [case for item in read if not isinstance(item, CaseError) for case in item[0]]
        measured = iter(await _calibrated(request, ctx, readable))
        read = [item if isinstance(item, CaseError) else ([next(measured) for _ in item[0]], item[1])
                for item in read]
        # Submit everything before waiting, so the whole batch runs on every sandbox at once.
        plans = [None if isinstance(item, CaseError) else [_submit_case(ctx, c) for c in item[0]] for item in read]
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
            results.append(_record_result(ctx, record, item[0], item[1], _regroup(mine, plan)))
        return SafeJSONResponse({"results": results})

    return await admitted(request, handle)


def _options(request: Request) -> tuple[str, str | None]:
    format = request.query_params.get("format", "auto")
    if format != "auto" and format not in READERS:
        raise RequestError(422, f"unknown format {format!r} (known: auto, {', '.join(READERS)})")
    reward_mode = request.query_params.get("reward")
    if reward_mode not in (None, "fraction", "all"):
        raise RequestError(422, f"unknown reward mode {reward_mode!r} (fraction or all)")
    return format, reward_mode


def _record_cases(ctx: AppContext, record: Any, format: str, reward_mode: str | None) -> tuple[list[Case], str]:
    """A record's cases and their reward mode; :class:`CaseError` when it cannot be read."""
    limits = ctx.config.limits
    if not isinstance(record, dict):
        raise CaseError(f"a record must be a JSON object, got {type(record).__name__}")
    if format == "auto" and is_nemo_gym_request(record):
        cases = [nemo_gym_case(record, ctx.config.defaults)]
        mode = NEMO_GYM_REWARD_MODE
    else:
        reader = detect(record) if format == "auto" else READERS[format]
        # A checker or accepted outputs judge as they do everywhere else.
        cases = with_extras(reader.read(record, 1, ctx.config.defaults), record, reader.name)
        mode = "fraction"
    cases = [replace(case, time_scale=ctx.config.defaults.time_scale) for case in cases]
    for case in cases:
        if len(case.tests) > limits.max_tests:
            raise CaseError(f"{len(case.tests)} tests; at most {limits.max_tests} per record", field="tests")
        if case.code is not None and len(case.code) > limits.max_code_chars:
            raise CaseError(f"the program is over {limits.max_code_chars} characters", field="code")
    return cases, reward_mode or mode


async def _calibrated(request: Request, ctx: AppContext, cases: list[Case]) -> list[Case]:
    """``cases`` with their problems' calibrated limits, when the server calibrates (measuring,
    on the pool, the problems it has not measured yet)."""
    if ctx.calibrator is None:
        return cases
    shared = [ctx.calibrator.future(case, ctx.pool.submit) for case in cases]
    waiting = [follower(future) for future in shared if future is not None]
    results = iter(await wait_all(request, waiting))
    return [calibrated(case, next(results) if future is not None else None)
            for case, future in zip(cases, shared, strict=True)]


def _submit_case(ctx: AppContext, case: Case) -> list[Future[Any]]:
    """A future of each test's outcome: one job per test on this machine's pool, or the whole
    case as one task on the Ray cluster (its outcomes handed out to the tests' futures)."""
    if ctx.cluster is None:
        return [ctx.pool.submit(_guarded_test(case, test, ctx.config.limits.output_limit)) for test in case.tests]
    whole = ctx.cluster.submit(case, "outcomes", lost_outcomes)
    tests: list[Future[Any]] = [Future() for _ in case.tests]

    def hand_out(done: Future[Any]) -> None:
        try:
            outcomes = done.result()
        except BaseException as exc:  # handed to the waiting request as SE
            outcomes = lost_outcomes(case, f"internal error: {type(exc).__name__}: {exc}")
        for future, outcome in zip(tests, outcomes, strict=True):
            if future.set_running_or_notify_cancel():  # False: the client left and cancelled it
                future.set_result(outcome)

    whole.add_done_callback(hand_out)
    return tests


def _case_result(ctx: AppContext, case: Case, outcomes: list[Outcome], mode: str) -> dict[str, Any]:
    # With the case and test, a failing test's entry carries its evidence, as in the rewards file.
    tests = tuple(TestReport(case.test_name(i), outcome, case, case.tests[i]) for i, outcome in enumerate(outcomes))
    report = CaseReport(case, tests, mode)
    line = report.to_dict()
    for entry, outcome in zip(line["tests"], outcomes, strict=True):
        if outcome.message:
            entry["message"] = outcome.message
        ctx.metrics.verdict(outcome.verdict.value)
    return line


def _record_result(ctx: AppContext, record: Any, cases: list[Case], mode: str,
                   outcomes: list[list[Outcome]]) -> dict[str, Any]:
    lines = [_case_result(ctx, case, result, mode) for case, result in zip(cases, outcomes, strict=True)]
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


def _guarded_test(case: Case, test: TestSpec, output_limit: int) -> Callable[[Sandbox], Outcome]:
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
