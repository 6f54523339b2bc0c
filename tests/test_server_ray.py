"""``codeverify serve --ray``: /verify and /verify/batch run records on a two-node Ray cluster on
this machine and answer exactly as a server verifying on its own sandboxes; a node lost while the
server's cases are in flight costs retries, never wrong answers."""

from __future__ import annotations

import json
import time
from concurrent.futures import wait
from pathlib import Path
from typing import Any

import pytest
from test_server import ADD, Server, nemo_request

from conftest import read_jsonl

ray = pytest.importorskip("ray", reason='the Ray executor needs pip install "pytest-codeverify[ray]"')

from pytest_codeverify.cases import Case  # noqa: E402
from pytest_codeverify.executors.ray import RayPool, lost_outcomes  # noqa: E402
from pytest_codeverify.formats import load_file  # noqa: E402
from pytest_codeverify.judge import Verdict  # noqa: E402

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def mixed_records() -> list[Any]:
    """Right, wrong, crashing, slow, function-call and NeMo Gym records, and one that cannot be read."""
    records: list[Any] = []
    for i in range(12):
        code = ["print(sum(map(int, input().split())))", "print(-1)", "raise KeyError(1)",
                "import time\ntime.sleep(0.05)\nprint(sum(map(int, input().split())))"][i % 4]
        records.append({"id": f"r{i}", "code": code, "time_limit": 2,
                        "tests": [{"input": "1 2\n", "output": "3\n"}, {"input": "2 2\n", "output": "4\n"}]})
    records.append(nemo_request(ADD, ["1 2\n", "3 4\n"], ["3\n", "7\n"]))
    records.append(nemo_request(ADD, ["1 2\n", "3 4\n"], ["3\n", "8\n"]))
    records.append(nemo_request("def add(a, b):\n    return a + b\n", ["1\n2", "[1]\n[2, 3]"], ["3", "[1, 2, 3]"],
                                fn_name="add"))
    records.append({"id": "bad", "code": "print(1)", "tests": [{"input": 1, "output": ""}]})
    return records


def without_times(value: Any) -> Any:
    """``value`` without the measured times, which differ from run to run."""
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if k != "time_s"}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def answers(server: Server, records: list[Any]) -> dict[str, Any]:
    batch = server.client.post("/verify/batch", json=records)
    assert batch.status_code == 200, batch.text
    one = [server.client.post("/verify", json=record) for record in records[:-1]]
    assert all(r.status_code == 200 for r in one), [r.text for r in one]
    binary = server.client.post("/verify?reward=all", json=records[1])
    return without_times({"batch": batch.json(), "one": [r.json() for r in one], "all": binary.json()})


def test_serve_on_a_cluster_answers_as_a_local_server(cluster: Any) -> None:
    records = mixed_records()
    local = Server("--backend", "local", "--workers", "1")
    try:
        expected = answers(local, records)
    finally:
        local.stop()
    remote = Server("--backend", "local", "--workers", "1", "--ray", cluster.address)
    try:
        got = answers(remote, records)
        health = remote.health()
    finally:
        remote.stop()
    assert got == expected
    results = got["batch"]["results"]
    assert [r.get("reward") for r in results[:4]] == [1.0, 0.0, 0.0, 1.0]
    assert [r["reward"] for r in results[12:15]] == [1.0, 0.0, 1.0]  # NeMo Gym requests: all-or-nothing
    assert results[15]["reward"] is None and "tests[0].input" in results[15]["error"]
    assert health["status"] == "ok"
    assert (health["ray_actors"], health["ray_actors_lost"]) == (2, 0)  # one per CPU of the cluster


def test_server_cases_survive_a_lost_node(cluster: Any, tmp_path: Path) -> None:
    """The server's path (``submit(case, "outcomes")``): a node removed while cases queue on its
    actor; every case still gets the outcomes of a run on this machine's sandbox."""
    from pytest_codeverify.api import Sandbox

    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in mixed_records()[:12] * 5))
    cases: list[Case] = [case for record in load_file(data) for case in record.cases]
    with Sandbox("local") as sandbox:
        expected = [[t.outcome.verdict for t in sandbox.verify_case(case).tests] for case in cases]
    spare = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    with RayPool(cluster.address, 3, backend="local") as pool:
        assert len(set(pool.nodes())) == 3
        futures = [pool.submit(case, "outcomes", lost_outcomes) for case in cases]  # all queued at once
        while sum(f.done() for f in futures) < 10:  # a synchronisation point, not a timing check
            time.sleep(0.01)
        cluster.remove_node(spare)  # its raylet and actor die with cases still queued on it
        wait(futures, timeout=600)
        got = [[outcome.verdict for outcome in future.result()] for future in futures]
        assert pool.lost == 1
    assert got == expected
    assert Verdict.SE not in {v for verdicts in got for v in verdicts}


def test_records_file_on_the_cluster_matches_expected_rewards(cluster: Any, shared_datasets: Path) -> None:
    """NeMo Gym's own example rollouts through a clustered server: the rewards a local one gives."""
    folder = shared_datasets / "nemo-gym-code-gen"
    if not (folder / "example_rollouts.jsonl").is_file():
        pytest.skip("the NeMo Gym example rollouts are not present")
    problems = {p["responses_create_params"]["input"][0]["content"]: p for p in read_jsonl(folder / "example.jsonl")}
    requests = []
    for rollout in read_jsonl(folder / "example_rollouts.jsonl"):
        problem = problems[rollout["responses_create_params"]["input"][0]["content"]]
        requests.append({"responses_create_params": rollout["responses_create_params"],
                         "response": rollout["response"], "verifier_metadata": problem["verifier_metadata"]})
    remote = Server("--backend", "local", "--ray", cluster.address)
    try:
        results = remote.client.post("/verify/batch", json=requests).json()["results"]
    finally:
        remote.stop()
    assert [r["reward"] for r in results] == [0.0, 1.0, 1.0, 0.0, 1.0]


def test_serve_refuses_a_bad_ray_workers_value() -> None:
    import subprocess
    import sys

    bad = subprocess.run([sys.executable, "-m", "pytest_codeverify.cli", "serve", "--ray", "auto",
                          "--ray-workers", "0"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--ray-workers" in bad.stderr  # before joining any cluster
