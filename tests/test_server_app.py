"""The server's application without a sandbox: fake backends behind the real routes, auth,
limits as pydantic constraints, metrics per app, text that is not valid Unicode, deep bodies,
and the NeMo Gym cookie. Fast: no sandbox, no subprocess."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from pytest_codeverify.protocol import Job, RawResult
from pytest_codeverify.server import SandboxPool, ServerConfig, ServerLimits, create_app
from pytest_codeverify.server.http import _nesting, clean_text
from pytest_codeverify.sessions import SessionManager


class FakeSandbox:
    """Answers every job as if the program printed its code; exceptions carry a lone surrogate."""

    name = "fake"
    description = "fake sandbox"
    isolated = True

    def __init__(self, backend: str = "fake") -> None:
        self.restarts = 0

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass

    def run(self, job: Job) -> RawResult:
        if "raise" in job.code:
            outcome = {"status": "exception", "type": "ValueError", "message": "bad \ud800"}
            return RawResult(1 if job.mode != "session" else 0, None, b"", b"", False, False, 0.0, 0.0, None,
                             outcome)
        return RawResult(0, None, job.code.encode(), b"", False, False, 0.0, 0.0, None,
                         {"status": "ok", "value": job.code} if job.mode == "session" else None)


def app_client(**config: Any) -> TestClient:
    pool = SandboxPool("fake", 1, 4, factory=lambda _: FakeSandbox())  # type: ignore[arg-type,return-value]
    sessions = SessionManager("fake", max_sessions=2, factory=lambda _: FakeSandbox())  # type: ignore[arg-type,return-value]
    return TestClient(create_app(ServerConfig(**config), pool, sessions))


@pytest.fixture
def client() -> Iterator[TestClient]:
    with app_client() as running:
        yield running


def test_bearer_token_is_checked_and_health_stays_open() -> None:
    with app_client(token="s3cret") as guarded:
        assert guarded.get("/health").status_code == 200
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic s3cret"}):
            refused = guarded.post("/execute", json={"code": "x"}, headers=headers)
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        ok = guarded.post("/execute", json={"code": "x"}, headers={"Authorization": "Bearer s3cret"})
        assert ok.json()["stdout"] == "x"
        assert guarded.post("/sessions").status_code == 401
        assert guarded.post("/execute_python", json={"code": "1"}).status_code == 401


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"code": "x" * 101}, 413, "code"),
    ({"code": "x", "stdin": "é" * 30}, 413, "stdin"),  # 60 bytes of UTF-8 in 30 characters
    ({"code": "x", "time_limit": 6}, 422, "time_limit"),
    ({"code": "x", "memory_limit": 0}, 422, "memory_limit"),
    ({"code": "x", "extra": 1}, 422, "extra"),
])
def test_request_limits_are_pydantic_constraints(body: dict[str, Any], status: int, field: str) -> None:
    limits = ServerLimits(max_code_chars=100, max_stdin_bytes=50, max_time_limit=5)
    with app_client(limits=limits) as small:
        response = small.post("/execute", json=body)
        assert response.status_code == status, response.text
        assert field in json.dumps(response.json()["detail"])


def test_each_app_has_its_own_metrics(client: TestClient) -> None:
    client.post("/execute", json={"code": "x"})
    with app_client() as other:
        text = other.get("/metrics").text
        assert 'codeverify_requests_total{endpoint="/execute",status="200"}' not in text
        assert 'codeverify_verdicts_total{verdict="AC"} 0.0' in text
    text = client.get("/metrics").text
    assert 'codeverify_requests_total{endpoint="/execute",status="200"} 1.0' in text
    assert "codeverify_sessions_live 0.0" in text


def test_a_lone_surrogate_never_breaks_an_answer(client: TestClient) -> None:
    executed = client.post("/execute", json={"code": "raise"})
    assert executed.status_code == 200
    assert executed.json()["message"] == "ValueError: bad \ufffd"
    verified = client.post("/verify", json={"code": "raise", "tests": [{"input": "", "output": "1"}]})
    assert verified.status_code == 200 and verified.json()["tests"][0]["verdict"] == "RE"
    assert clean_text({"k\ud800": ["\udcff", 1]}) == {"k\ufffd": ["\ufffd", 1]}


def test_deep_bodies_are_400(client: TestClient) -> None:
    for depth in (101, 50_000):
        response = client.post("/verify", content=b"[" * depth + b"]" * depth)
        assert response.status_code == 400 and "nested" in response.json()["detail"]
    assert _nesting({"a": [[1], {"b": [2]}]}) == 4 and _nesting(5) == 0
    assert client.post("/verify", json={"code": "x", "tests": [{"input": "", "output": "x"}],
                                        "meta": [[[[1]]]]}).status_code == 200


def test_sessions_native_shape_and_429(client: TestClient) -> None:
    first = client.post("/sessions").json()["session_id"]
    client.post("/sessions")
    full = client.post("/sessions")
    assert full.status_code == 429 and int(full.headers["retry-after"]) >= 1
    answer = client.post("/execute", json={"code": "value", "session_id": first}).json()
    assert (answer["result"], answer["session_id"], answer["restarted"]) == ("value", first, False)
    assert client.delete(f"/sessions/{first}").status_code == 200
    assert client.post("/execute", json={"code": "1", "session_id": first}).status_code == 404
    assert client.delete(f"/sessions/{first}").status_code == 404
    assert client.get("/health").json()["sessions"] == 1


def test_gym_shape_rides_a_signed_cookie(client: TestClient) -> None:
    assert client.post("/seed_session", json={}).json() == {}
    cookie = client.cookies["PythonExecutorResourcesServer___math_with_code"]
    session_id = json.loads(base64.b64decode(cookie.split(".")[0] + "=="))["session_id"]
    answer = client.post("/execute_python", json={"code": "2 + 2"}).json()
    assert answer == {"success": True, "stdout": "2 + 2", "stderr": "", "error_message": None, "result": "2 + 2"}
    failed = client.post("/execute_python", json={"code": "raise"}).json()
    assert (failed["success"], failed["error_message"]) == (False, "bad \ufffd")
    assert client.get("/health").json()["sessions"] == 1
    # A forged cookie is not a session: it gets a new one.
    forged = base64.b64encode(json.dumps({"session_id": session_id}).encode()).decode() + ".forged"
    other = TestClient(client.app, cookies={"PythonExecutorResourcesServer___math_with_code": forged})
    other.post("/execute_python", json={"code": "1"})
    assert client.get("/health").json()["sessions"] == 2
    other.post("/end_session", json={})
    closed = client.post("/close_session", json={"resources_session_id": "rs", "episode_id": "e"})
    assert closed.json() == {"resources_session_id": "rs"}
    assert client.get("/health").json()["sessions"] == 0
