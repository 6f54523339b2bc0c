"""``codeverify serve --calibrate``: the plugin's calibration applied to /verify requests, once
per problem, across requests (and restarts, through the cache directory)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from pytest_codeverify.cases import Case, StdioTest, TestSpec
from pytest_codeverify.config import CALIBRATION_FACTOR
from pytest_codeverify.judge import Outcome
from pytest_codeverify.protocol import Verdict

pytest.importorskip("fastapi")

from pytest_codeverify.calibration import Calibration
from pytest_codeverify.server import ServerConfig, create_app
from pytest_codeverify.server import calibrate as server_calibrate

#: ~0.3 s of CPU here: more than the declared limit below, far less than a calibrated one.
REFERENCE = "n = int(input())\nprint(sum(range(n)))\n"
#: The same answer for ten times the work.
HEAVY = "n = int(input())\nfor _ in range(10):\n    s = sum(range(n))\nprint(s)\n"
RECORD = {"id": "sum", "problem_id": "sum", "time_limit": 0.05, "reference": REFERENCE,
          "tests": [{"input": "30000000\n", "output": f"{sum(range(3 * 10**7))}\n"}]}


def _case(problem: str = "p") -> Case:
    return Case(id=problem, problem_id=problem, tests=(StdioTest("1\n", "1\n"),), code="print(1)",
                reference="print(input())")


class Pool:
    """Stands in for the sandbox pool: counts submissions and runs each in a thread of its own."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.submitted = 0
        self.gate = gate

    def submit(self, fn: Callable[[Any], Calibration]) -> Future[Calibration]:
        self.submitted += 1
        future: Future[Calibration] = Future()

        def work() -> None:
            if self.gate is not None:
                self.gate.wait(10)
            future.set_running_or_notify_cancel()
            future.set_result(fn(None))

        threading.Thread(target=work).start()
        return future


def test_concurrent_requests_for_one_problem_wait_for_one_measurement(monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[str | None] = []

    def fake_run(sandbox: object, case: Case, test: TestSpec, output_limit: int) -> Outcome:
        runs.append(case.code)
        return Outcome(Verdict.AC, "", 0.5)

    monkeypatch.setattr(server_calibrate, "run_test", fake_run)
    gate = threading.Event()
    pool = Pool(gate)
    calibrator = server_calibrate.ServerCalibrator(None, 1 << 20)
    first = calibrator.future(_case(), pool.submit)
    second = calibrator.future(_case(), pool.submit)
    assert first is not None and first is second and pool.submitted == 1
    # A request whose client went away cancels its own view, not the shared measurement.
    abandoned = server_calibrate.follower(first)
    kept = server_calibrate.follower(first)
    abandoned.cancel()
    gate.set()
    calibration = kept.result(10)
    assert calibration.limit == pytest.approx(CALIBRATION_FACTOR * 0.5) and not first.cancelled()
    assert runs == ["print(input())"]  # the reference ran, not the candidate
    assert calibrator.future(_case(), pool.submit) is first and pool.submitted == 1
    assert calibrator.future(_case("other"), pool.submit) is not first and pool.submitted == 2
    assert calibrator.future(Case(id="x", problem_id="x", tests=(StdioTest("", ""),), code="1"), pool.submit) is None


def test_a_failed_measurement_is_measured_again(monkeypatch: pytest.MonkeyPatch) -> None:
    verdicts = [Verdict.SE, Verdict.AC]

    def fake_run(sandbox: object, case: Case, test: TestSpec, output_limit: int) -> Outcome:
        return Outcome(verdicts.pop(0), "the sandbox broke", 0.25)

    monkeypatch.setattr(server_calibrate, "run_test", fake_run)
    pool = Pool()
    calibrator = server_calibrate.ServerCalibrator(None, 1 << 20)
    first = calibrator.future(_case(), pool.submit)
    assert first is not None and first.result(10).error == "the sandbox broke"
    second = calibrator.future(_case(), pool.submit)
    assert second is not first and second is not None and second.result(10).limit == pytest.approx(1.0)
    assert pool.submitted == 2


@pytest.mark.sandbox
@pytest.mark.slow
def test_serve_calibrate_sets_limits_from_references_once(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    cache = tmp_path / "cache"
    broken = {"id": "broken", "reference": "print(0)", "code": "print(1)", "tests": [{"input": "", "output": "1\n"}]}
    plain_app = create_app(ServerConfig(backend="local", workers=1))
    with TestClient(plain_app) as client:
        plain = client.post("/verify", json={**RECORD, "code": REFERENCE}).json()
    assert plain["verdict"] == "TLE" and "calibrated" not in plain  # the declared limit was set elsewhere

    app = create_app(ServerConfig(backend="local", workers=1, calibrate=True, cache_dir=str(cache)))
    with TestClient(app) as client:
        reference = client.post("/verify", json={**RECORD, "code": REFERENCE}).json()
        heavy = client.post("/verify", json={**RECORD, "id": "heavy", "code": HEAVY}).json()
        batch = client.post("/verify/batch", json=[{**RECORD, "code": REFERENCE}, broken, "not a record"]).json()
    calibrator = app.state.ctx.calibrator
    assert calibrator is not None and calibrator.measured == 2  # the sum problem once, the broken one once
    assert (reference["verdict"], heavy["verdict"]) == ("AC", "TLE"), (reference, heavy)
    assert reference["calibrated"] is True and reference["time_limit"] > 0.05
    assert heavy["time_limit"] == reference["time_limit"]  # one problem, one measured limit
    verdicts = [line.get("verdict") for line in batch["results"]]
    assert verdicts[:2] == ["AC", "AC"] and batch["results"][0]["time_limit"] == reference["time_limit"]
    assert "fails its own tests" in batch["results"][1]["dataset_problems"][0]

    restarted = create_app(ServerConfig(backend="local", workers=1, calibrate=True, cache_dir=str(cache)))
    with TestClient(restarted) as client:
        again = client.post("/verify", json={**RECORD, "code": REFERENCE}).json()
    assert again["verdict"] == "AC" and again["time_limit"] == reference["time_limit"]
    assert restarted.state.ctx.calibrator.measured == 0  # read from the cache directory


@pytest.mark.sandbox
@pytest.mark.slow
def test_the_serve_command_calibrates_with_its_cache_dir(tmp_path: Path) -> None:
    from test_server import Server

    cache = tmp_path / "cache"
    running = Server("--workers", "1", "--backend", "local", "--calibrate", "--cache-dir", str(cache))
    try:
        answer = running.client.post("/verify", json={**RECORD, "code": REFERENCE}).json()
    finally:
        running.stop()
    assert (answer["verdict"], answer["calibrated"]) == ("AC", True), answer
    assert len(list((cache / "calibration").glob("*.json"))) == 1
