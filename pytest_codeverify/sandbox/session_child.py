"""A persistent interpreter for tool sessions, inside the sandbox. Standard library only.

A session's sandbox runs one long-lived interpreter (forked from the runner, set up like any
job's child: limits, environment, private /tmp). Each ``session`` job sends it one cell of code;
the interpreter runs the cell in the same globals as every earlier cell, so variables, imports
and files persist, like a notebook. The runner supervises each cell exactly as it supervises a
job (CPU time, wall clock, output size) and answers with a result frame of the usual shape.

A cell over its time limit is interrupted first (``KeyboardInterrupt``, as Ctrl-C in a
notebook); if it stops within :data:`INTERRUPT_GRACE_S`, the session keeps its state and only
the other processes the cell started are killed. When a cell will not stop, floods its output,
ends the interpreter (``exit()``) or crashes it, the interpreter is killed, the sandbox is swept
and emptied like after any job, and the result frame carries no ``outcome``: the caller learns
that the state was lost, and the next cell starts a fresh interpreter. (Without a PID namespace
of its own the runner cannot tell the cell's processes apart, so there a cell over time is
always killed.)

Wire between runner and interpreter: the runner writes a request (4-byte big-endian length,
then JSON ``{"code", "stdin", "cpu_limit"}``) on the control pipe, the interpreter's fd 4; the
interpreter answers with one JSON line on fd 3 once the cell's output is flushed. The cell's
own code can read or write these descriptors, but all it can fool is its own session.
"""

from __future__ import annotations

import base64
import gc
import json
import os
import select
import signal
import time

from . import child, session_interpreter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .runner import Runner

#: The interpreter's lifetime CPU budget (its hard RLIMIT_CPU); each cell gets its own limit.
SESSION_CPU_BUDGET_S = 3600
#: Where the interpreter finds its control pipe (the first descriptor after the result channel).
CONTROL_FD = 4
_READ_CHUNK = 65536
#: Seconds an interrupted cell has to stop before the interpreter is killed.
INTERRUPT_GRACE_S = 0.5
_MESSAGE_LIMIT = 1 << 20


class _Interpreter:
    """The runner's view of the live interpreter: its pid and the four pipes to it."""

    def __init__(self, pid: int, control: int, out_r: int, err_r: int, res_r: int) -> None:
        self.pid = pid
        self.control = control
        self.out_r = out_r
        self.err_r = err_r
        self.res_r = res_r
        #: The last cell was interrupted and its other processes killed: the next one reaps them.
        self.reap = False

    def close(self) -> None:
        for fd in (self.control, self.out_r, self.err_r, self.res_r):
            try:
                os.close(fd)
            except OSError:
                pass


_current: list[_Interpreter] = []  # the live interpreter, if any (a list: no ``global`` statement needed)


def handle(runner: Runner, job: dict[str, Any]) -> dict[str, Any]:
    """Run one cell of ``job`` in the session's interpreter (starting one if needed)."""
    try:
        if not _current:
            _current.append(_start(runner, job))
        interpreter = _current[0]
        result = _run_cell(runner, interpreter, job)
        if result.get("outcome") is None:  # the interpreter is gone: start afresh next time
            _current.clear()
            interpreter.close()
            runner.cleanup()
        return result
    except Exception as exc:  # a harness-side bug must answer, not hang the caller
        if _current:
            _kill(_current.pop())
        runner.cleanup()
        return {"type": "result", "id": job.get("id"), "error": f"session: {type(exc).__name__}: {exc}"}


