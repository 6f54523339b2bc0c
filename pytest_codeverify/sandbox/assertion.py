"""Assertion tests in two processes: the candidate's program and the test code never share one.

Standard library only. For an assertion job the runner forks two processes:

- the candidate's (:func:`fork_candidate`), set up as every job's child: it runs the program,
  then answers the test's requests (:mod:`.remote`) until the test ends. It has no result
  channel, and is forked before the runner has the test code: the runner passes the test code
  on to the test's process without reading it (:func:`pass_test_frame`), so no memory of the
  candidate's holds it.
- the test's (:func:`run_test`), forked from the runner, which never runs candidate code: its
  built-ins and modules are untouched. It runs the test code with Python's built-ins, then the
  candidate's top-level names as stubs (:class:`CandidateNames`), and is the only process that
  reports, on the private result channel: ``passed``; ``failed`` when an ``assert`` of the test
  itself failed; ``exception`` for any other exception, the candidate's included; ``exited``
  when the program ended first. It stays not dumpable, so the candidate (the same uid) can
  neither trace it nor read or write its memory or its file descriptors.
"""

from __future__ import annotations

import builtins
import os
import signal
import sys

from ..protocol import FRAME_HEADER, MAX_FRAME, ProtocolError, decode_body, read_exact, write_all
from . import child
from .handles import _stdlib_module, safe_str
from .remote import _FILE as _REMOTE_FILE
from .remote import Endpoint

TYPE_CHECKING = False
if TYPE_CHECKING:  # never at run time: the runner's imports are copied into every job's processes
    from typing import Any, NoReturn

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


# ---------------------------------------------------------------------------------------
# The test's process
# ---------------------------------------------------------------------------------------


def _made_by_test(value: Any) -> bool:
    kind = value if isinstance(value, type) else type(value)
    return getattr(kind, "__module__", None) == TEST_MODULE


class TestEnd(Endpoint):
    """The test's end: distrusts the candidate's side; any breach of the protocol ends the
    test as an exception, never as something the test code could catch."""

    accepts_global = False
    peer_module = "<program>"

    def __init__(self, in_fd: int, out_fd: int, peer_pid: int, report: Any) -> None:
        super().__init__(in_fd, out_fd, peer_pid)
        self.report = report

    def finish(self, outcome: dict[str, Any], code: int) -> NoReturn:
        """Report ``outcome`` and end the test's process."""
        self.active = False
        self.report(outcome)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        os._exit(code)

    def violation(self, message: str) -> NoReturn:
        self.finish({"status": "exception", "type": "ChannelError",
                     "message": f"the program broke the channel to the test: {message}"}, 1)

    def lost(self) -> NoReturn:
        self.finish({"status": "exited", "message": "the program ended before the test finished", "lost": True}, 0)

    def peer_exit(self, code: object) -> NoReturn:
        code = code if type(code) is int and 0 <= code <= 255 else 1
        self.finish({"status": "exited", "message": f"the program exited (code {code}) before the test finished"},
                    code)

    def allow_attribute(self, target: Any, name: str) -> None:
        # Only the public attributes of the test's own classes and their instances (a tree of
        # nodes the test built): never a way to the test's frames, code or globals.
        if name.startswith("_") or not _made_by_test(target):
            raise AttributeError(f"the program may not use attribute {name!r} of the test's "
                                 f"{type(target).__name__} object")

    def encode_named(self, value: Any) -> dict[str, Any] | None:
        module = getattr(value, "__module__", None)
        qualname = getattr(value, "__qualname__", None)
        if not (_stdlib_module(module) and type(qualname) is str and module in sys.modules):
            return None
        found: Any = sys.modules[module]
        for part in qualname.split("."):
            found = getattr(found, part, None)
        return {"global": [module, qualname]} if found is value else None


