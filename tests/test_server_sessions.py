"""Tool sessions over HTTP: the native shape (/sessions + /execute with session_id) and NeMo Gym's
math_with_code shape (cookie, /seed_session, /execute_python, /end_session); limits and metrics.
Also the server's own robustness: candidate text that is not valid Unicode, deeply nested bodies."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from test_server import Server

httpx = pytest.importorskip("httpx")

pytestmark = [pytest.mark.sandbox]

COOKIE = "PythonExecutorResourcesServer___math_with_code"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server("--workers", "1", "--backend", "local", "--max-sessions", "4", "--session-time-limit", "1")
    yield running
    running.stop()


def new_session(server: Server) -> str:
    response = server.client.post("/sessions")
    assert response.status_code == 201, response.text
    session_id: str = response.json()["session_id"]
    return session_id


def call(server: Server, session_id: str, code: str, **fields: Any) -> dict[str, Any]:
    response = server.client.post("/execute", json={"code": code, "session_id": session_id, **fields})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


# -- native shape -------------------------------------------------------------------------


def test_a_session_keeps_its_state_and_sessions_stay_apart(server: Server) -> None:
    one, two = new_session(server), new_session(server)
    try:
        assert call(server, one, "import math\nx = 6\nopen('/tmp/a.txt', 'w').write('one')")["verdict"] == "AC"
        answer = call(server, one, "print(open('/tmp/a.txt').read())\nx * 7 + math.floor(0.9)")
        assert (answer["stdout"], answer["result"], answer["restarted"]) == ("one\n", "42", False)
        other = call(server, two, "import os\nprint(os.path.exists('/tmp/a.txt'))\nx")
        assert (other["stdout"], other["verdict"]) == ("False\n", "RE")
        assert "NameError" in other["message"]
        # Without session_id, /execute is stateless as ever.
        stateless = server.client.post("/execute", json={"code": "print(x)"}).json()
        assert stateless["verdict"] == "RE" and "session_id" not in stateless
    finally:
        for session_id in (one, two):
            server.client.delete(f"/sessions/{session_id}")


def test_ended_and_unknown_sessions_are_404(server: Server) -> None:
    session_id = new_session(server)
    ended = server.client.delete(f"/sessions/{session_id}")
    assert ended.status_code == 200 and ended.json()["ended"] is True
    for response in (server.client.post("/execute", json={"code": "1", "session_id": session_id}),
                     server.client.delete(f"/sessions/{session_id}"),
                     server.client.post("/execute", json={"code": "1", "session_id": "no-such-session"})):
        assert response.status_code == 404, response.text
        assert "no such session" in response.json()["detail"]


@pytest.mark.slow
def test_a_call_over_its_time_limit_restarts_the_session(server: Server) -> None:
    session_id = new_session(server)
    try:
        call(server, session_id, "x = 1")
        interrupted = call(server, session_id, "while True:\n    pass\n")
        assert (interrupted["verdict"], interrupted["restarted"]) == ("TLE", False)
        assert "keeps its state" in interrupted["message"]
        assert call(server, session_id, "x")["result"] == "1"
        stubborn = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"
        timed_out = call(server, session_id, stubborn)
        assert (timed_out["verdict"], timed_out["restarted"]) == ("TLE", True)
        assert "state" in timed_out["message"] and "lost" in timed_out["message"]
        after = call(server, session_id, "'x' in globals()")
        assert (after["verdict"], after["result"]) == ("AC", "False")
        crashed = call(server, session_id, "import os\nos.abort()")
        assert (crashed["verdict"], crashed["restarted"]) == ("RE", True)
        metrics = server.client.get("/metrics").text
        restarts = next(line for line in metrics.splitlines() if line.startswith("codeverify_session_restarts_total"))
        assert float(restarts.split()[-1]) >= 2
    finally:
        server.client.delete(f"/sessions/{session_id}")


def test_session_calls_refuse_what_a_session_cannot_change(server: Server) -> None:
    session_id = new_session(server)
    try:
        for fields, words in (({"memory_limit": 64}, "memory_limit"), ({"language": "c"}, "language")):
            response = server.client.post("/execute", json={"code": "1", "session_id": session_id, **fields})
            assert response.status_code == 422 and words in json.dumps(response.json()["detail"])
    finally:
        server.client.delete(f"/sessions/{session_id}")


@pytest.mark.slow
def test_too_many_sessions_get_429_with_retry_after_and_idle_ones_expire() -> None:
    small = Server("--workers", "1", "--backend", "local", "--max-sessions", "1", "--session-idle-timeout", "1")
    try:
        first = small.client.post("/sessions").json()["session_id"]
        refused = small.client.post("/sessions")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 1
        deadline = time.monotonic() + 30
        while small.health()["sessions"]:
            assert time.monotonic() < deadline, "the idle session never expired"
            time.sleep(0.2)
        assert small.client.post("/execute", json={"code": "1", "session_id": first}).status_code == 404
        assert small.client.post("/sessions").status_code == 201
        metrics = small.client.get("/metrics").text
        assert "codeverify_sessions_live 1.0" in metrics
        assert "codeverify_sessions_expired_total 1.0" in metrics
    finally:
        below = small.descendants()
        small.stop()
    # Shutting down ends every session: no sandbox is left behind.
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in below):
        assert time.monotonic() < deadline, "a session's sandbox outlived the server"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# -- NeMo Gym's math_with_code shape ---------------------------------------------------------


def test_gym_shape_keeps_state_per_cookie(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as agent, httpx.Client(base_url=server.url, timeout=60) as rival:
        seeded = agent.post("/seed_session", json={})
        assert (seeded.status_code, seeded.json()) == (200, {})
        assert COOKIE in agent.cookies
        signed = agent.cookies[COOKIE]
        payload = json.loads(base64.b64decode(signed.split(".")[0] + "=="))
        assert set(payload) == {"session_id"}
        first = agent.post("/execute_python", json={"code": "import math\nr = math.sqrt(16)\nr * 2"}).json()
        assert first == {"success": True, "stdout": "", "stderr": "", "error_message": None, "result": "8.0"}
        second = agent.post("/execute_python", json={"code": "print(r)\nr + 1"}).json()
        assert (second["stdout"], second["result"]) == ("4.0\n", "5.0")
        # Another agent (no cookie yet) gets a session of its own on first use.
        theirs = rival.post("/execute_python", json={"code": "r"}).json()
        assert theirs["success"] is False and theirs["error_message"] == "name 'r' is not defined"
        assert rival.cookies[COOKIE] != agent.cookies[COOKIE]
        failed = agent.post("/execute_python", json={"code": "1 / 0"}).json()
        assert (failed["success"], failed["error_message"], failed["result"]) == (False, "division by zero", None)
        assert "ZeroDivisionError" in failed["stderr"]
        ended = agent.post("/end_session", json={}).json()
        assert ended == {"success": True, "stdout": "", "stderr": "", "error_message": None, "result": None}
        fresh = agent.post("/execute_python", json={"code": "r"}).json()
        assert fresh["success"] is False  # a new session after the end: nothing kept
        agent.post("/end_session", json={})
        rival.post("/end_session", json={})


def test_gym_seed_session_takes_the_typed_body(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as agent:
        body = {"resources_session_id": "rs-1", "episode_id": "ep-1", "task_id": "t-1", "task_data": {"q": 1}}
        seeded = agent.post("/seed_session", json=body)
        assert seeded.status_code == 200 and seeded.json() == {"resources_session_id": "rs-1"}
        bad = agent.post("/seed_session", json={"resources_session_id": "rs-1", "surprise": 1})
        assert bad.status_code == 422
        assert agent.post("/execute_python", json={"codez": "1"}).status_code == 422
        agent.post("/end_session", json={})


# -- the server never fails on what a candidate prints, nor on a deep body -------------------


SURROGATE = "raise ValueError('bad \\ud800 text')\n"


def test_a_lone_surrogate_in_an_exception_is_an_honest_verdict_not_a_500(server: Server) -> None:
    executed = server.client.post("/execute", json={"code": SURROGATE})
    assert executed.status_code == 200, executed.text
    assert executed.json()["verdict"] == "RE" and "bad" in executed.json()["message"]
    # As in any Python: a lone surrogate cannot be written as UTF-8 (an honest RE); one that stands
    # for an undecodable byte goes out as that byte, and comes back replaced.
    printed = server.client.post("/execute", json={"code": "import sys\nsys.stdout.write('\\ud800')\n"})
    assert printed.status_code == 200 and printed.json()["verdict"] == "RE"
    escaped = server.client.post("/execute", json={"code": "import sys\nsys.stdout.write('a\\udcffb')\n"})
    assert escaped.status_code == 200 and escaped.json()["stdout"] == "a\ufffdb"
    verified = server.client.post("/verify", json={"code": SURROGATE, "tests": [{"input": "", "output": "x"}]})
    assert verified.status_code == 200, verified.text
    assert verified.json()["tests"][0]["verdict"] == "RE"
    called = server.client.post("/verify", json={"code": "def f():\n    return '\\ud800'\n", "entry_point": "f",
                                                 "tests": [{"args": [], "expected": "x"}]})
    assert called.status_code == 200, called.text
    session_id = new_session(server)
    try:
        in_session = call(server, session_id, SURROGATE + "\n")
        assert in_session["verdict"] == "RE"
        assert call(server, session_id, "'\\ud800'")["verdict"] == "AC"
    finally:
        server.client.delete(f"/sessions/{session_id}")


@pytest.mark.parametrize("path", ["/execute", "/verify", "/verify/batch", "/seed_session", "/execute_python"])
@pytest.mark.parametrize("depth", [500, 100_000])
def test_a_deeply_nested_body_is_a_4xx(server: Server, path: str, depth: int) -> None:
    response = server.client.post(path, content=b"[" * depth + b"]" * depth,
                                  headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert "nested" in response.json()["detail"]
    assert server.health()["status"] == "ok"


def test_health_says_whether_the_backend_isolates(server: Server) -> None:
    health = server.health()
    assert health["isolated"] is True
    assert "NO namespace isolation" not in health["isolation"]
    assert {"sessions", "max_sessions"} <= set(health)
