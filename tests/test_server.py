"""The HTTP server, started for real (``codeverify serve`` on a free loopback port), endpoint by endpoint."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, read_jsonl

pytestmark = pytest.mark.sandbox

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

ADD = "a, b = map(int, input().split())\nprint(a + b)\n"


class Server:
    """A ``codeverify serve`` subprocess on a free loopback port."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pytest_codeverify.cli", "serve", "--port", str(self.port), *args],
            env={**os.environ, **(env or {})}, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        self.client = httpx.Client(base_url=self.url, timeout=120)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: {self.proc.stderr.read() if self.proc.stderr else ''}")
            try:
                if self.client.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the server did not come up")
            time.sleep(0.1)

    def health(self) -> dict[str, Any]:
        return self.client.get("/health").json()

    def wait_for(self, **state: int) -> None:
        """Poll /health until it shows ``state`` (a synchronisation point, not a timing check)."""
        deadline = time.monotonic() + 60
        while any(self.health()[key] != value for key, value in state.items()):
            assert time.monotonic() < deadline, f"/health never showed {state}: {self.health()}"
            time.sleep(0.05)

    def descendants(self) -> set[int]:
        """Every process below the server (its sandboxes and whatever runs in them)."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                children.setdefault(int(fields[1]), []).append(int(entry.name))
        found, todo = set(), [self.proc.pid]
        while todo:
            for child in children.get(todo.pop(), []):
                found.add(child)
                todo.append(child)
        return found

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server("--workers", "2", "--backend", "local")
    yield running
    running.stop()


def execute(server: Server, code: str, **fields: Any) -> dict[str, Any]:
    response = server.client.post("/execute", json={"code": code, **fields})
    assert response.status_code == 200, response.text
    return response.json()


# -- /execute and /tools -----------------------------------------------------------------


def test_execute_runs_a_program_on_stdin(server: Server) -> None:
    result = execute(server, ADD, stdin="2 3\n")
    assert result["verdict"] == "AC"
    assert result["stdout"] == "5\n"
    assert result["exit_code"] == 0
    assert result["truncated"] is False
    assert set(result) >= {"stdout", "stderr", "exit_code", "verdict", "time_s", "truncated"}


@pytest.mark.parametrize(("code", "verdict"), [
    ("print(1", "CE"),
    ("raise ValueError('boom')", "RE"),
    ("import sys\nprint('partial')\nsys.exit(3)", "RE"),
    ("print('anything at all')", "AC"),  # no expected output: AC means ran to a clean end
])
def test_execute_verdicts_without_expected_output(server: Server, code: str, verdict: str) -> None:
    result = execute(server, code)
    assert result["verdict"] == verdict, result
    if verdict == "RE" and "exit" in code:
        assert result["exit_code"] == 3
        assert result["stdout"] == "partial\n"


def test_tools_describes_execute_as_an_openai_function(server: Server) -> None:
    tool, session_tool = server.client.get("/tools").json()
    assert session_tool["function"]["name"] == "execute_code_in_session"
    assert session_tool["function"]["parameters"]["required"] == ["session_id", "code"]
    assert tool["type"] == "function"
    function = tool["function"]
    assert function["name"] == "execute_code"
    parameters = function["parameters"]
    assert parameters["type"] == "object"
    assert parameters["required"] == ["code"]
    assert set(parameters["properties"]) == {"code", "language", "stdin", "time_limit", "memory_limit"}
    # Every argument the schema offers is one /execute accepts.
    arguments = {"code": "print(input())", "language": "python", "stdin": "hi\n", "time_limit": 1,
                 "memory_limit": 128}
    assert execute(server, **arguments)["stdout"] == "hi\n"


HOSTILE = {
    "fork bomb": ("import os\nwhile True:\n    os.fork()\n", {"RE", "TLE"}),
    "memory bomb": ("blocks = []\nwhile True:\n    blocks.append(bytearray(10 << 20))\n", {"MLE"}),
    "infinite loop": ("while True:\n    pass\n", {"TLE"}),
    "sleeper": ("import time\ntime.sleep(60)\n", {"TLE"}),
    "kill -9 of its parent": ("import os\nos.kill(os.getppid(), 9)\nprint('still here')\n", {"AC", "RE"}),
    "100 MB stdout flood": ("import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.write(chunk)\n",
                            {"OLE"}),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_programs_get_the_right_verdict_and_leave_the_server_healthy(server: Server, name: str) -> None:
    code, verdicts = HOSTILE[name]
    before = server.descendants()
    result = execute(server, code, time_limit=1, memory_limit=256)
    assert result["verdict"] in verdicts, result
    if name == "100 MB stdout flood":
        assert result["truncated"] is True
        assert len(result["stdout"]) <= 1 << 20
    health = server.health()
    assert health["status"] == "ok"
    server.wait_for(busy=0, in_flight=0)
    # Nothing the candidate started survives it, and the sandboxes themselves are still the same.
    assert server.descendants() == before
    assert execute(server, ADD, stdin="20 22\n")["stdout"] == "42\n"


# -- /verify and /verify/batch -----------------------------------------------------------


def native(code: str = ADD, **extra: Any) -> dict[str, Any]:
    return {"id": "add", "code": code, "tests": [{"input": "1 2\n", "output": "3\n"},
                                                 {"input": "5 5\n", "output": "11\n", "name": "wrong"}], **extra}


def test_verify_a_native_record(server: Server) -> None:
    result = server.client.post("/verify", json=native()).json()
    assert result["reward"] == 0.5
    assert (result["passed"], result["total"], result["verdict"]) == (1, 2, "WA")
    assert [t["verdict"] for t in result["tests"]] == ["AC", "WA"]
    assert result["tests"][1]["name"] == "wrong"
    assert "expected" in result["tests"][1]["message"]
    # The evidence the HTML report shows, as in the plugin's rewards file.
    assert {"input", "expected", "got"} <= set(result["tests"][1])
    assert "input" not in result["tests"][0]


def test_verify_the_example_dataset_like_the_plugin(server: Server) -> None:
    lines = [line for line in (ROOT / "data" / "example.jsonl").read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    response = server.client.post("/verify/batch", json={"records": records})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [r["id"] for r in records]  # in order
    by_id = {r["id"]: r["verdict"] for r in results}
    assert by_id["sum-pair-0"] == "AC" and by_id["sum-pair-1"] == "WA" and by_id["slow-fibonacci"] == "TLE"
    assert by_id["sieve-too-big"] == "MLE" and by_id["debug-spam"] == "OLE" and by_id["syntax-slip"] == "CE"
    assert by_id["no-code-response"] == "CE" and by_id["from-response"] == "AC"


def test_batch_reports_a_bad_record_in_its_place(server: Server) -> None:
    records = [native(), {"id": "bad", "code": "print(1)", "tests": [{"input": 1, "output": ""}]}, native(id="again")]
    results = server.client.post("/verify/batch", json=records).json()["results"]
    assert [r["reward"] for r in results] == [0.5, None, 0.5]
    assert [r["id"] for r in results] == ["add", "bad", "again"]
    assert "field 'tests[0].input'" in results[1]["error"]


def nemo_request(code: str, inputs: list[str], outputs: list[str], fn_name: str | None = None) -> dict[str, Any]:
    """A NeMo Gym verify request as its code-generation environment sends it."""
    return {
        "responses_create_params": {"input": [{"role": "user", "content": "Add two numbers."}]},
        "response": {"id": "resp_1", "object": "response", "output": [
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "annotations": [], "text": f"Here:\n```python\n{code}```\n"}]},
        ]},
        "verifier_metadata": {"unit_tests": {"inputs": inputs, "outputs": outputs, "fn_name": fn_name}},
    }


def test_verify_a_nemo_gym_request(server: Server) -> None:
    request = nemo_request(ADD, ["1 2\n", "3 4\n"], ["3\n", "7\n"])
    result = server.client.post("/verify", json=request).json()
    assert result["reward"] == 1.0
    assert result["passed"] == result["total"] == 2
    # Answered as a NeMo Gym resource server does: the request echoed, plus the reward.
    for key in ("responses_create_params", "response", "verifier_metadata"):
        assert result[key] == request[key]
    assert result["extracted_model_code"] == ADD

    wrong = server.client.post("/verify", json=nemo_request(ADD, ["1 2\n", "3 4\n"], ["3\n", "8\n"])).json()
    assert (wrong["reward"], wrong["passed"]) == (0.0, 1)  # NeMo Gym's rule: 1 only when every test passes
    fraction = server.client.post("/verify?reward=fraction",
                                  json=nemo_request(ADD, ["1 2\n", "3 4\n"], ["3\n", "8\n"])).json()
    assert fraction["reward"] == 0.5


def test_verify_a_nemo_gym_function_request(server: Server) -> None:
    code = "def add(a, b):\n    return a + b\n"
    request = nemo_request(code, ["1\n2", "[1]\n[2, 3]"], ["3", "[1, 2, 3]"], fn_name="add")
    result = server.client.post("/verify", json=request).json()
    assert result["reward"] == 1.0, result


def test_verify_a_nemo_gym_request_without_code(server: Server) -> None:
    request = nemo_request(ADD, ["1 2\n"], ["3\n"])
    request["response"]["output"][1]["content"][0]["text"] = "I cannot solve this."
    result = server.client.post("/verify", json=request).json()
    assert (result["reward"], result["verdict"]) == (0.0, "CE")


def test_verify_nemo_gym_example_rollouts(server: Server, shared_datasets: Path) -> None:
    folder = shared_datasets / "nemo-gym-code-gen"
    if not (folder / "example_rollouts.jsonl").is_file():
        pytest.skip("the NeMo Gym example rollouts are not present")
    problems = {p["responses_create_params"]["input"][0]["content"]: p for p in read_jsonl(folder / "example.jsonl")}
    rollouts = read_jsonl(folder / "example_rollouts.jsonl")
    requests = []
    for rollout in rollouts:
        problem = problems[rollout["responses_create_params"]["input"][0]["content"]]
        requests.append({"responses_create_params": rollout["responses_create_params"],
                         "response": rollout["response"], "verifier_metadata": problem["verifier_metadata"]})
    results = server.client.post("/verify/batch", json=requests).json()["results"]
    assert [r["total"] for r in results] == [len(q["verifier_metadata"]["unit_tests"]["inputs"]) for q in requests]
    assert all(r["reward"] is not None for r in results)
    # NeMo Gym's line-exact comparison gave [0, 1, 0, 0, 0]; answers 2 and 4 print the right tokens.
    assert [r["reward"] for r in results] == [0.0, 1.0, 1.0, 0.0, 1.0]
    assert [r["reward"] for r in rollouts] == [0.0, 1.0, 0.0, 0.0, 0.0]


# -- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "body", "status", "words"), [
    ("/execute", {"code": "print(1)", "language": "cobol"}, 422, "field 'language'"),
    ("/execute", {"stdin": "x"}, 422, "code"),
    ("/execute", {"code": "print(1)", "time_limit": -1}, 422, "time_limit"),
    ("/execute", {"code": "print(1)", "time_limit": 3600}, 422, "time_limit"),
    ("/execute", {"code": "print(1)", "memory_limit": 1 << 20}, 422, "memory_limit"),
    ("/execute", {"code": "x = 1\n" * 100_000}, 413, "code"),
    ("/execute", {"code": "print(1)", "surprise": 1}, 422, "surprise"),
    ("/verify", {"code": "print(1)", "tests": []}, 422, "field 'tests'"),
    ("/verify", {"code": "print(1)", "tests": [{"input": "", "output": ""}] * 1001}, 422, "field 'tests'"),
    ("/verify", {"code": "print(1)", "tests": [{"input": 3, "output": ""}]}, 422, "tests[0].input"),
    ("/verify", {"something": "else"}, 422, "no known format"),
    ("/verify", [1, 2], 422, "JSON object"),
    ("/verify", nemo_request(ADD, ["1"], []), 422, "verifier_metadata.unit_tests"),
    ("/verify/batch", {"records": "no"}, 422, "list of records"),
    ("/verify/batch", [native()] * 300, 413, "at most"),
])
def test_invalid_requests_get_a_clear_4xx(server: Server, path: str, body: Any, status: int, words: str) -> None:
    response = server.client.post(path, json=body)
    assert response.status_code == status, response.text
    assert words in json.dumps(response.json()["detail"])


def test_malformed_json_is_400_and_a_huge_body_413(server: Server) -> None:
    response = server.client.post("/verify", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    huge = b'{"code": "' + b"#" * (33 << 20) + b'"}'
    assert server.client.post("/execute", content=huge).status_code == 413
    assert server.health()["status"] == "ok"


# -- health and metrics ------------------------------------------------------------------


def test_health_and_metrics(server: Server) -> None:
    health = server.health()
    assert (health["backend"], health["workers"]) == ("local", 2)
    assert {"queue_depth", "busy", "in_flight", "sandbox_restarts", "isolation"} <= set(health)
    execute(server, "while True:\n    pass\n", time_limit=0.5)
    text = server.client.get("/metrics").text
    lines = text.splitlines()
    assert any(line.startswith('codeverify_requests_total{endpoint="/execute",status="200"} ') for line in lines)
    tle = next(line for line in lines if line.startswith('codeverify_verdicts_total{verdict="TLE"}'))
    assert float(tle.split()[-1]) >= 1
    assert "# TYPE codeverify_request_duration_seconds histogram" in lines
    assert any(line.startswith('codeverify_request_duration_seconds_bucket{endpoint="/execute",le="+Inf"}')
               for line in lines)
    assert any(line.startswith("codeverify_sandbox_restarts_total ") for line in lines)


# -- auth, a full queue, abandoned requests ----------------------------------------------


@pytest.mark.slow
def test_bearer_token_guards_everything_but_health() -> None:
    # The local backend: its sandboxes are the server's descendants, which this test checks.
    guarded = Server("--workers", "1", "--backend", "local", env={"CODEVERIFY_TOKEN": "s3cret"})
    try:
        client = guarded.client
        assert client.get("/health").status_code == 200
        for method, path in [("post", "/execute"), ("post", "/verify"), ("post", "/verify/batch"),
                             ("get", "/tools"), ("get", "/metrics")]:
            assert getattr(client, method)(path).status_code == 401, path
            wrong = getattr(client, method)(path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401, path
        ok = client.post("/execute", json={"code": "print(7)"}, headers={"Authorization": "Bearer s3cret"})
        assert ok.json()["stdout"] == "7\n"
        assert client.get("/tools", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    finally:
        below = guarded.descendants()
        guarded.stop()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it.
    assert guarded.proc.returncode in (0, -signal.SIGTERM)
    assert below, "the server should have had a sandbox running"
    # Stopping the server stops its sandboxes: nothing it started is left behind.
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in below):
        assert time.monotonic() < deadline, f"left behind: {[p for p in below if Path(f'/proc/{p}').exists()]}"
        time.sleep(0.1)


def _send_and_abandon(server: Server, body: dict[str, Any]) -> socket.socket:
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"POST /execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    return sock


@pytest.mark.slow
def test_full_queue_answers_429_and_abandoned_jobs_are_dropped() -> None:
    small = Server("--workers", "1", "--max-queue", "1")
    try:
        sleeper = _send_and_abandon(small, {"code": "import time\ntime.sleep(2)\n", "time_limit": 2})
        small.wait_for(busy=1, in_flight=1)
        # Queued behind the sleeper; its client then goes away before it starts.
        doomed = _send_and_abandon(small, {"code": "raise SystemExit(3)"})
        small.wait_for(in_flight=2, queue_depth=1)
        # No room left: refused at once.
        refused = small.client.post("/execute", json={"code": "print(1)"})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        doomed.close()
        small.wait_for(in_flight=1)
        sleeper.close()
        small.wait_for(in_flight=0, busy=0, queue_depth=0)
        metrics = small.client.get("/metrics").text
        # The abandoned job never ran (it would have been an RE).
        assert 'codeverify_verdicts_total{verdict="RE"} 0.0\n' in metrics
        assert small.client.post("/execute", json={"code": "print(1)"}).json()["verdict"] == "AC"
    finally:
        small.stop()
