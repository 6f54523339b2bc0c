"""The local backend: the job runner inside bubblewrap namespaces and a cgroup, no Docker needed.

Isolation levels, strongest first (the run's header names the one in force):

``bubblewrap``
    user, PID, network, mount, IPC and UTS namespaces; only ``/usr`` and the interpreter's
    prefix are visible, read-only; a size-capped tmpfs is the only writable place; the runner
    is PID 1 of its namespace, so the candidate can neither kill it nor outlive its job.
``rlimits``
    no namespaces (bubblewrap missing or unusable): the runner is a plain child process with a
    private work directory. Limits still hold, isolation does not: do not run untrusted code so.

Memory and process counts are limited by a cgroup where this process may create one (root),
by rlimits otherwise.
"""

from __future__ import annotations

import functools
import os
import select
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..protocol import Job, Mode
from .base import Sandbox, SandboxError, runner_source
from .cgroups import Cgroup

#: Processes (and threads) one job may have at once.
PIDS_MAX = 128
#: Size of the writable work area in MiB (its pages also count against the memory limit).
WORK_AREA_MB = 256
#: Size of /dev/shm (POSIX shared memory, multiprocessing's semaphores).
SHM_MB = 64
_NOBODY = 65534


@dataclass(frozen=True)
class Capabilities:
    """What isolation this machine allows, probed once per process."""

    bwrap: str | None
    bwrap_version: str
    cgroups: bool

    @property
    def level(self) -> str:
        return "bubblewrap" if self.bwrap else "rlimits"


@functools.cache
def probe() -> Capabilities:
    """Find out once which isolation mechanisms work here."""
    bwrap = shutil.which("bwrap")
    version = ""
    if bwrap:
        try:
            check = subprocess.run(
                [bwrap, *_bwrap_args(), "--", _interpreter(), "-I", "-S", "-c", "import os; os.setuid(os.getuid())"],
                capture_output=True, timeout=30)
            version = subprocess.run([bwrap, "--version"], capture_output=True, text=True,
                                     timeout=10).stdout.split()[-1]
        except (OSError, subprocess.SubprocessError, IndexError):
            check = None
        if check is None or check.returncode != 0:
            bwrap = None
    cgroup = Cgroup.create(Cgroup.owned_name(f"probe-{uuid.uuid4().hex[:6]}"), PIDS_MAX)
    if cgroup is not None:
        cgroup.remove()
    return Capabilities(bwrap=bwrap, bwrap_version=version, cgroups=cgroup is not None)


def _interpreter() -> str:
    """The interpreter the candidate runs under: this one, without any virtualenv."""
    return os.path.realpath(sys.executable)


def _privileged() -> bool:
    return os.geteuid() == 0


def _bwrap_args() -> list[str]:
    namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if _privileged():
        # As root, no user namespace: the runner drops to the host's real nobody itself
        # (``--drop-to``), so even an escaped candidate holds no one's files. In a user
        # namespace it would be mapped to root's uid on the host.
        identity = ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        namespaces.append("--unshare-user")
        identity = ["--uid", str(_NOBODY), "--gid", str(_NOBODY), "--cap-drop", "ALL"]
    args = [
        *namespaces, "--die-with-parent", "--as-pid-1", "--new-session", "--hostname", "sandbox",
        "--ro-bind", "/usr", "/usr",
    ]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    prefix = Path(_interpreter()).parent.parent
    if not prefix.is_relative_to("/usr"):
        # bwrap would create the missing parents as root-only directories, which the
        # unprivileged runner could not traverse; they stay empty either way.
        for parent in reversed(prefix.parents[:-1]):
            args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", str(prefix), str(prefix)]
    args += _toolchain_binds()
    for name in ("/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives"):
        args += ["--ro-bind-try", name, name]
    # Everything but /tmp and /dev/shm (emptied after every job) is read-only, bwrap's own
    # root and /dev included: a file left anywhere else would outlive its test.
    args += [
        "--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys",
        "--dev", "/dev", "--perms", "1777", "--size", str(SHM_MB << 20), "--tmpfs", "/dev/shm",
        "--remount-ro", "/dev",
        "--perms", "1777", "--size", str(WORK_AREA_MB << 20), "--tmpfs", "/tmp", "--remount-ro", "/",
        "--chdir", "/tmp", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin",
        "--setenv", "LANG", "C.UTF-8", *identity,
    ]
    return args


@functools.cache
def _toolchain_binds() -> list[str]:
    """Read-only binds of the host's language toolchains that live outside ``/usr`` (rustup's
    ``~/.rustup/toolchains/...`` under /opt, a JDK's ``/etc/java-*`` configuration, ...)."""
    from ..languages import ToolchainMissing, registry

    args: list[str] = []
    for language in registry().values():
        try:
            binds = language.find_host().binds
        except ToolchainMissing:
            continue
        for host, target in binds:
            # Missing parents would be created root-only; the runner must traverse them.
            for parent in reversed(Path(target).parents[:-1]):
                args += ["--perms", "0755", "--dir", str(parent)]
            args += ["--ro-bind", host, target]
    return args


def _runner_args() -> list[str]:
    """Arguments of the runner inside bubblewrap."""
    args = ["--work-root", "/tmp", "--isolated"]
    return [*args, "--drop-to", str(_NOBODY)] if _privileged() else args


