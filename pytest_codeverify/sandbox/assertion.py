"""Assertion tests in two processes: the candidate's program and the test code never share one.

Standard library only. For an assertion job the runner forks two processes:

- the candidate's (:func:`fork_candidate`, this module), set up as every job's child: it runs the
  program, then answers the test's requests (:mod:`.remote`) until the test ends. It has no
  result channel, and is forked before the runner has the test code: the runner passes the test
  code on to the test's process without reading it (:func:`pass_test_frame`), so no memory of
  the candidate's holds it.
- the test's (:func:`.stubs.run_test`), forked from the runner, which never runs candidate code:
  it runs the test code against stubs of the program's names and is the only one that reports.
"""

from __future__ import annotations

import builtins
import os
import sys

from ..protocol import FRAME_HEADER, MAX_FRAME, ProtocolError, read_exact, write_all
from . import child
from .remote import _FILE as _REMOTE_FILE
from .remote import Endpoint

TYPE_CHECKING = False
if TYPE_CHECKING:  # never at run time: the runner's imports are copied into every job's processes
    from typing import Any, NoReturn

# Every function below resolves built-in names in this private copy, taken before any program ran
# (a function takes its built-ins from its globals when it is made): a program that patches
# ``builtins.type`` or ``isinstance`` changes what its own code sees, not how its answers are sent.
__builtins__ = dict(builtins.__dict__)  # type: ignore[assignment]

#: The file name of the test code in tracebacks.
TEST_FILE = "<test>"
#: The ``__name__`` the test code runs under; classes it defines carry it as ``__module__``.
TEST_MODULE = "__main__"
_DATA = (type(None), bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset)
_NOT_CALLABLES = (*_DATA, type(sys))


class Partner:
    """The candidate's process of an assertion job, and the test's ends of the pipes to it."""

    def __init__(self, pid: int, test_in: int, test_out: int) -> None:
        self.pid = pid
        self.test_in = test_in
        self.test_out = test_out

    def close_ends(self) -> None:
        """Close the runner's copies of the test's ends (once the test's process has them)."""
        for fd in (self.test_in, self.test_out):
            os.close(fd)


# ---------------------------------------------------------------------------------------
# The runner's part
# ---------------------------------------------------------------------------------------


def fork_candidate(job: dict[str, Any], work_dir: str, stdin_fd: int, out_w: int, err_w: int,
                   runner_fds: tuple[int, ...]) -> Partner:
    """Fork the candidate's process of an assertion job; it runs the program, then serves."""
    to_test_r, to_test_w = os.pipe()
    to_candidate_r, to_candidate_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # never returns
        try:
            for fd in runner_fds:
                os.close(fd)
            child._child_setup(job, work_dir, stdin_fd, out_w, err_w, (to_candidate_r, to_test_w))
            candidate_main({k: v for k, v in job.items() if k != "stdin"})
        finally:
            os._exit(70)
    os.close(to_candidate_r)
    os.close(to_test_w)
    return Partner(pid, to_test_r, to_candidate_w)


def pass_test_frame(in_fd: int, out_fd: int | None) -> None:
    """Move the next frame's body (the test code) from ``in_fd`` to the pipe ``out_fd``.

    ``os.splice`` moves it kernel to kernel: the runner never holds the test code in its memory,
    so no later child of it can find it there. ``out_fd`` None (or a test process that is gone)
    discards it. Closes ``out_fd``.
    """
    try:
        header = read_exact(in_fd, FRAME_HEADER.size)
        if header is None:
            return
        (remaining,) = FRAME_HEADER.unpack(header)
        if remaining > MAX_FRAME:
            raise ProtocolError(f"oversized test frame ({remaining} bytes)")
        sink = os.open(os.devnull, os.O_WRONLY)
        target = sink if out_fd is None else out_fd
        try:
            while remaining:
                try:
                    moved = os.splice(in_fd, target, remaining)
                except BrokenPipeError:
                    target = sink  # the test's process is gone: the rest goes nowhere
                    continue
                except OSError:  # not spliceable here: copy (through this process, the fallback)
                    chunk = os.read(in_fd, min(remaining, 1 << 16))
                    moved = len(chunk)
                    try:
                        write_all(target, chunk)
                    except BrokenPipeError:
                        target = sink
                if not moved:
                    return
                remaining -= moved
        finally:
            os.close(sink)
    finally:
        if out_fd is not None:
            os.close(out_fd)


