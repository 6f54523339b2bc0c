"""Nothing a job makes survives into the next one, on every backend: kernel objects scoped to a
uid or an IPC namespace are refused by the runner's seccomp filter, and whatever a job leaves in
its writable places is removed, however large or deep, without harming the runner."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_codeverify.sandbox import Job, Sandbox, open_sandbox
from pytest_codeverify.sandbox.seccomp import ARCHES

pytestmark = pytest.mark.sandbox

NUMBERS = ARCHES.get(platform.machine(), (0, {}, False))[1]
CLONE_NEWUSER = 0x10000000
SIGCHLD = 17


@pytest.fixture(scope="module", params=["local", "docker"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    from conftest import require_backend

    with open_sandbox(require_backend(request.param)) as box:
        yield box


def run(sandbox: Sandbox, code: str, **limits: float) -> str:
    raw = sandbox.run(Job(code=code, **limits))  # type: ignore[arg-type]
    assert raw.exit_code == 0, raw.stderr.decode(errors="replace")[-2000:]
    return raw.stdout.decode()


def syscall_code(name: str, args: str) -> str:
    """A candidate that makes one raw system call and prints its result and errno."""
    return ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "libc.syscall.restype = ctypes.c_long\n"
            f"r = libc.syscall({NUMBERS[name]}, {args})\n"
            "if r == 0:  # allowed (and in a clone's child): no output, so the test fails\n    os._exit(0)\n"
            "print(r, ctypes.get_errno())\n")


#: system call -> arguments that succeed (or fail with another errno than EPERM) where it is allowed.
DENIED_CALLS = {
    "add_key": "b'user', b'codeverify-leak', b'secret', 6, -4",  # into the uid's user keyring
    "keyctl": "0, -4, 1",  # KEYCTL_GET_KEYRING_ID of the user keyring, creating it
    "request_key": "b'user', b'codeverify-leak', None, 0",
    "mq_open": "b'codeverify-leak', 0o102, 0o600, None",  # O_CREAT | O_RDWR
    "unshare": f"{CLONE_NEWUSER}",
    "setns": "-1, 0",  # EBADF where allowed
    "bpf": "0, None, 0",  # EFAULT where allowed
    "perf_event_open": "None, 0, -1, -1, 0",
    "userfaultfd": "0",
    "io_uring_setup": "1, None",
    "ptrace": "0, 0, 0, 0",  # PTRACE_TRACEME
    "mount": "b'none', b'/tmp', b'tmpfs', 0, None",
    "pivot_root": "b'/tmp', b'/tmp'",
}


@pytest.mark.skipif(not NUMBERS, reason=f"no seccomp filter for {platform.machine()}")
@pytest.mark.parametrize("name", sorted(DENIED_CALLS))
def test_kernel_objects_that_outlive_a_job_are_refused(sandbox: Sandbox, name: str) -> None:
    assert run(sandbox, syscall_code(name, DENIED_CALLS[name])).split() == ["-1", str(1)]  # EPERM


@pytest.mark.skipif(not NUMBERS, reason=f"no seccomp filter for {platform.machine()}")
def test_no_new_namespaces_but_ordinary_processes_and_threads_work(sandbox: Sandbox) -> None:
    clone_userns = syscall_code("clone", f"{CLONE_NEWUSER | SIGCHLD}, 0, 0, 0, 0")
    assert run(sandbox, clone_userns).split() == ["-1", "1"]
    # clone3 cannot be inspected: ENOSYS, so that the C library falls back to clone.
    assert run(sandbox, syscall_code("clone3", "None, 0")).split() == ["-1", "38"]
    ordinary = ("import os, subprocess, threading\n"
                "t = threading.Thread(target=print, args=('thread',)); t.start(); t.join()\n"
                "shell = subprocess.run(['/bin/sh', '-c', 'echo child'], capture_output=True, text=True)\n"
                "print(shell.stdout.strip())\n"
                "pid = os.fork()\nif pid == 0:\n    os._exit(7)\n"
                "print('fork', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\n")
    assert run(sandbox, ordinary).split("\n")[:3] == ["thread", "child", "fork 7"]
    assert run(sandbox, "import subprocess\nprint(subprocess.run(['unshare', '-U', 'true']).returncode)").strip() != "0"


def test_keyring_of_one_sandbox_is_not_reachable_from_the_next(sandbox: Sandbox) -> None:
    """Every sandbox runs as the same nobody: a key in its user keyring would reach later tests,
    sessions and servers. Neither adding nor reading one is allowed, in this sandbox or a new one."""
    if not NUMBERS:
        pytest.skip(f"no seccomp filter for {platform.machine()}")
    add = syscall_code("add_key", DENIED_CALLS["add_key"])
    assert run(sandbox, add).split() == ["-1", "1"]
    with open_sandbox(sandbox.name) as later:
        assert run(later, syscall_code("request_key", DENIED_CALLS["request_key"])).split() == ["-1", "1"]


def test_posix_message_queues_do_not_reach_the_next_job(sandbox: Sandbox) -> None:
    """mq_open is refused; where an mqueue filesystem is mounted (Docker), a queue made through
    it is removed after the job."""
    leave = ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
             "print(libc.mq_open(b'/codeverify-leak', 0o102, 0o600, None), ctypes.get_errno())\n"
             "if os.path.isdir('/dev/mqueue'):\n"
             "    try:\n        open('/dev/mqueue/codeverify-file', 'w').close()\n    except OSError:\n        pass\n")
    assert run(sandbox, leave).split() == ["-1", "1"]
    look = ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "print(libc.mq_open(b'/codeverify-leak', 0, 0, None), ctypes.get_errno(),"
            " os.listdir('/dev/mqueue') if os.path.isdir('/dev/mqueue') else [])\n")
    assert run(sandbox, look).split() == ["-1", "1", "[]"]


DEEP_AND_WIDE = """
import os
os.chdir('/tmp')
os.mkdir('deep')
os.chdir('deep')
for level in range(3500):
    os.mkdir('d')
    os.chdir('d')
    if level % 700 == 0:
        os.mkdir('locked')
        open('locked/f', 'w').close()
        os.chmod('locked', 0)
