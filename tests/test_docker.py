"""What only the Docker backend has: container hardening, replacement and removal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from conftest import backend_usable, read_jsonl, write_jsonl
from pytest_codeverify.sandbox import Job, SandboxError

pytestmark = [pytest.mark.sandbox, pytest.mark.docker]


@pytest.fixture
def client():
    ok, why = backend_usable("docker")
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"the docker backend must run in CI: {why}")
        pytest.skip(f"docker backend unavailable: {why}")
    from pytest_codeverify.sandbox import docker

    return docker._client()


@pytest.fixture
def run_id(monkeypatch: pytest.MonkeyPatch) -> str:
    """A run id of our own, so that concurrent runs' containers are never mistaken for ours."""
    value = f"test-{uuid.uuid4().hex}"
    monkeypatch.setenv("CODEVERIFY_RUN_ID", value)
    return value


def containers_of(client, run_id: str) -> list:
    return client.containers.list(all=True, filters={"label": f"codeverify.run={run_id}"})


def wait_for(condition, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def job_running(container) -> bool:
    """Whether the runner has a job child (the container may be created but not yet started)."""
    try:
        return len(container.top()["Processes"]) >= 2
    except Exception:  # docker.errors.APIError 409 before start
        return False


def test_container_is_hardened(client, run_id: str) -> None:
    from pytest_codeverify.sandbox.docker import DockerSandbox

    with DockerSandbox() as box:
        box.run(Job(code="pass", memory_limit_mb=100))
        (container,) = containers_of(client, run_id)
        host = container.attrs["HostConfig"]
        assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"] and host["SecurityOpt"] == ["no-new-privileges"]
        assert host["Memory"] == host["MemorySwap"] > 100 << 20
        assert host["PidsLimit"] > 0 and host["NanoCpus"] == 10**9
        assert host["LogConfig"]["Type"] == "none"
        assert not host.get("Binds") and not container.attrs["Mounts"]
        assert {u["Name"] for u in host["Ulimits"]} == {"nofile", "fsize", "core"}
        assert container.attrs["Config"]["User"] == "65534:65534"
        out = box.run(Job(code="for p in ('/x', '/etc/x'):\n    try:\n        open(p, 'w')\n"
                               "    except OSError as exc:\n        print(exc.errno)")).stdout
        assert out == b"30\n30\n"  # EROFS: the whole root filesystem is read-only
    assert containers_of(client, run_id) == []


def test_memory_limit_follows_the_job(client, run_id: str) -> None:
    from pytest_codeverify.sandbox.docker import RUNNER_RESERVE_MB, DockerSandbox

    with DockerSandbox() as box:
        box.run(Job(code="pass", memory_limit_mb=64))
        box.run(Job(code="pass", memory_limit_mb=64))
        assert box.update_count == 0
        (container,) = containers_of(client, run_id)
        assert container.attrs["HostConfig"]["Memory"] == (64 + RUNNER_RESERVE_MB) << 20  # as created
        raw = box.run(Job(code="x = bytearray(150 << 20)\nprint(len(x))", memory_limit_mb=256))
        assert raw.stdout == b"157286400\n" and not raw.oom_killed
        assert box.update_count == 1
        container.reload()
        assert container.attrs["HostConfig"]["Memory"] == (256 + RUNNER_RESERVE_MB) << 20
        assert box.run(Job(code="x = bytearray(150 << 20)", memory_limit_mb=64)).oom_killed


def test_killed_container_is_replaced(client, run_id: str) -> None:
    from pytest_codeverify.sandbox.docker import DockerSandbox

    with DockerSandbox() as box:
        box.run(Job(code="pass"))
        (first,) = containers_of(client, run_id)
        threading.Timer(1.0, first.kill).start()
        with pytest.raises(SandboxError):
            box.run(Job(code="import time\ntime.sleep(30)", cpu_limit=20, wall_limit=30))
        assert box.run(Job(code="print('again')")).stdout == b"again\n"
        (second,) = containers_of(client, run_id)
        assert second.id != first.id and box.restarts == 1


def test_killed_container_mid_run_is_se_for_that_test_only(pytester: pytest.Pytester, tmp_path: Path,
                                                         client, run_id: str) -> None:
    data = write_jsonl(tmp_path / "data.jsonl", [
        {"id": "before", "code": "print(input())", "tests": [{"input": "1\n", "output": "1\n"}]},
        {"id": "sleeper", "code": "import time\ntime.sleep(60)\nprint(1)", "time_limit": 30,
         "tests": [{"input": "", "output": "1\n"}]},
        {"id": "after", "code": "print(input())", "tests": [{"input": "2\n", "output": "2\n"}]},
    ])
    rewards = tmp_path / "rewards.jsonl"
    proc = pytester.popen([sys.executable, "-m", "pytest", "--codeverify", str(data), "--codeverify-backend",
                           "docker", "--codeverify-rewards", str(rewards), "-p", "no:cacheprovider"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        container = wait_for(lambda: containers_of(client, run_id))[0]
        wait_for(lambda: job_running(container))  # the sleeper's child is running
        container.kill()
        assert proc.wait(timeout=120) == 1
    finally:
        proc.kill()
    lines = {line["id"]: line for line in read_jsonl(rewards)}
    assert {k: v["verdict"] for k, v in lines.items()} == {"before": "AC", "sleeper": "SE", "after": "AC"}
    assert lines["sleeper"]["reward"] is None
    assert containers_of(client, run_id) == []


def test_no_container_left_after_a_parallel_run(pytester: pytest.Pytester, tmp_path: Path,
                                                client, run_id: str) -> None:
    data = write_jsonl(tmp_path / "data.jsonl", [
        {"id": f"r{i}", "code": "print(input())", "tests": [{"input": f"{i}\n", "output": f"{i}\n"}]}
        for i in range(6)])
    result = pytester.runpytest_subprocess("--codeverify", str(data), "--codeverify-backend", "docker",
                                           "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    assert containers_of(client, run_id) == []


def test_no_container_left_after_ctrl_c(pytester: pytest.Pytester, tmp_path: Path, client, run_id: str) -> None:
    data = write_jsonl(tmp_path / "data.jsonl", [
        {"id": "sleeper", "code": "import time\ntime.sleep(60)", "time_limit": 30,
         "tests": [{"input": "", "output": ""}]}])
    proc = pytester.popen([sys.executable, "-m", "pytest", "--codeverify", str(data), "--codeverify-backend",
                           "docker", "-p", "no:cacheprovider"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        container = wait_for(lambda: containers_of(client, run_id))[0]
        wait_for(lambda: job_running(container))
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 2  # pytest's "interrupted"
    finally:
        proc.kill()
    assert containers_of(client, run_id) == []


def test_orphan_of_a_crashed_worker_is_swept(pytester: pytest.Pytester, tmp_path: Path,
                                             client, run_id: str) -> None:
    crash = ("import os, signal\nfrom pytest_codeverify.sandbox import Job\n"
             "from pytest_codeverify.sandbox.docker import DockerSandbox\n"
             "DockerSandbox().run(Job(code='pass'))\nos.kill(os.getpid(), signal.SIGKILL)\n")
    assert subprocess.run([sys.executable, "-c", crash]).returncode == -signal.SIGKILL
    assert len(containers_of(client, run_id)) == 1  # the crashed owner could not remove it
    # A later run on this host removes it when its own sandbox starts.
    data = write_jsonl(tmp_path / "data.jsonl", [{"code": "print(1)", "tests": [{"input": "", "output": "1\n"}]}])
    pytester.runpytest_subprocess("--codeverify", str(data), "--codeverify-backend", "docker",
                                  "-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert containers_of(client, run_id) == []


def test_sweep_removes_only_orphans_it_can_judge(client, run_id: str) -> None:
    import socket

    from pytest_codeverify.sandbox.docker import _pid_namespace, owner_token, sweep_orphans

    def create(owner: str, pidns: str):
        labels = {"codeverify": "1", "codeverify.run": run_id, "codeverify.owner": owner,
                  "codeverify.host": socket.gethostname(), "codeverify.pidns": pidns}
        return client.containers.create("codeverify-sandbox:python", ["true"], labels=labels,
                                        network_mode="none", log_config={"type": "none"})

    dead = "999999999:1"
    orphan = create(dead, _pid_namespace())
    alive = create(owner_token(), _pid_namespace())
    elsewhere = create(dead, "pid:[1]")  # another PID namespace: its pid cannot be checked here
    try:
        removed = sweep_orphans(client)
        assert orphan.id in removed
        assert {c.id for c in containers_of(client, run_id)} == {alive.id, elsewhere.id}
    finally:
        for container in (orphan, alive, elsewhere):
            try:
                container.remove(force=True)
            except Exception:
                pass


def test_sweep_survives_containers_removed_while_it_runs(client, run_id: str) -> None:
    """Another worker may remove its container between the sweep's listing and its inspection:
    the sweep lists sparsely (no inspection) and a sandbox start never fails because of it."""
    import socket

    from pytest_codeverify.sandbox.docker import _pid_namespace, sweep_orphans

    labels = {"codeverify": "1", "codeverify.run": run_id, "codeverify.owner": "999999999:1",
              "codeverify.host": socket.gethostname(), "codeverify.pidns": _pid_namespace()}
    containers = [client.containers.create("codeverify-sandbox:python", ["true"], labels=labels,
                                           network_mode="none", log_config={"type": "none"}) for _ in range(2)]
    listing = client.api.containers

    def list_then_vanish(*args, **kwargs):
        found = listing(*args, **kwargs)
        containers[0].remove(force=True)  # gone right after the daemon listed it
        return found

    client.api.containers = list_then_vanish
    try:
        removed = sweep_orphans(client)
    finally:
        client.api.containers = listing
        for container in containers:
            try:
                container.remove(force=True)
            except Exception:
                pass
    assert containers[1].id in removed


def test_memory_verdicts_inside_another_pid_namespace(client) -> None:
    """The daemon's pids mean nothing in another PID namespace: OOM accounting must not use them."""
    import shutil

    unshare = [shutil.which("unshare") or "unshare", "--pid", "--fork", "--mount-proc"]
    try:
        usable = subprocess.run([*unshare, "true"], capture_output=True).returncode == 0
    except OSError:
        usable = False
    if not usable:
        pytest.skip("cannot create a PID namespace here")
    script = ("from pytest_codeverify.sandbox import Job\n"
              "from pytest_codeverify.sandbox.docker import DockerSandbox\n"
              "with DockerSandbox() as box:\n"
              "    for _ in range(2):\n"
              "        bomb = box.run(Job(code='x = [0] * (200 << 20)', memory_limit_mb=64))\n"
              "        after = box.run(Job(code='print(1)', memory_limit_mb=64))\n"
              "        print(bomb.oom_killed, after.oom_killed, after.stdout == b'1\\n')\n")
    result = subprocess.run([*unshare, sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.stdout.split() == ["True", "False", "True"] * 2, result.stderr