def describe(caps: Capabilities) -> str:
    """The header line for this machine's local isolation."""
    if caps.bwrap:
        users = "uid nobody" if _privileged() else "user namespace"
        text = (f"bubblewrap {caps.bwrap_version} ({users}; pid, net, mount, ipc, uts namespaces; "
                f"read-only system; {WORK_AREA_MB} MiB tmpfs work area; runner is PID 1)")
    else:
        text = "rlimits only: NO namespace isolation (install bubblewrap to isolate candidates)"
    limits = "cgroup memory+pids limits" if caps.cgroups else "rlimit memory+process limits"
    return f"{text}, {limits}"


class LocalSandbox(Sandbox):
    """A warm job runner on this machine, isolated as well as the machine allows."""

    name = "local"

    def __init__(self, caps: Capabilities | None = None) -> None:
        super().__init__()
        self.caps = caps or probe()
        self._proc: subprocess.Popen[bytes] | None = None
        self._cgroup: Cgroup | None = None
        self._session_base: int | None = None  # cgroup memory use before a session's first cell
        self._work_root: str | None = None
        self._stderr: Any = None
        self._oom_before = 0

    @property
    def description(self) -> str:
        return f"local: {describe(self.caps)}"

    def _start(self) -> None:
        self._session_base = None
        if self.caps.cgroups:
            Cgroup.remove_orphans()
            self._cgroup = Cgroup.create(Cgroup.owned_name(uuid.uuid4().hex[:8]), PIDS_MAX)
        if self.caps.bwrap:
            argv = [self.caps.bwrap, *_bwrap_args(), "--", _interpreter(), "-I", "-S", "-c",
                    runner_source(), *_runner_args()]
        else:
            self._work_root = tempfile.mkdtemp(prefix="codeverify-")
            argv = [_interpreter(), "-I", "-S", "-c", runner_source(), "--work-root", self._work_root]
        self._stderr = tempfile.TemporaryFile()
        cgroup = self._cgroup
        try:
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                preexec_fn=cgroup.enter if cgroup else None, start_new_session=True)
        except OSError as exc:
            raise SandboxError(f"cannot start the local runner: {exc}") from exc
        self._protect_runner()

    def runner_pids(self) -> list[int]:
        """Host pids of the sandbox's processes: bubblewrap and the runner it started."""
        if self._proc is None:
            return []
        pids = [self._proc.pid]
        try:
            children = Path(f"/proc/{self._proc.pid}/task/{self._proc.pid}/children").read_text().split()
            pids += [int(pid) for pid in children]
        except OSError:
            pass
        return pids

    def _protect_runner(self) -> None:
        """Make the kernel's OOM killer prefer the job over the runner (root only)."""
        if os.geteuid() != 0:
            return
        for pid in self.runner_pids():
            try:
                Path(f"/proc/{pid}/oom_score_adj").write_text("-1000")
            except OSError:
                pass

    def _send(self, data: bytes) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(data)
            self._proc.stdin.flush()
        except (OSError, ValueError) as exc:
            raise SandboxError(f"cannot send to the runner: {exc}" + self._death_note()) from exc

    def _recv(self, timeout: float) -> bytes:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            raise SandboxError("the runner did not answer in time")
        try:
            return os.read(fd, 1 << 20)
        except OSError:
            return b""

    def _stop(self) -> None:
        # The runner is PID 1 of its namespace, in a session of its own: bubblewrap's
        # --die-with-parent does not reach it, so it is killed by its host pid.
        pids = self.runner_pids()
        proc, self._proc = self._proc, None
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()  # type: ignore[union-attr]
                except OSError:
                    pass
            for pid in reversed(pids):
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
            proc.wait()
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None
        if self._work_root is not None:
            shutil.rmtree(self._work_root, ignore_errors=True)
            self._work_root = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _death_note(self) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0)
            tail = self._stderr.read()[-600:].decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""
        return f": {tail}" if tail else ""

    def _before_job(self, job: Job) -> dict[str, Any]:
        limit = job.memory_limit_mb << 20
        if self._cgroup is not None:
            if job.mode == Mode.SESSION.value:
                # A session's interpreter lives across jobs: its limit is fixed at the first one,
                # so memory held by earlier cells counts against it.
                if self._session_base is None:
                    self._session_base = self._cgroup.memory_usage()
                base = self._session_base
            else:
                base = self._cgroup.memory_usage()
            try:
                self._cgroup.set_memory_limit(base + limit)
                self._oom_before = self._cgroup.oom_kills()
            except OSError as exc:
                raise SandboxError(f"cannot set the memory limit: {exc}") from exc
            return {}
        return {"memory_rlimit": limit, "nproc_rlimit": _processes_of_this_user() + PIDS_MAX}

    def _after_job(self, job: Job) -> bool:
        if self._cgroup is None:
            return False
        if not self.caps.bwrap and self._proc is not None and job.mode != Mode.SESSION.value:
            # Without a PID namespace the runner cannot reach processes that left its session
            # (a double-forked daemon); the cgroup still holds them.
            self._cgroup.empty(spare=self._proc.pid)
        return self._cgroup.oom_kills() > self._oom_before


def _processes_of_this_user() -> int:
    """RLIMIT_NPROC counts every process of the user, so the limit starts from their count."""
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count
