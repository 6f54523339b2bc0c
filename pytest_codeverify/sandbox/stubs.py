"""The test's process of an assertion test: the test code, run against stubs of the program.

Standard library only. Forked from the runner, where no candidate code ever ran, so its built-ins
and modules are untouched. It runs the test code with Python's built-ins, then the program's
top-level names as stubs (:class:`CandidateNames`, see :mod:`.remote`), and is the only process of
the job that reports: ``passed``; ``failed`` when an ``assert`` of the test itself failed;
``exception`` for any other exception, the program's included; ``exited`` when the program ended
first. It stays not dumpable, so the program (the same uid) can neither trace it nor read or write
its memory or its file descriptors.
"""

from __future__ import annotations

import builtins
import os
import signal
import sys

from ..protocol import ProtocolError, decode_body
from . import child
from .assertion import TEST_FILE, TEST_MODULE, Partner, _print_exception
from .handles import _import, _stdlib_module, safe_str
from .remote import Endpoint

TYPE_CHECKING = False
if TYPE_CHECKING:  # never at run time: the runner's imports are copied into every job's processes
    from typing import Any, NoReturn

# Every function below resolves built-in names in this private copy, taken before any program ran.
__builtins__ = dict(builtins.__dict__)  # type: ignore[assignment]
_DATA = (type(None), bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset)


def _made_by_test(value: Any) -> bool:
    kind = value if isinstance(value, type) else type(value)
    return getattr(kind, "__module__", None) == TEST_MODULE


class AssertingEnd(Endpoint):
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

    __slots__ = ("end", "entry")
    end: AssertingEnd
    entry: object

    def __missing__(self, name: str) -> Any:
        if type(name) is not str or name.startswith("__"):
            raise KeyError(name)
        try:
            value = self.end.ask({"op": "global", "name": name})
        except NameError:
            raise KeyError(name) from None
        if _module_name(name) and name != self.entry:
            # A test that uses ``math`` without importing it (the program did) means the module:
            # its own copy, whatever the program bound to the name or did to its ``math``.
            value = _import(name)
        if type(value) not in _DATA:
            self[name] = value
        return value


def _module_name(name: str) -> bool:
    return name in sys.stdlib_module_names and not name.startswith("_") and _stdlib_module(name)


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
    try:  # not the runner's protection: a test the program makes eat memory ends as MLE, not stuck
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("500")  # the program's process (1000) goes first
    except OSError:
        pass
    report = child._make_reporter(secret)
    # Its pidfd before anything else: until the runner has passed the test code on, it reaps no
    # process, so the program's pid is still the program's (alive, or not yet reaped).
    end = AssertingEnd(4, 5, partner.pid, report)
    test = decode_body(_read_all(0))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    setup, code = str(test.get("setup") or ""), str(test.get("assert") or "")
    source = setup + "\n" + code if setup.strip() else code  # line numbers as in the test's own text
    try:
        tests = compile(source, TEST_FILE, "exec", dont_inherit=True, optimize=0)
    except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError) as exc:
        _print_exception(exc.with_traceback(None), None)
        end.finish({"status": "compile_error", "message": f"test code: {type(exc).__name__}: {exc}"}, 1)
    hello = end.receive()
    _greeting(end, hello)
    names = CandidateNames(builtins.__dict__)
    names.end, names.entry = end, job.get("entry_point")
    test_globals: dict[str, Any] = {"__builtins__": names, "__name__": TEST_MODULE}
    entry = job.get("entry_point")
    given = hello.get("names")
    try:
        for name, data in (given.items() if type(given) is dict else ()):
            if name.startswith("__") or (_module_name(name) and name != entry):
                continue  # a module's name is looked up when used (see CandidateNames)
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


def _greeting(end: AssertingEnd, hello: dict[str, Any]) -> None:
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


def _report_exception(end: AssertingEnd, exc: BaseException, source: str) -> NoReturn:
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
