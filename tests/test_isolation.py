"""Isolation claims of the local backend, each checked by a candidate that tries to break it."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import read_jsonl, write_jsonl
from pytest_codeverify.engine import verify_case
from pytest_codeverify.formats import Defaults
from pytest_codeverify.formats.native import NativeReader
from pytest_codeverify.sandbox import LocalSandbox, UnisolatedSandbox

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LocalSandbox]:
    with LocalSandbox() as box:
        yield box


def output_of(sandbox: LocalSandbox, code: str, time_limit: float = 2, memory_limit: int = 256) -> tuple[str, str]:
    """Run ``code``; return its verdict (``OK`` for a clean run: no expected output here) and stdout."""
    record = {"code": code, "time_limit": time_limit, "memory_limit": memory_limit,
              "tests": [{"input": "", "output": "\x00never-printed"}]}
    (case,) = NativeReader().read(record, 1, Defaults())
    outcome = verify_case(sandbox, case).tests[0].outcome
    verdict = "OK" if outcome.verdict.value == "WA" else outcome.verdict.value
    return verdict, outcome.stdout.strip()


def probe_code(attempt: str) -> str:
    """A candidate that prints ``blocked`` when ``attempt`` raises, else ``open``."""
    return f"try:\n    {attempt}\n    print('open')\nexcept Exception:\n    print('blocked')\n"


@pytest.mark.parametrize("attempt", [
    "import socket; socket.create_connection(('127.0.0.1', 22), timeout=1)",
    "import socket; socket.create_connection(('1.1.1.1', 53), timeout=1)",
    "import socket; socket.getaddrinfo('example.com', 80)",
])
def test_no_network(sandbox: LocalSandbox, attempt: str) -> None:
    assert output_of(sandbox, probe_code(attempt)) == ("OK", "blocked")


@pytest.mark.parametrize("attempt", [
    f"open({str(Path.home() / '.bashrc')!r}).read() or __import__('os').listdir({str(Path.home())!r})[0]",
    "open('/etc/shadow').read()",
    "open('/etc/passwd').read()",
    "open('/var/run/docker.sock', 'rb')",
    "import socket; s = socket.socket(socket.AF_UNIX); s.connect('/var/run/docker.sock')",
])
def test_host_files_are_invisible(sandbox: LocalSandbox, attempt: str) -> None:
    assert output_of(sandbox, probe_code(attempt)) == ("OK", "blocked")


@pytest.mark.parametrize("path", ["/usr/evil", "/evil", "/root/evil", "/dev/evil", "/proc/sys/kernel/hostname"])
def test_writes_outside_the_work_area_fail(sandbox: LocalSandbox, path: str) -> None:
    assert output_of(sandbox, probe_code(f"open({path!r}, 'w').write('x')")) == ("OK", "blocked")


def test_work_area_is_writable_and_fresh_per_test(sandbox: LocalSandbox) -> None:
    assert output_of(sandbox, "import os\nopen('left-behind', 'w').write('x')\nprint(sorted(os.listdir('.')))") == (
        "OK", "['left-behind']")
    assert output_of(sandbox, "import os\nprint(sorted(os.listdir('.')), sorted(os.listdir('/tmp')))") == (
        "OK", "[] ['work']")


def test_work_area_survives_being_locked_or_replaced(sandbox: LocalSandbox) -> None:
    lock = "import os\nos.mkdir('d')\nopen('d/f', 'w').close()\nos.chmod('d', 0)\nos.chmod('.', 0)\nprint('locked')"
    assert output_of(sandbox, lock) == ("OK", "locked")
    assert output_of(sandbox, "import os\nprint(os.listdir('.'), oct(os.stat('.').st_mode))") == ("OK", "[] 0o40700")
    swap = ("import os\nos.chdir('/tmp')\nos.rmdir('work')\nos.symlink('/dev/shm', 'work')\n"
            "open('/dev/shm/planted', 'w').close()\nprint('swapped')")
    assert output_of(sandbox, swap) == ("OK", "swapped")
    check = "import os\nprint(os.path.islink('/tmp/work'), os.listdir('.'), os.listdir('/dev/shm'))"
    assert output_of(sandbox, check) == ("OK", "False [] []")


def test_environment_of_the_harness_is_invisible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEVERIFY_SECRET", "s3cret")
    with LocalSandbox() as fresh:  # started with the secret in the harness's environment
        _, seen = output_of(fresh, "import os\nprint(sorted(os.environ), open('/proc/1/environ').read())")
    assert "CODEVERIFY_SECRET" not in seen and "s3cret" not in seen


def test_fork_bomb_is_contained(sandbox: LocalSandbox) -> None:
    verdict, _ = output_of(sandbox, "import os\nwhile True:\n    os.fork()", time_limit=1)
    assert verdict in ("RE", "TLE")
    assert output_of(sandbox, "print('alive')") == ("OK", "alive")


def test_memory_bomb_is_mle(sandbox: LocalSandbox) -> None:
    verdict, _ = output_of(sandbox, "x = []\nwhile True:\n    x.append(bytearray(8 << 20))", memory_limit=64)
    assert verdict == "MLE"
    assert output_of(sandbox, "print('alive')") == ("OK", "alive")


def test_background_processes_do_not_survive_their_test(sandbox: LocalSandbox) -> None:
    daemon = ("import os, time\n"
              "if os.fork() == 0:\n"
              "    os.setsid()\n"
              "    if os.fork() == 0:\n"
              "        time.sleep(0.5)\n"
              "        open('/tmp/work/planted', 'w').write('x')\n"
              "        time.sleep(60)\n"
              "    os._exit(0)\n"
              "print('spawned')\n")
    assert output_of(sandbox, daemon) == ("OK", "spawned")
    later = ("import os, time\ntime.sleep(1)\n"
             "print(sorted(os.listdir('.')), len([p for p in os.listdir('/proc') if p.isdigit()]))")
    # Only the runner (PID 1) and this test's own process exist; nothing was planted.
    assert output_of(sandbox, later) == ("OK", "[] 2")


def test_harness_survives_the_candidate_killing_its_parent(sandbox: LocalSandbox) -> None:
    assert output_of(sandbox, "import os\nos.kill(os.getppid(), 9)\nprint('still here')") == ("OK", "still here")
    assert output_of(sandbox, "print('alive')") == ("OK", "alive")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare(1)")
def test_kill_minus_one_inside_a_pid_namespace(tmp_path: Path) -> None:
    # kill(-1) from the candidate: run the whole pytest run in its own PID namespace, so that a
    # broken sandbox could only kill that run, never the machine's other processes.
    data = write_jsonl(tmp_path / "data.jsonl", [
        {"id": "killer",
         "code": "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\nprint(3)",
         "tests": [{"input": "", "output": "3"}]},
        {"id": "after", "code": "print(3)", "tests": [{"input": "", "output": "3"}]},
    ])
    sentinel = tmp_path / "sentinel"
    sentinel.write_text("intact")
    result = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-m", "pytest", "--codeverify", str(data),
         "--codeverify-rewards", str(tmp_path / "r.jsonl"), "-p", "no:cacheprovider", "-q"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert [x["verdict"] for x in read_jsonl(tmp_path / "r.jsonl")] == ["AC", "AC"]
    assert sentinel.read_text() == "intact"


@pytest.mark.skipif(os.geteuid() != 0, reason="the cgroup that contains the fallback needs root")
def test_unisolated_opt_in_keeps_the_limits() -> None:
    """The explicit ``unisolated`` backend runs the runner as a plain process: isolation is gone
    (the header says so), but limits, verdicts and the cleanup of leftover processes still hold."""
    with UnisolatedSandbox() as fallback:
        assert "NO ISOLATION" in fallback.description and not fallback.isolated
        assert output_of(fallback, "print(input)") == ("OK", "<built-in function input>")
        assert output_of(fallback, "while True:\n    pass", time_limit=1)[0] == "TLE"
        bomb = "x = []\nwhile True:\n    x.append(bytearray(8 << 20))"
        assert output_of(fallback, bomb, memory_limit=64)[0] == "MLE"
        # Contained by the pids cgroup. Not being init, the runner charges CPU time to the job's
        # first process only, so the copies may fill memory before the wall limit: MLE is right too.
        assert output_of(fallback, "import os\nwhile True:\n    os.fork()", time_limit=1)[0] in ("RE", "TLE", "MLE")
        daemon = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                  "        time.sleep(60)\n    os._exit(0)\nprint('spawned')")
        assert output_of(fallback, daemon) == ("OK", "spawned")
        cgroup, runner = fallback._cgroup, fallback._proc
        assert cgroup is not None and runner is not None
        # The daemon left the runner's session; the cgroup still held it, and it is gone.
        assert cgroup.procs_files()[0].read_text().split() == [str(runner.pid)]
        assert output_of(fallback, "print('alive')") == ("OK", "alive")


def test_memory_limit_follows_each_job_down_and_up(sandbox: LocalSandbox) -> None:
    """Each job gets its own memory limit, whatever the job before it had (cgroup v1 refused
    raising the limit above the memory+swap limit, and the refusal went unnoticed)."""
    allocate = "x = bytearray(600 << 20)\nprint(len(x) >> 20)"
    for limit, expected in [(512, "MLE"), (1024, "OK"), (512, "MLE"), (2048, "OK"), (64, "MLE"), (1024, "OK")]:
        assert output_of(sandbox, allocate, memory_limit=limit)[0] == expected, limit


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare(1)")
def test_a_sandbox_in_another_pid_namespace_survives_sandboxes_started_here() -> None:
    """Starting a sandbox removes the cgroups of owners that died. A sandbox owned by a process
    in another PID namespace (a run under ``unshare --pid``) was named by a pid that means
    nothing here: it looked dead, and every sandbox started on the host killed its runner."""
    nspid = 32001  # the namespaced owner's pid: chosen so that no host process has it
    if Path(f"/proc/{nspid}").exists() or int(Path("/proc/sys/kernel/pid_max").read_text()) <= nspid:
        pytest.skip(f"pid {nspid} is in use here")
    inner = ("import sys\nfrom pytest_codeverify.sandbox import Job, LocalSandbox\n"
             "with LocalSandbox() as s:\n"
             "    s.run(Job(code='print(1)'))\n    print('ready', flush=True)\n    sys.stdin.readline()\n"
             "    print(s.run(Job(code='print(2)')).stdout.decode().strip(), s.restarts, flush=True)\n")
    script = f"echo {nspid - 1} > /proc/sys/kernel/ns_last_pid && {shlex.quote(sys.executable)} -c {shlex.quote(inner)}"
    proc = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "ready"
        with LocalSandbox() as here:  # its start looks for orphaned cgroups
            assert output_of(here, "print('here')") == ("OK", "here")
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().split() == ["2", "0"]  # the same runner answered
    finally:
        proc.kill()
        proc.wait()
