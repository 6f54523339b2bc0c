"""The job runner: runs inside the isolation boundary and executes one job per forked child.

This module, :mod:`.child`, :mod:`.assertion`, :mod:`.stubs`, :mod:`.remote`, :mod:`.handles`,
:mod:`.cleanup`, :mod:`.seccomp`, :mod:`.workarea`, :mod:`pytest_codeverify.protocol` and
:mod:`pytest_codeverify.config` are the only code of the project that runs inside a sandbox. They
depend on nothing but the standard library: the harness starts them as
``python3 -I -S -c <bundle>`` (see :mod:`.bundle`) inside bubblewrap or a container, never
importing the package there. Before its first job the runner confines itself (:func:`_confine`):
work areas mounted, identity and every capability given up, the seccomp filter installed.

The runner reads job frames on its original stdin and writes result frames on its original
stdout (see :mod:`pytest_codeverify.protocol`), after moving both to high file descriptors so that
no child can reach them. It answers every job with exactly one result frame. Expected outputs
never reach it: it only runs programs and reports what they did.
"""

from __future__ import annotations

import base64
import gc
import json
import os
import select
import signal
import sys
import time
from collections.abc import Callable

from ..config import STARVED_MIN_SHARE, STARVED_WINDOW_S, wall_cap
from ..protocol import STATUSES, hello_message, read_frame, write_all, write_frame
from . import assertion, child, programs, seccomp, session_child, stubs, workarea
from .cleanup import EmptyProof, _empty_dir, _remove_sysv_ipc, tmpfs_mounts

TYPE_CHECKING = False
if TYPE_CHECKING:  # never at run time: the runner imports nothing it does not use
    from resource import struct_rusage
    from typing import Any

_READ_CHUNK = 65536
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: Seconds between two measurements of a running job's CPU time.
CPU_CHECK_INTERVAL = 0.01


def _parse_report(data: bytes, nonce: str) -> dict[str, Any] | None:
    """The first result-channel line carrying ``nonce``, as an outcome dict (or None)."""
    for line in data.splitlines():
        parts = line.decode("utf-8", "replace").split(" ", 2)
        if len(parts) != 3 or parts[0] != nonce or parts[1] not in STATUSES:
            continue
        try:
            details = json.loads(parts[2])
        except ValueError:
            details = {}
        outcome = details if isinstance(details, dict) else {}
        outcome["status"] = parts[1]
        return outcome
    return None


def _cpu_seconds(pid: int) -> float:
    """User+system CPU time of a live process, from /proc (0.0 when unavailable)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def _namespace_cpu_seconds() -> float:
    """CPU time of every live process of this PID namespace but its init (the runner): all a
    job's processes, so a job of many processes (a fork bomb) is charged for all of them."""
    total = 0.0
    for name in os.listdir("/proc"):
        if name.isdigit() and name != "1":
            total += _cpu_seconds(int(name))
    return total


class _StarvationWatch:
    """Tells a job starved of CPU by other load (its CPU time still grows, only slowly) from a
    sleeping or blocked one, once it is past its wall-clock backstop.

    CPU time is what a limit counts: a valid program on a busy machine must not be stopped by
    the backstop while it still has CPU time left. So past the backstop the job keeps running
    while, over the last :data:`STARVED_WINDOW_S`, it got at least :data:`STARVED_MIN_SHARE` of
    a CPU, and never past :func:`wall_cap`. A sleeping program is stopped one window after its
    backstop; a busy one ends at its CPU limit.
    """

    def __init__(self, cpu_limit: float, wall_limit: float, started: float) -> None:
        self.cap = started + wall_cap(cpu_limit, wall_limit)
        self.window_start: float | None = None
        self.window_cpu = 0.0

    def still_working(self, now: float, cpu_seconds: Callable[[], float]) -> bool:
        """Whether the job, past its backstop, may go on; reads its CPU time once per window."""
        if now > self.cap:
            return False
        if self.window_start is None:  # first look past the backstop: open a window
            self.window_start, self.window_cpu = now, cpu_seconds()
            return True
        elapsed = now - self.window_start
        if elapsed < STARVED_WINDOW_S:
            return True
        cpu = cpu_seconds()
        share = (cpu - self.window_cpu) / elapsed
        self.window_start, self.window_cpu = now, cpu
        return share >= STARVED_MIN_SHARE


