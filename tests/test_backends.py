"""One suite for every sandbox backend: the same verdicts and the same isolation on each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT, read_jsonl, write_jsonl
from pytest_codeverify.sandbox import Job, open_sandbox

pytestmark = pytest.mark.sandbox

FORK_BOMB = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"

#: id -> (record fields, expected verdict)
MATRIX: dict[str, tuple[dict, str]] = {
    "ac": ({"code": "a, b = map(int, input().split())\nprint(a + b)"}, "AC"),
    "wa": ({"code": "a, b = map(int, input().split())\nprint(a - b)"}, "WA"),
    "tle": ({"code": "while True:\n    pass", "time_limit": 1}, "TLE"),
    "mle": ({"code": "x = [0] * (200 << 20)\nprint(len(x))", "memory_limit": 64}, "MLE"),
    "re": ({"code": "print(1 // 0)"}, "RE"),
    "ce": ({"code": "def f(:\n    pass"}, "CE"),
    "ole": ({"code": "while True:\n    print('x' * 1000)"}, "OLE"),
    "fork-bomb": ({"code": FORK_BOMB, "time_limit": 1}, "TLE"),
}


def test_verdict_matrix(pytester: pytest.Pytester, tmp_path: Path, backend: str) -> None:
    records = [{"id": name, "tests": [{"input": "5 3\n", "output": "8\n"}], **fields}
               for name, (fields, _) in MATRIX.items()]
    records.append({"id": "call", "entry_point": "add", "code": "def add(a, b):\n    return a + b",
                    "tests": [{"args": [1, 2], "expected": 3}]})
    data = write_jsonl(tmp_path / "matrix.jsonl", records)
    rewards = tmp_path / "rewards.jsonl"
    result = pytester.runpytest_subprocess("--codeverify", str(data), "--codeverify-backend", backend,
                                           "--codeverify-rewards", str(rewards), "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([f"codeverify: backend {backend}*"])
    verdicts = {line["id"]: line["verdict"] for line in read_jsonl(rewards)}
    assert verdicts == {**{name: verdict for name, (_, verdict) in MATRIX.items()}, "call": "AC"}


@pytest.fixture
def sandbox(backend: str):
    with open_sandbox(backend) as box:
        yield box


def run(sandbox, code: str, **limits) -> tuple[str, str, int | None]:
    raw = sandbox.run(Job(code=code, **limits))
    return raw.stdout.decode(), raw.stderr.decode(), raw.exit_code


def test_network_unreachable(sandbox) -> None:
    code = ("import socket\ntry:\n    socket.create_connection(('127.0.0.1', 22), timeout=2)\n"
            "except OSError as exc:\n    print('blocked', exc.errno)\nelse:\n    print('connected')\n"
            "print(sorted(name for _, name in socket.if_nameindex()))")
    out, _, _ = run(sandbox, code)
    assert out.startswith("blocked"), out
    assert "eth0" not in out


def test_root_filesystem_read_only_and_tmp_writable(sandbox) -> None:
    code = ("import os\nfor path in ('/usr/x', '/usr/lib/x'):\n    try:\n        open(path, 'w')\n"
            "    except OSError as exc:\n        print(path, exc.errno)\n    else:\n        print(path, 'written')\n"
            "open('/tmp/ok', 'w').write('y')\nprint('tmp', open('/tmp/ok').read())\nprint('uid', os.getuid())")
    out, _, _ = run(sandbox, code)
    assert "written" not in out
    assert "tmp y" in out and "uid 65534" in out


def test_host_files_invisible(sandbox, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("expected output")
    paths = [str(secret), str(ROOT / "pyproject.toml"), "/var/run/docker.sock", "/run/docker.sock", "/work"]
    code = f"import os\nfor p in {paths!r}:\n    print(p, os.path.exists(p))"
    out, _, _ = run(sandbox, code)
    assert "True" not in out, out


def test_double_forked_daemon_does_not_survive(sandbox) -> None:
    daemon = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
              "        time.sleep(60)\n    os._exit(0)\nprint('spawned')")
    assert run(sandbox, daemon)[0] == "spawned\n"
    count = "import os\nprint(sum(name.isdigit() for name in os.listdir('/proc')))"
    out, _, _ = run(sandbox, count)
    assert int(out) <= 2, "a process of the previous job is still alive"


def test_kill_everything_does_not_break_the_runner(sandbox) -> None:
    if sandbox.name == "local" and not sandbox.caps.bwrap:
        pytest.skip("without bubblewrap, kill(-1) would reach the test run itself")
    run(sandbox, "print('warm')")
    run(sandbox, "import os, signal\nos.kill(-1, signal.SIGKILL)")
    assert run(sandbox, "print(6 * 7)")[0] == "42\n"
    assert sandbox.restarts == 0


def test_fork_bomb_and_memory_bomb_contained(sandbox) -> None:
    raw = sandbox.run(Job(code=FORK_BOMB, cpu_limit=1, wall_limit=3))
    assert raw.killed_for in ("cpu", "wall")
    raw = sandbox.run(Job(code="x = [0] * (200 << 20)", memory_limit_mb=64))
    assert raw.oom_killed or b"MemoryError" in raw.stderr
    assert run(sandbox, "print('alive')")[0] == "alive\n"
    assert sandbox.restarts == 0


def test_leftover_files_do_not_reach_the_next_job(sandbox) -> None:
    run(sandbox, "open('/tmp/left', 'w').write('x')\nopen('/dev/shm/left', 'w').write('x')")
    out, _, _ = run(sandbox, "import os\nprint(os.path.exists('/tmp/left'), os.path.exists('/dev/shm/left'))")
    assert json.loads(out.strip().lower().replace(" ", ",").join("[]")) == [False, False]


def test_ipc_objects_do_not_reach_the_next_job(sandbox) -> None:
    """System V shared memory, semaphores and message queues, and POSIX message queues, live in
    the sandbox's IPC namespace, which outlives a job: each job starts without any."""
    leave = ("import ctypes, os\nlibc = ctypes.CDLL(None)\n"
             "print(libc.shmget(1234, 4096, 0o1600) >= 0, libc.semget(5678, 1, 0o1600) >= 0,"
             " libc.msgget(9012, 0o1600) >= 0)\n"
             "if os.path.isdir('/dev/mqueue'):\n    open('/dev/mqueue/left', 'w').close()\n")
    assert run(sandbox, leave)[0] == "True True True\n"
    count = ("import os\n"
             "rows = [len(open(f'/proc/sysvipc/{k}').read().splitlines()) - 1 for k in ('shm', 'sem', 'msg')]\n"
             "print(rows, os.listdir('/dev/mqueue') if os.path.isdir('/dev/mqueue') else [])")
    assert run(sandbox, count)[0] == "[0, 0, 0] []\n"


def test_a_job_is_charged_for_the_cpu_time_of_all_its_processes(sandbox) -> None:
    """A fork bomb ends on its CPU time, all processes counted, within a fraction of its wall
    limit: charged for one process alone it ran to the wall limit while its copies filled
    memory, and its verdict (TLE or MLE) depended on timing."""
    from pytest_codeverify.cases import Case, StdioTest
    from pytest_codeverify.engine import run_test

    case = Case("bomb", "bomb", (StdioTest("", ""),), FORK_BOMB, time_limit=1, memory_limit=256)
    outcome = run_test(sandbox, case, case.tests[0])
    assert (outcome.verdict.value, outcome.message) == ("TLE", "CPU time exceeded the limit of 1 s")