def merge_partner(result: dict[str, Any], status: int | None) -> None:
    """Fill in how the program ended when the test's process lost it mid-test."""
    outcome = result.get("outcome")
    if not outcome or outcome.get("status") != "exited" or not outcome.pop("lost", False) or status is None:
        return
    if os.WIFSIGNALED(status):
        result["signal"] = os.WTERMSIG(status)
        outcome["message"] = f"the program was killed by signal {os.WTERMSIG(status)} before the test finished"
    elif os.WIFEXITED(status):
        result["exit_code"] = os.WEXITSTATUS(status)
        outcome["message"] = f"the program exited (code {os.WEXITSTATUS(status)}) before the test finished"


# ---------------------------------------------------------------------------------------
# The candidate's process
# ---------------------------------------------------------------------------------------


class CandidateEnd(Endpoint):
    """The candidate's end: trusts the test's side, serves the program's top-level names."""

    peer_module = TEST_MODULE

    def __init__(self, in_fd: int, out_fd: int, namespace: dict[str, Any]) -> None:
        super().__init__(in_fd, out_fd)
        self.namespace = namespace
        self.last: BaseException | None = None

    def lookup(self, name: str) -> Any:
        try:
            return self.namespace[name]
        except KeyError:
            raise NameError(f"name {name!r} is not defined") from None

    def send(self, message: dict[str, Any]) -> None:
        for stream in (sys.stdout, sys.stderr):  # the program's output so far, before the test goes on
            try:
                stream.flush()
            except BaseException:
                pass
        super().send(message)

    def lost(self) -> NoReturn:
        child._finish(0)
        raise SystemExit  # not reached

    def on_system_exit(self, exc: SystemExit) -> dict[str, Any]:
        code = child._exit_code_of(exc)
        self.send({"exit": code})
        child._finish(code)
        raise SystemExit  # not reached

    def encode_exception(self, exc: BaseException) -> dict[str, Any]:
        self.last = exc
        return super().encode_exception(exc)

    def print_traceback(self) -> dict[str, Any]:
        exc = self.last
        if exc is not None:
            tail = exc.__traceback__
            while tail is not None and tail.tb_frame.f_code.co_filename == _REMOTE_FILE:
                tail = tail.tb_next
            _print_exception(exc, tail)
        return {"ok": None}

    def callables(self) -> dict[str, Any]:
        """The program's top-level functions, classes and other objects, as handles: sent with
        the greeting, so that calling them costs the test no look-up. Data and modules are looked
        up when the test uses them."""
        names = {}
        for name, value in list(self.namespace.items()):
            if type(name) is str and not name.startswith("__") and not isinstance(value, _NOT_CALLABLES):
                try:
                    names[name] = self.encode(value)
                except Exception:
                    continue
        return names

    def serve_forever(self) -> NoReturn:
        while True:
            message = self.receive()
            if message.get("op") == "traceback":
                self.send(self.print_traceback())
            elif "op" in message:
                self.send(self.serve(message))
            else:
                self.violation("a reply without a request")


def candidate_main(job: dict[str, Any]) -> None:
    """Run the program, then serve the test's requests until it ends."""
    namespace = child._main_namespace()
    end = CandidateEnd(3, 4, namespace)
    try:
        code = compile(job["code"], child.SCRIPT_NAME, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError) as exc:
        end.send({"compile_error": f"{type(exc).__name__}: {exc}"})
        _print_exception(exc.with_traceback(None), None)
        child._finish(1)
        return
    try:
        exec(code, namespace)
    except SystemExit as exc:
        end.on_system_exit(exc)
    except BaseException as exc:  # the program's uncaught exception, printed as Python would
        end.send({"raise": end.encode_exception(exc)})
        _print_exception(exc, exc.__traceback__.tb_next if exc.__traceback__ else None)
        child._finish(1)
        return
    end.send({"ready": True, "names": end.callables()})
    end.serve_forever()


def _print_exception(exc: BaseException, tail: Any) -> None:
    try:
        sys.excepthook(type(exc), exc.with_traceback(tail), tail)
    except BaseException:
        pass