class CandidateNames(dict):  # type: ignore[type-arg]  # dict[str, Any] at run time needs typing
    """The test code's built-ins: Python's own, then the candidate's top-level names.

    Names the test defines come first (they are its globals), then the built-ins (a candidate
    defining ``abs`` or ``all`` does not change what the test's ``abs`` means), then the
    program's names, looked up on first use: a function, class or module once, data on every
    use (so the test sees its current value).
    """

    __slots__ = ("end",)
    end: TestEnd

    def __missing__(self, name: str) -> Any:
        if type(name) is not str or name.startswith("__"):
            raise KeyError(name)
        try:
            value = self.end.ask({"op": "global", "name": name})
        except NameError:
            raise KeyError(name) from None
        if type(value) not in _DATA:
            self[name] = value
        return value


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def run_test(job: dict[str, Any], secret: list[str], work_dir: str, code_fd: int, out_w: int, err_w: int, res_w: int,
             partner: Partner) -> None:
    """The test's process: read the test code, run it against the candidate's stubs, report."""
    child._process_setup(job, work_dir, (code_fd, out_w, err_w, res_w, partner.test_in, partner.test_out))
    # No signal of the candidate's may turn into an exception the test code could catch.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    child._set_dumpable(0)  # inherited from the runner already; never the candidate's to read
    report = child._make_reporter(secret)
    test = decode_body(_read_all(0))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    setup, code = str(test.get("setup") or ""), str(test.get("assert") or "")
    source = setup + "\n" + code if setup.strip() else code  # line numbers as in the test's own text
    end = TestEnd(4, 5, partner.pid, report)
    try:
        tests = compile(source, TEST_FILE, "exec", dont_inherit=True, optimize=0)
    except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError) as exc:
        _print_exception(exc.with_traceback(None), None)
        end.finish({"status": "compile_error", "message": f"test code: {type(exc).__name__}: {exc}"}, 1)
    hello = end.receive()
    _greeting(end, hello)
    names = CandidateNames(builtins.__dict__)
    names.end = end
    test_globals: dict[str, Any] = {"__builtins__": names, "__name__": TEST_MODULE}
    entry = job.get("entry_point")
    given = hello.get("names")
    try:
        for name, data in (given.items() if type(given) is dict else ()):
            if name.startswith("__"):
                continue
            if name not in builtins.__dict__:
                names[name] = end.decode(data)
            elif name == entry:
                # The function under test is named like a built-in (MBPP's ``sum``): as in the
                # original harness, the test calls the program's. No other name of the program
                # hides a built-in from the test.
                test_globals[name] = end.decode(data)
    except ProtocolError as error:
        end.violation(str(error))
    try:
        exec(tests, test_globals)
    except BaseException as exc:
        _report_exception(end, exc, source)
    end.finish({"status": "passed"}, 0)


def _greeting(end: TestEnd, hello: dict[str, Any]) -> None:
    """Go on when the program ran to its end; else report how it ended."""
    if hello.get("ready") is True:
        return
    if "compile_error" in hello:
        end.finish({"status": "compile_error", "message": safe_str(hello["compile_error"])}, 1)
    if "exit" in hello:
        end.peer_exit(hello["exit"])
    if "raise" in hello:
        try:
            exc = end.remote_exception(hello["raise"])
        except ProtocolError as error:
            end.violation(str(error))
        end.finish({"status": "exception", "type": type(exc).__name__,
                    "message": exc._codeverify_remote}, 1)  # type: ignore[attr-defined]
    end.violation("the program did not greet")


def _report_exception(end: TestEnd, exc: BaseException, source: str) -> NoReturn:
    """Report an exception out of the test code: ``failed`` for an assertion of the test's
    own, ``exception`` for anything else (the program's exceptions included)."""
    remote = getattr(exc, "_codeverify_remote", None)
    end.active = False  # nothing below asks the program anything (its objects print as placeholders)
    if isinstance(exc, AssertionError) and remote is None:
        outcome = {"status": "failed", "message": _failure(exc, source)}
    else:
        outcome = {"status": "exception", "type": type(exc).__name__,
                   "message": remote if type(remote) is str else safe_str(exc)}
    if remote is not None:
        end.active = True
        end.request({"op": "traceback"})  # the program prints its own traceback, from its frames
        end.active = False
    else:
        _print_test_traceback(exc, source)
    end.finish(outcome, 1)


def _print_test_traceback(exc: BaseException, source: str) -> None:
    """Print the traceback as Python would, with the test code's lines (which the interpreter's
    own printer cannot read: the test code is no file)."""
    lines = source.split("\n")
    text = ["Traceback (most recent call last):\n"]
    tail = exc.__traceback__.tb_next if exc.__traceback__ else None  # from the test code's frame on
    while tail is not None:
        code = tail.tb_frame.f_code
        text.append(f'  File "{code.co_filename}", line {tail.tb_lineno}, in {code.co_name}\n')
        if code.co_filename == TEST_FILE and 0 < tail.tb_lineno <= len(lines):
            text.append(f"    {lines[tail.tb_lineno - 1].strip()}\n")
        tail = tail.tb_next
    message = safe_str(exc)
    text.append(type(exc).__name__ + (f": {message}" if message else "") + "\n")
    try:
        sys.stderr.write("".join(text))
    except BaseException:
        pass


def _failure(exc: BaseException, source: str) -> str:
    """``assertion failed at line N: <the assert>`` and the assertion's message, if any."""
    line = 0
    tail = exc.__traceback__
    while tail is not None:
        if tail.tb_frame.f_code.co_filename == TEST_FILE:
            line = tail.tb_lineno
        tail = tail.tb_next
    lines = source.split("\n")
    where = f" at line {line}: {lines[line - 1].strip()[:300]}" if 0 < line <= len(lines) else ""
    message = safe_str(exc)
    return f"assertion failed{where}" + (f" ({message})" if message else "")