os.chdir('/tmp')
os.mkdir('wide')
open('wide/leaf', 'w').close()
links = files = 0
for i in range(150000):
    try:
        os.link('wide/leaf', f'wide/l{i}')
        links += 1
    except OSError:
        break
for i in range(60000):
    try:
        open(f'wide/f{i}', 'w').close()
        files += 1
    except OSError:
        break
print('made', links, files)
"""


@pytest.mark.slow
def test_deep_trees_and_huge_directories_are_removed_and_the_runner_lives(sandbox: Sandbox) -> None:
    """3,500 nested directories (some locked) and up to 150,000 hard links plus many files: the job
    gets its own result, the cleanup removes all of it without recursion or listing it whole,
    and the next job runs in the same runner on an empty work area."""
    out = run(sandbox, DEEP_AND_WIDE, cpu_limit=20, wall_limit=60)
    made, links, files = out.split()
    # The tmpfs caps (size, inodes; on Docker also the container's memory) may stop it early.
    assert made == "made" and int(links) + int(files) >= 50000, out
    after = run(sandbox, "import os\nprint(sorted(os.listdir('/tmp')), os.listdir('.'))")
    assert after.strip() == "['work'] []"
    assert sandbox.restarts == 0


def _runner_host_pid(sandbox: Sandbox) -> int:
    if sandbox.name == "docker":
        container = sandbox.container  # type: ignore[attr-defined]
        container.reload()
        return int(container.attrs["State"]["Pid"])
    return sandbox.runner_pids()[-1]  # type: ignore[attr-defined]


def _may_lower_oom_scores() -> bool:
    """Root with CAP_SYS_RESOURCE (bit 24), which lowering an oom_score_adj needs."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return os.geteuid() == 0 and bool(int(line.split()[1], 16) & (1 << 24))
    return False


def test_the_runner_itself_is_protected_from_the_oom_killer_and_jobs_are_not(sandbox: Sandbox) -> None:
    """The OOM killer must pick a job's process, never the runner: the runner's own score is
    lowered to -1000 where the harness may (it was bubblewrap's before bubblewrap forked the
    runner), and each job raises its own to 1000."""
    out = run(sandbox, "import os\nprint(open('/proc/self/oom_score_adj').read().strip(), os.getppid())")
    assert out.split() == ["1000", "1"]  # the job's process, child of the runner (PID 1)
    runner = _runner_host_pid(sandbox)
    assert b"-I\0-S\0-c\0" in Path(f"/proc/{runner}/cmdline").read_bytes()  # the runner, not bubblewrap
    score = int(Path(f"/proc/{runner}/oom_score_adj").read_text())
    if _may_lower_oom_scores():
        assert score == -1000 and sandbox.oom_protected  # type: ignore[attr-defined]
    else:
        assert score <= int(Path("/proc/self/oom_score_adj").read_text()) < 1000
        assert not sandbox.oom_protected  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_job_that_fills_its_memory_with_directory_entries_ends_alone(sandbox: Sandbox) -> None:
    """Links cost no data pages, only kernel memory (charged to the memory cgroup) or tmpfs
    inodes: the job ends on its memory limit or a full disk, and the runner, which cleans up
    after it in the same cgroup, lives on."""
    code = ("import os\nopen('leaf', 'w').close()\nn = 0\ntry:\n    for i in range(3000000):\n"
            "        os.link('leaf', f'link-with-a-longish-name-{i:08d}')\n        n += 1\n"
            "except OSError as exc:\n    print('stopped', exc.errno)\n")
    raw = sandbox.run(Job(code=code, cpu_limit=30, wall_limit=60, memory_limit_mb=48))
    assert raw.oom_killed or raw.stdout.decode().split() in (["stopped", "28"], ["stopped", "12"]), raw
    assert run(sandbox, "import os\nprint(os.listdir('.'))").strip() == "[]"
    assert sandbox.restarts == 0


def test_jobs_hold_no_capabilities_and_the_work_area_caps_its_inodes(sandbox: Sandbox) -> None:
    """The runner mounts the work area with an inode cap (files and hard links) and then gives up
    every capability, so neither it nor a job can mount, or lift the cap."""
    code = ("import os\nstatus = dict(line.split(':', 1) for line in open('/proc/self/status'))\n"
            "print(*(int(status[k], 16) for k in ('CapEff', 'CapPrm', 'CapBnd', 'CapAmb')),\n"
            "      os.statvfs('/tmp').f_files)")
    assert run(sandbox, code).split() == ["0", "0", "0", "0", "65536"]
    runner = _runner_host_pid(sandbox)
    status = dict(line.split(":", 1) for line in Path(f"/proc/{runner}/status").read_text().splitlines())
    assert [int(status[key], 16) for key in ("CapEff", "CapPrm", "CapBnd")] == [0, 0, 0]