def _kill(interpreter: _Interpreter) -> None:
    try:
        os.killpg(interpreter.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.waitpid(interpreter.pid, 0)
    except ChildProcessError:
        pass
    interpreter.close()


def _start(runner: Runner, job: dict[str, Any]) -> _Interpreter:
    runner.prepare_workdir()
    control_r, control_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    gc.freeze()  # as for a job's child: the interpreter never copies the runner's pages by collecting them
    pid = os.fork()
    if pid == 0:  # the interpreter never returns from here
        try:
            os.close(runner.in_fd)
            os.close(runner.out_fd)
            for fd in (control_w, out_r, err_r, res_r):
                os.close(fd)
            # The CPU rlimit of a job's child is its whole life; here it is the session's budget,
            # and each cell lowers the soft limit to its own share (see session_interpreter).
            setup_job = dict(job, cpu_limit=SESSION_CPU_BUDGET_S)
            child._child_setup(setup_job, runner.work_dir, control_r, out_w, err_w, res_w)
            control = os.dup(0)  # fds above 3 were closed by the setup: this lands on CONTROL_FD
            session_interpreter.serve(control)
        finally:
            os._exit(70)
    for fd in (control_r, out_w, err_w, res_w):
        os.close(fd)
    os.set_blocking(control_w, False)
    return _Interpreter(pid, control_w, out_r, err_r, res_r)


def _run_cell(runner: Runner, interpreter: _Interpreter, job: dict[str, Any]) -> dict[str, Any]:
    """Send one cell, supervise it like a job, and build the result frame."""
    cpu_limit = float(job.get("cpu_limit", 2))
    wall_limit = float(job.get("wall_limit", cpu_limit * 2 + 1))
    output_limit = int(job.get("output_limit", 1 << 20))
    request = json.dumps({"code": job.get("code", ""), "stdin": job.get("stdin") or "",
                          "cpu_limit": cpu_limit, "reap": interpreter.reap}).encode()
    interpreter.reap = False
    pending = len(request).to_bytes(4, "big") + request
    out_r, err_r, res_r = interpreter.out_r, interpreter.err_r, interpreter.res_r
    buffers = {out_r: bytearray(), err_r: bytearray(), res_r: bytearray()}
    limits = {out_r: output_limit, err_r: output_limit, res_r: _MESSAGE_LIMIT}
    truncated = {out_r: False, err_r: False, res_r: False}
    for fd in buffers:
        os.set_blocking(fd, False)
    cpu_before = runner.job_cpu_seconds(interpreter.pid)
    started = time.monotonic()
    next_cpu_check = started
    killed_for = None
    interrupted_until = 0.0
    status = None
    report = None
    while report is None and status is None:
        now = time.monotonic()
        if killed_for is None:
            if now - started > wall_limit:
                killed_for = "wall"
            elif truncated[out_r] or truncated[err_r]:
                killed_for = "output"
            elif now >= next_cpu_check:
                next_cpu_check = now + 0.01
                if runner.job_cpu_seconds(interpreter.pid) - cpu_before > cpu_limit + 0.05:
                    killed_for = "cpu"
            if killed_for is not None:
                if killed_for == "output" or not runner.is_init:
                    break
                # Over time: interrupt the cell (KeyboardInterrupt) and give it a moment to end,
                # so the session keeps its state; a cell that will not stop is killed below.
                _signal(interpreter.pid, signal.SIGINT)
                interrupted_until = now + INTERRUPT_GRACE_S
        elif now > interrupted_until:
            break
        poller = select.poll()
        for fd in buffers:
            poller.register(fd, select.POLLIN)
        if pending:
            poller.register(interpreter.control, select.POLLOUT)
        for fd, _event in poller.poll(10):
            if fd == interpreter.control:
                try:
                    pending = pending[os.write(fd, pending):]
                except BlockingIOError:
                    pass
                except OSError:
                    pending = b""  # the interpreter is gone; waitpid below tells how
                continue
            _read_into(fd, buffers, limits, truncated)
        newline = buffers[res_r].find(b"\n")
        if newline >= 0:
            report = _parse_report(bytes(buffers[res_r][:newline]))
            del buffers[res_r][:newline + 1]
        try:
            waited, raw_status = os.waitpid(interpreter.pid, os.WNOHANG)
        except ChildProcessError:  # reaped behind our back: the interpreter is gone
            waited, raw_status = interpreter.pid, 0
        if waited == interpreter.pid:
            status = raw_status
    cpu = max(0.0, runner.job_cpu_seconds(interpreter.pid) - cpu_before)
    if report is not None and killed_for is not None:
        # Interrupted in time: the interpreter lives on; what else the cell started does not.
        _kill_all_but(interpreter.pid)
        interpreter.reap = True
    elif killed_for is not None or status is not None:
        if status is None:
            try:
                os.killpg(interpreter.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                _, status = os.waitpid(interpreter.pid, 0)
            except ChildProcessError:
                status = None
        report = None
    # What the cell wrote before it answered (or died) is already in the pipes.
    for fd in (out_r, err_r):
        while _read_into(fd, buffers, limits, truncated):
            pass
    if report is not None and (truncated[out_r] or truncated[err_r]):
        killed_for, report = "output", None
        _kill_quietly(interpreter.pid)
    wall = time.monotonic() - started
    alive = report is not None
    return {
        "type": "result", "id": job.get("id"),
        "exit_code": 0 if alive else (os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status)
                                      else None),
        "signal": None if alive or status is None or not os.WIFSIGNALED(status) else os.WTERMSIG(status),
        "stdout": base64.b64encode(bytes(buffers[out_r])).decode("ascii"),
        "stderr": base64.b64encode(bytes(buffers[err_r])).decode("ascii"),
        "stdout_truncated": truncated[out_r], "stderr_truncated": truncated[err_r],
        "cpu_s": round(cpu, 6), "wall_s": round(wall, 6), "killed_for": killed_for,
        "max_rss_kb": 0, "outcome": report,
    }


def _signal(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except OSError:
        pass


def _kill_all_but(interpreter: int) -> None:
    """Kill every process of the namespace but the runner (its init) and the interpreter."""
    doomed = [int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) not in (1, interpreter)]
    for pid in doomed:
        _signal(pid, signal.SIGKILL)
    # Killing is asynchronous: wait (briefly) until each is dead, so the interpreter's reaping
    # before the next cell finds them all.
    deadline = time.monotonic() + 1.0
    while doomed and time.monotonic() < deadline:
        doomed = [pid for pid in doomed if _state(pid) not in ("Z", "X", "")]
        if doomed:
            time.sleep(0.005)
    while True:  # reap what was re-parented to the runner; the interpreter's own children it reaps
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def _state(pid: int) -> str:
    """A process's state letter from /proc ("" when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0].decode()
    except (OSError, IndexError):
        return ""


def _kill_quietly(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass


def _read_into(fd: int, buffers: dict[int, bytearray], limits: dict[int, int], truncated: dict[int, bool]) -> bool:
    """Read what ``fd`` holds now into its buffer (capped); whether anything came."""
    try:
        chunk = os.read(fd, _READ_CHUNK)
    except (BlockingIOError, OSError):
        return False
    if not chunk:
        return False
    room = limits[fd] - len(buffers[fd])
    if len(chunk) > room:
        truncated[fd] = True
        chunk = chunk[:max(room, 0)]
    buffers[fd] += chunk
    return True


def _parse_report(line: bytes) -> dict[str, Any] | None:
    try:
        report = json.loads(line.decode("utf-8", "replace"))
    except ValueError:
        return None
    if not isinstance(report, dict) or report.get("status") not in ("ok", "exception", "compile_error"):
        return None
    return report