class Runner:
    """Receives jobs, forks a child per job, collects its output, cleans up after it."""

    def __init__(self, in_fd: int, out_fd: int, work_root: str, isolated: bool) -> None:
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.work_root = work_root
        self.work_dir = os.path.join(work_root, "work")
        # Only inside its own namespaces may the runner wipe shared places and signal -1.
        self.isolated = isolated
        self.is_init = os.getpid() == 1
        child.prepare_template(self.work_dir)
        self.empty = EmptyProof(tmpfs_mounts() if isolated else set())

    def serve(self) -> None:
        write_frame(self.out_fd, hello_message(self.is_init, sys.version.split()[0]))
        while True:
            job = read_frame(self.in_fd)
            if job is None:
                return
            if job.get("type") == "ping":
                write_frame(self.out_fd, {"type": "pong", "id": job.get("id")})
                continue
            if job.get("mode") == "session":  # a cell for the session's persistent interpreter
                write_frame(self.out_fd, session_child.handle(self, job))
                continue
            try:
                result = self.run(job)
            except Exception as exc:  # a harness-side bug must answer, not hang the caller
                result = {"type": "result", "id": job.get("id"), "error": f"runner: {type(exc).__name__}: {exc}"}
            self.cleanup()
            write_frame(self.out_fd, result)

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        if not self.is_init:
            self.sweep()  # reap what the harness killed since the last job (they count as pids)
        test_pending = bool(job.get("test_frame"))  # an assertion job's test code follows, unread
        try:
            return self._run(job, test_pending)
        except BaseException:
            if test_pending and not job.get("_test_passed"):
                assertion.pass_test_frame(self.in_fd, None)  # keep the job stream in step
            raise

    def _run(self, job: dict[str, Any], assertion_job: bool) -> dict[str, Any]:
        self.prepare_workdir()
        programs.prepare(job, self.work_dir)
        stdin_fd = os.memfd_create("stdin", 0)
        data = base64.b64decode(job.get("stdin") or "")
        write_all(stdin_fd, data)
        os.lseek(stdin_fd, 0, os.SEEK_SET)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        # Objects that exist now are never collected in the child: without this its first
        # garbage collection would touch (and so copy) every page the runner owns.
        gc.freeze()
        started = time.monotonic()
        partner = None
        if assertion_job:
            # The candidate's process first: forked while no test code is in this process.
            partner = assertion.fork_candidate(job, self.work_dir, stdin_fd, out_w, err_w,
                                               (self.in_fd, self.out_fd))
            test_r, test_w = os.pipe()
        res_r, res_w = os.pipe()
        # The nonce travels in a list that the child empties, so no frame of the child (this
        # one included) holds it by name while candidate code runs.
        secret = [os.urandom(16).hex()]
        pid = os.fork()
        if pid == 0:  # the child never returns from here
            try:
                os.close(self.in_fd)
                os.close(self.out_fd)
                if partner is not None:  # the test's process of an assertion job
                    stubs.run_test(job, secret, self.work_dir, test_r, out_w, err_w, res_w, partner)
                child._child_setup(job, self.work_dir, stdin_fd, out_w, err_w, (res_w,))
                job = {k: v for k, v in job.items() if k != "stdin"}
                if programs.is_program(job):
                    programs.exec_child(job, child._make_reporter(secret))
                child._child_main(job, secret)
            finally:
                os._exit(70)
        nonce_key = secret.pop()
        for fd in (stdin_fd, out_w, err_w, res_w):
            os.close(fd)
        pids = [pid]
        if partner is not None:
            os.close(test_r)
            partner.close_ends()
            job["_test_passed"] = True
            assertion.pass_test_frame(self.in_fd, test_w)
            pids.append(partner.pid)
        result, statuses = self.supervise(job, pids, started, out_r, err_r, res_r, nonce_key)
        if partner is not None:
            assertion.merge_partner(result, statuses.get(partner.pid))
        if programs.is_program(job):
            self.sweep()  # nothing of the job may still run while its outputs are kept
            result = programs.finish(job, self.work_dir, result)
        return result

    def supervise(self, job: dict[str, Any], pids: list[int], started: float, out_r: int, err_r: int,
                  res_r: int, nonce: str) -> tuple[dict[str, Any], dict[int, int]]:
        """Watch a job's processes to their end; the result frame and every process's wait status.

        ``pids[0]`` is the process whose end ends the job (the child; for an assertion test, the
        test's process); the others (the candidate's process of an assertion test) are killed
        then. Limits apply to all of them together.
        """
        main = pids[0]
        cpu_limit = float(job.get("cpu_limit", 2))
        wall_limit = float(job.get("wall_limit", cpu_limit * 2 + 1))
        output_limit = int(job.get("output_limit", 1 << 20))
        buffers = {out_r: bytearray(), err_r: bytearray(), res_r: bytearray()}
        limits = {out_r: output_limit, err_r: output_limit, res_r: 1 << 20}
        truncated = {out_r: False, err_r: False, res_r: False}
        for fd in buffers:
            os.set_blocking(fd, False)
        poller = select.poll()
        for fd in buffers:
            poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        open_fds = set(buffers)
        # A pidfd wakes the poll the moment a process exits, even when a leftover process
        # still holds its pipes open.
        pidfds = []
        for pid in pids:
            try:
                pidfds.append(os.pidfd_open(pid))
            except (AttributeError, OSError):
                continue
            poller.register(pidfds[-1], select.POLLIN)
        statuses: dict[int, int] = {}
        usages: list[struct_rusage] = []
        killed_for = None
        exited_at: float | None = None
        next_cpu_check = started + CPU_CHECK_INTERVAL
        starved = _StarvationWatch(cpu_limit, wall_limit, started)
        while True:
            now = time.monotonic()
            for pid in pids:
                if pid not in statuses:
                    waited, raw_status, usage = os.wait4(pid, os.WNOHANG)
                    if waited == pid:
                        statuses[pid] = raw_status
                        usages.append(usage)
            if exited_at is None and main in statuses:
                exited_at = now
                self._kill(pids[1:], statuses, usages)  # the job is over for all its processes
            if exited_at is not None and (not open_fds or now - exited_at > 0.05):
                break  # done; a leftover process holding a pipe open must not delay the result
            if killed_for is None:
                if now - started > wall_limit and exited_at is None and not starved.still_working(
                        now, lambda: self.job_cpu_seconds(pids)):
                    killed_for = "wall"
                elif any(truncated[fd] for fd in (out_r, err_r)):
                    killed_for = "output"
                elif exited_at is None and now >= next_cpu_check:
                    # Reading /proc costs more than a short job's whole run: not at every wake-up.
                    next_cpu_check = now + CPU_CHECK_INTERVAL
                    if self.job_cpu_seconds(pids) > cpu_limit + 0.05:
                        killed_for = "cpu"
                if killed_for is not None:
                    self._kill(pids, statuses, usages)
                    if exited_at is None:
                        exited_at = time.monotonic()
            if not open_fds and not pidfds:
                time.sleep(0.002)
                continue
            for fd, _event in poller.poll(20):
                if fd not in buffers:
                    continue  # a pidfd
                try:
                    chunk = os.read(fd, _READ_CHUNK)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    poller.unregister(fd)
                    open_fds.discard(fd)
                    continue
                room = limits[fd] - len(buffers[fd])
                if len(chunk) > room:
                    truncated[fd] = True
                    chunk = chunk[:max(room, 0)]
                buffers[fd] += chunk
        wall = (exited_at if exited_at is not None else time.monotonic()) - started
        for fd in [*buffers, *pidfds]:
            os.close(fd)
        outcome = _parse_report(bytes(buffers[res_r]), nonce)
        status = statuses.get(main)
        cpu = sum(usage.ru_utime + usage.ru_stime for usage in usages)
        result = {
            "type": "result",
            "id": job.get("id"),
            "exit_code": os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if status is not None and os.WIFSIGNALED(status) else None,
            "stdout": base64.b64encode(bytes(buffers[out_r])).decode("ascii"),
            "stderr": base64.b64encode(bytes(buffers[err_r])).decode("ascii"),
            "stdout_truncated": truncated[out_r],
            "stderr_truncated": truncated[err_r],
            "cpu_s": round(cpu, 6),
            "wall_s": round(wall, 6),
            "killed_for": killed_for,
            "max_rss_kb": max((usage.ru_maxrss for usage in usages), default=0),
            "outcome": outcome,
        }
        if killed_for is None and cpu > cpu_limit:
            result["killed_for"] = "cpu"
        return result, statuses

    @staticmethod
    def _kill(pids: list[int], statuses: dict[int, int], usages: list[struct_rusage]) -> None:
        """Kill ``pids`` and their process groups; reap those not reaped yet."""
        for pid in pids:
            for kill in (os.kill, os.killpg):  # the pid too: it may not have made its group yet
                try:
                    kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        for pid in pids:
            if pid not in statuses:
                _, statuses[pid], usage = os.wait4(pid, 0)
                usages.append(usage)

    def job_cpu_seconds(self, pids: int | list[int]) -> float:
        """CPU time of the job so far: all its processes as the namespace's init, else those in
        ``pids`` (the child, or an assertion test's two processes)."""
        if self.is_init:
            return _namespace_cpu_seconds()
        return sum(_cpu_seconds(pid) for pid in ([pids] if isinstance(pids, int) else pids))

    def sweep(self) -> None:
        """Kill every process but this one; as the namespace's init, that is all the candidate's."""
        if self.is_init:
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
        while True:
            try:
                waited, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if waited == 0:
                if not self.is_init:
                    return
                time.sleep(0.001)

    def cleanup(self) -> None:
        self.sweep()
        # The work directory itself is kept (creating it anew costs more than the job's own
        # setup), but only while it is still the runner's real directory, not a candidate's
        # replacement or symlink; everything in and beside it goes. A place proven untouched
        # since its last cleanup is not swept again (most jobs write nothing).
        kept = (os.path.basename(self.work_dir),)
        if not self.empty.unchanged(self.work_root, kept):
            _empty_dir(self.work_root, keep=self.work_dir)
            self.empty.record(self.work_root, kept)
        if self.isolated:
            # The IPC namespace outlives jobs too: shared memory, semaphores and message queues
            # left by one test must not reach the next.
            for shared in ("/dev/shm", "/dev/mqueue"):
                if os.path.isdir(shared) and not self.empty.unchanged(shared):
                    _empty_dir(shared)
                    self.empty.record(shared)
            _remove_sysv_ipc()

    def prepare_workdir(self) -> None:
        if not os.path.isdir(self.work_dir):  # first job, or cleanup removed an impostor
            os.makedirs(self.work_dir, mode=0o700, exist_ok=True)


