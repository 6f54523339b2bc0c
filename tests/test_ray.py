"""The Ray executor on a two-node cluster on this machine: the rewards of a local run, and a
worker node lost mid-run costs retries, never wrong answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import write_jsonl

ray = pytest.importorskip("ray", reason='the Ray executor needs pip install "pytest-codeverify[ray]"')

from pytest_codeverify.executors import WorkItem  # noqa: E402
from pytest_codeverify.executors.local import LocalPool  # noqa: E402
from pytest_codeverify.executors.ray import RayPool  # noqa: E402
from pytest_codeverify.formats import load_file  # noqa: E402

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def mixed(count: int) -> list[dict[str, Any] | str]:
    out: list[dict[str, Any] | str] = []
    for i in range(count):
        kind = i % 5
        if kind == 4:
            out.append("not json")
            continue
        code = ["print(sum(map(int, input().split())))", "print(-1)", "raise KeyError(1)",
                "import time\nx = 0\nfor _ in range(10**5):\n    x += 1\ntime.sleep(0.05)\nprint(x)"][kind]
        out.append({"id": f"r{i}", "code": code, "time_limit": 2,
                    "tests": [{"input": "1 2\n", "output": "3\n"}, {"input": "2 2\n", "output": "4\n"}]})
    return out


def items(path: Path) -> Iterator[WorkItem]:
    for record in load_file(path):
        if record.error is not None:
            yield {"id": record.id, "reward": None, "error": str(record.error)}
        else:
            yield from record.cases


def without_times(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**line, "tests": [{k: v for k, v in t.items() if k != "time_s"} for t in line.get("tests", [])]}
            for line in lines]


def test_a_cluster_gives_exactly_the_rewards_of_a_local_run(cluster: Any, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "data.jsonl", mixed(30))
    with LocalPool(1, backend="local") as local:
        expected = list(local.map(items(data)))
    with RayPool(cluster.address, 2, backend="local") as pool:
        assert len(set(pool.nodes())) == 2  # one actor on each node
        got = list(pool.map(items(data)))
    assert without_times(got) == without_times(expected)


def test_a_lost_worker_node_is_retried_never_scored_wrong(cluster: Any, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "data.jsonl", mixed(60))
    with LocalPool(1, backend="local") as local:
        expected = without_times(list(local.map(items(data))))
    spare = cluster.add_node(num_cpus=1)  # the node that will be lost
    cluster.wait_for_nodes()
    with RayPool(cluster.address, 3, backend="local") as pool:
        stream = pool.map(items(data))
        got = [next(stream) for _ in range(10)]
        cluster.remove_node(spare)  # kills its raylet and the actor on it, mid-run
        got.extend(stream)
        assert pool.lost == 1  # the actor on the lost node was noticed and its cases moved
    got = without_times(got)
    assert len(got) == len(expected)
    for line, want in zip(got, expected, strict=True):
        assert line["id"] == want["id"]
        if line.get("reward") is None and want.get("reward") is not None:
            # Only when every retry was lost too: SE on every test, never a wrong answer.
            assert {t["verdict"] for t in line["tests"]} == {"SE"}
        else:
            assert line == want
    # With two nodes left and three retries, the lost node's cases ran again elsewhere.
    assert sum(line.get("reward") is None for line in got) == sum(want.get("reward") is None for want in expected)


def test_verify_command_with_ray_address(cluster: Any, tmp_path: Path) -> None:
    import subprocess
    import sys

    data = write_jsonl(tmp_path / "data.jsonl", mixed(10))
    common = [sys.executable, "-m", "pytest_codeverify.cli", "verify", str(data), "--backend", "local"]
    local = subprocess.run([*common, "-j", "1"], capture_output=True, text=True, timeout=300)
    remote = subprocess.run([*common, "--ray", cluster.address], capture_output=True, text=True, timeout=300)
    assert local.returncode == remote.returncode == 0, remote.stderr[-2000:]

    def lines(out: str) -> list[dict[str, Any]]:
        import json

        return without_times([json.loads(line) for line in out.splitlines()])

    assert lines(remote.stdout) == lines(local.stdout)
    assert len(lines(remote.stdout)) == 10