def _confine(args: list[str]) -> None:
    """Mount the work areas, give up identity and capabilities, install the seccomp filter."""
    if "--tmpfs" in args:
        workarea.private_mounts()
    for index, arg in enumerate(args):
        if arg == "--tmpfs":  # PATH:BYTES:INODES, mounted while CAP_SYS_ADMIN is still held
            path, size, inodes = args[index + 1].rsplit(":", 2)
            workarea.mount_tmpfs(path, int(size), int(inodes))
    if "--isolated" in args:
        workarea.drop_bounding_set()  # while CAP_SETPCAP is held: setuid below clears it
    if "--drop-to" in args:  # started as root: become an unprivileged user for good
        uid = int(args[args.index("--drop-to") + 1])
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    if "--isolated" in args:
        workarea.drop_capabilities()
        if workarea.capabilities_left():
            raise OSError(f"capabilities left after dropping them: {workarea.capabilities_left():#x}")
        if workarea.bounding_set():
            raise OSError(f"capability bounding set left: {workarea.bounding_set():#x}")
    child._set_dumpable(0)  # the candidate's processes may not ptrace or read the runner's memory
    # Before the first fork, so every job inherits it; the runner itself needs none of the
    # calls it denies (it forks without namespace flags, signals, waits and deletes files).
    seccomp.install()


def main() -> None:
    """Entry point inside the sandbox: move the protocol off fds 0-2, then serve jobs."""
    in_fd = os.dup(0)
    out_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    os.close(devnull)
    for fd in (in_fd, out_fd):
        os.set_inheritable(fd, False)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    if os.getpid() == 1:
        # As init, SIGTERM and friends from inside would be ignored anyway; be explicit.
        for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(number, signal.SIG_IGN)
    args = sys.argv[1:]
    try:
        _confine(args)
    except (seccomp.SeccompError, OSError, AttributeError, ValueError) as exc:
        if "--isolated" in args:
            sys.stderr.write(f"codeverify runner: cannot confine itself: {exc}\n")
            sys.exit(2)
    if os.getpid() != 1:
        # Outside its own PID namespace, orphans of a job are re-parented to the runner, which
        # reaps them, instead of to the machine's init.
        child._prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
    work_root = args[args.index("--work-root") + 1] if "--work-root" in args else "/tmp"
    Runner(in_fd, out_fd, work_root, isolated="--isolated" in args).serve()


if __name__ == "__main__":
    main()
