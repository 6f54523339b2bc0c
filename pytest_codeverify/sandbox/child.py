"""The child of a job: the process that becomes the candidate's program. Standard library only.

The runner (:mod:`.runner`) forks one child per job; this module turns the child into a
pristine-looking interpreter (fds, signals, limits, environment), runs the candidate in the
job's mode (stdin or call) and writes a one-line report on a private result channel (fd 3),
tagged with a nonce the candidate never sees by name. Assertion tests run in two processes
instead, the candidate's and the test's (see :mod:`.assertion`), set up with the same helpers.
"""

from __future__ import annotations

import _signal  # the C functions behind signal's: no enum conversion per call (see _reset_signals)
import atexit
import builtins
import io
import json
import math
import os
import resource
import signal
import sys
import types

from ..protocol import UnsupportedValue, decode_value, encode_value, type_name, write_all

TYPE_CHECKING = False
if TYPE_CHECKING:  # never at run time: the runner's imports are copied into every job's child
    from collections.abc import Callable
    from typing import Any

SCRIPT_NAME = "solution.py"
RESULT_FD = 3
_MAX_REDUCE_DEPTH = 200
# Every function below resolves built-in names in this private copy (a function takes its
# built-ins from its globals' ``__builtins__`` when it is created), so a candidate that
# monkeypatches ``builtins.type``, ``isinstance``, ``dict`` ... changes what its own code
# sees, not the runner code that reduces and reports its results.
__builtins__ = dict(builtins.__dict__)  # type: ignore[assignment]


_LIBC: list[Any] = []  # libc's prctl, loaded once in the runner and inherited by every child


def _prctl(option: int, value: int) -> int:
    """``prctl(option, value)``; -1 when it cannot be called."""
    try:
        if not _LIBC:
            import ctypes

            _LIBC.append(ctypes.CDLL(None).prctl)
        return int(_LIBC[0](option, value, 0, 0, 0))
    except Exception:
        return -1


def _set_dumpable(flag: int) -> None:
    _prctl(4, flag)  # PR_SET_DUMPABLE


# ---------------------------------------------------------------------------------------
# The child: becomes the candidate's process
# ---------------------------------------------------------------------------------------


def _set_limit(which: int, soft: int, hard: int | None = None) -> None:
    try:
        resource.setrlimit(which, (soft, soft if hard is None else hard))
    except (ValueError, OSError):
        pass


def _place_fds(fds: tuple[int, ...]) -> None:
    """Make ``fds`` the process's fds 0, 1, 2, ... in order and close every other fd."""
    count = len(fds)
    sources = []
    for fd in fds:
        moved, spare = fd, []
        while moved < count:  # never dup2 onto a source that is still to be placed
            spare.append(moved)
            moved = os.dup(moved)
        for extra in spare[1:]:
            os.close(extra)
        sources.append(moved)
    for target, source in enumerate(sources):
        os.dup2(source, target)
    os.closerange(count, 65536)


#: What every job's process starts from, prepared once in the runner by :func:`prepare_template`
#: (a forked child inherits it): doing this work once per runner instead of once per job halves
#: the cost of a trivial job, since a child's every write to a page the runner owns copies it.
_TEMPLATE: dict[str, Any] = {}
#: Signals every process of a job resets, whatever the runner found at start.
_ALWAYS_RESET = (signal.SIGPIPE, signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGXFSZ, signal.SIGCHLD)


def job_environment(work_dir: str) -> dict[str, str]:
    """The environment of every job's process: the same few variables, whatever the runner had."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": work_dir, "LANG": "C.UTF-8",
            "TMPDIR": work_dir, "PYTHONIOENCODING": "utf-8"}


def prepare_template(work_dir: str) -> None:
    """Prepare, in the runner and once, what :func:`_process_setup` would otherwise build in every
    job's process: the job environment (the runner's own environment becomes it; the runner
    reads none), the list of signals whose disposition is not the default, and the standard
    streams and ``sys.argv`` (the runner's own become them: it reads and writes its frames on
    file descriptors of its own, and has read its arguments already)."""
    os.environ.clear()
    os.environ.update(job_environment(work_dir))
    changed: set[int] = set(_ALWAYS_RESET)
    for number in range(1, signal.NSIG):
        if number in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            if signal.getsignal(number) is not signal.SIG_DFL:
                changed.add(number)
        except (OSError, ValueError):
            continue
    streams = _template_streams()
    _TEMPLATE.update(work_dir=work_dir, signals=sorted(int(number) for number in changed), streams=streams)
    if streams is not None:
        # In place before any fork, so a job's process needs neither to assign them nor to free
        # the interpreter's first streams: each of those writes copies pages of the runner's.
        _install_streams(streams)
        sys.argv = [SCRIPT_NAME]


def _install_streams(streams: tuple[io.TextIOWrapper, io.TextIOWrapper, io.TextIOWrapper]) -> None:
    sys.stdin, sys.stdout, sys.stderr = streams
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = streams  # type: ignore[misc]


def _new_streams() -> tuple[io.TextIOWrapper, io.TextIOWrapper, io.TextIOWrapper]:
    """Standard streams over fds 0, 1 and 2, as a normal interpreter makes them."""
    return (io.TextIOWrapper(open(0, "rb", closefd=False), encoding="utf-8", errors="surrogateescape",
                             newline="\n"),
            io.TextIOWrapper(open(1, "wb", closefd=False), encoding="utf-8", errors="surrogateescape",
                             newline="\n"),
            io.TextIOWrapper(open(2, "wb", closefd=False), encoding="utf-8", errors="backslashreplace",
                             newline="\n", line_buffering=True))


def _template_streams() -> tuple[io.TextIOWrapper, io.TextIOWrapper, io.TextIOWrapper] | None:
    """The standard streams of every job's process, made once: over the kinds of files a job's
    process has on fds 0-2 (a memfd, then two pipes), so that what the streams learn of their
    files when made (seekable or not, position, block size) is what they would learn there.
    The runner never reads or writes them (only a crash of its own would be written to fd 2);
    each child gets its own pristine copy by forking."""
    saved: list[int] = []
    made: list[int] = []
    try:
        saved = [os.dup(fd) for fd in (0, 1, 2)]
        stdin = os.memfd_create("stdin", 0)
        made.append(stdin)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        made += [out_r, out_w, err_r, err_w]
        for fd, source in zip((0, 1, 2), (stdin, out_w, err_w), strict=True):
            os.dup2(source, fd)
        return _new_streams()
    except OSError:
        return None
    finally:
        for fd, copy in zip((0, 1, 2), saved, strict=False):
            os.dup2(copy, fd)
            os.close(copy)
        for fd in made:
            os.close(fd)


def _reset_signals() -> None:
    """Default dispositions for every signal the runner had changed (all of them when no template
    was prepared); ``SIGPIPE`` ignored, as in a normal interpreter (``BrokenPipeError``).

    Through ``_signal``: ``signal.signal`` turns every answer into an enum member, and the enum
    machinery it walks would copy some 40 of the runner's pages into each job's process."""
    numbers = _TEMPLATE.get("signals") or range(1, _signal.NSIG)
    for number in numbers:
        if number in (_signal.SIGKILL, _signal.SIGSTOP):
            continue
        try:
            _signal.signal(number, _signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    _signal.signal(_signal.SIGPIPE, _signal.SIG_IGN)


def _process_setup(job: dict[str, Any], work_dir: str, fds: tuple[int, ...]) -> None:
    """What every process of a job gets: its own session, default signals, ``fds`` as fds 0, 1,
    2, ..., the job's limits, a clean environment and fresh standard streams."""
    os.setsid()
    _reset_signals()
    _place_fds(fds)
    cpu = max(1, math.ceil(float(job.get("cpu_limit", 2))))
    _set_limit(resource.RLIMIT_CPU, cpu, cpu + 1)
    _set_limit(resource.RLIMIT_CORE, 0)
    _set_limit(resource.RLIMIT_FSIZE, int(job.get("fsize_limit", 64 << 20)))
    _set_limit(resource.RLIMIT_NOFILE, 256)
    if job.get("memory_rlimit"):
        _set_limit(resource.RLIMIT_AS, int(job["memory_rlimit"]))
    if job.get("nproc_rlimit"):
        _set_limit(resource.RLIMIT_NPROC, int(job["nproc_rlimit"]))
    os.chdir(work_dir)
    if _TEMPLATE.get("work_dir") != work_dir:  # no template: build the environment here
        os.environ.clear()
        os.environ.update(job_environment(work_dir))
    # The runner's untouched template streams are in place already when it made them (each job's
    # process has its own copy by forking), else new ones.
    if _TEMPLATE.get("streams") is None or sys.stdout is not _TEMPLATE["streams"][1]:
        _install_streams(_new_streams())
        sys.argv = [SCRIPT_NAME]


def _child_setup(job: dict[str, Any], work_dir: str, stdin_fd: int, out_w: int, err_w: int,
                 channels: int | tuple[int, ...]) -> None:
    """Turn the forked child into a pristine-looking process for the candidate.

    ``channels`` become fds 3, 4, ...: the result channel, or (assertion tests) the pipes to
    the test's process.
    """
    channels = (channels,) if isinstance(channels, int) else channels
    _process_setup(job, work_dir, (stdin_fd, out_w, err_w, *channels))
    # Its own process: the candidate may read its /proc entries, as any program may.
    _set_dumpable(1)
    _signal.signal(_signal.SIGINT, _signal.default_int_handler)  # SIGINT -> KeyboardInterrupt
    try:  # without a Python file object: each object made here costs copied pages
        adjust = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
        try:
            os.write(adjust, b"1000")
        finally:
            os.close(adjust)
    except OSError:
        pass
    sys.path[:] = [work_dir] + [p for p in sys.path if p and p != work_dir]


def _make_reporter(secret: list[str], _dumps: Any = json.dumps,
                   _write_all: Any = write_all) -> Callable[[dict[str, Any]], None]:
    """A function that writes the child's outcome to the result channel, tagged with a nonce.

    The line is ``<nonce> <status> <json details>``: the nonce and status are formatted with
    ``str`` operations (which no candidate can alter), so even a candidate that patched
    ``json`` cannot turn a failure into a pass; it can only garble the details. The nonce is
    taken out of ``secret`` so that no frame below the candidate's code holds it under a name.
    """
    prefix = secret.pop() + " "

    def send(payload: dict[str, Any]) -> None:
        status = payload.pop("status")
        try:
            details = _dumps(payload)
        except BaseException as exc:
            # The status stands, the details are lost; but a returned value that could not be
            # written must never read as a return without one.
            if status == "ok":
                status = "unencodable"
            details = '{"message": "the report could not be encoded: ' + type_name(type(exc)) + '"}'
        try:
            _write_all(RESULT_FD, (prefix + status + " " + details + "\n").encode())
        except OSError:
            pass

    return send


def _make_reduce(_type: Any = type, _isinstance: Any = isinstance, _list: Any = list, _tuple: Any = tuple,
                 _dict: Any = dict, _set: Any = set, _frozenset: Any = frozenset, _int: Any = int,
                 _float: Any = float, _complex: Any = complex, _str: Any = str,
                 _bytes: Any = bytes) -> Callable[[Any, int], Any]:
    """Build :func:`_reduce` with every name it needs bound in its closure.

    Built before any candidate code runs, so replacing ``_reduce``'s helpers in the runner's
    globals (reachable from the candidate's frames) does not change the function in use.
    """
    scalars = (_type(None), bool, _int, _str, _float, _complex, _bytes)
    exact_base = (
        (_int, lambda v: _int.__add__(v, 0)),
        (_float, lambda v: _float.__mul__(v, 1.0)),
        (_complex, lambda v: _complex.__mul__(v, 1)),
        (_str, lambda v: _str.__str__(v)),
        (_bytes, lambda v: _bytes.__add__(b"", v)),
        (_tuple, lambda v: _tuple(_tuple.__iter__(v))),
        (_list, lambda v: _list(_list.__iter__(v))),
        (_dict, lambda v: _dict(_dict.items(v))),
        (_frozenset, lambda v: _frozenset(_frozenset.__iter__(v))),
        (_set, lambda v: _set(_set.__iter__(v))),
    )

    def reduce(value: Any, depth: int = 0) -> Any:
        """Reduce a value a call returned to something whose ``==`` cannot be faked.

        Exact built-in values pass (containers are checked deeply); instances of subclasses of
        built-in types become their exact base type (``Counter`` -> ``dict``, a named tuple ->
        ``tuple``); objects of types that cannot be altered at run time (iterators, ranges, ...)
        pass unchanged; anything else is refused.
        """
        if depth > _MAX_REDUCE_DEPTH:
            raise UnsupportedValue("value nested too deeply")
        kind = _type(value)
        if kind in scalars:
            return value
        if kind is _list:
            return [reduce(v, depth + 1) for v in value]
        if kind is _tuple:
            return _tuple(reduce(v, depth + 1) for v in value)
        if kind is _dict:
            return {reduce(k, depth + 1): reduce(v, depth + 1) for k, v in value.items()}
        if kind is _set:
            return {reduce(v, depth + 1) for v in value}
        if kind is _frozenset:
            return _frozenset(reduce(v, depth + 1) for v in value)
        # The base type's own C slots read the stored value, bypassing any override.
        for base, exact in exact_base:
            if _isinstance(value, base):
                return reduce(exact(value), depth + 1)  # type: ignore[no-untyped-call]
        if kind.__flags__ & (1 << 8):  # Py_TPFLAGS_IMMUTABLETYPE: methods cannot be replaced
            return value
        raise UnsupportedValue(f"a value of type {type_name(kind)} cannot be compared safely")

    return reduce


_reduce = _make_reduce()


def _resolve_entry_point(namespace: dict[str, Any], name: str) -> Any:
    solution = namespace.get("Solution")
    if isinstance(solution, type) and hasattr(solution, name):
        return getattr(solution(), name)
    if name in namespace and callable(namespace[name]):
        return namespace[name]
    raise LookupError(f"entry point {name!r} is not defined (neither a function nor a method of Solution)")


def _main_namespace() -> dict[str, Any]:
    """A fresh ``__main__`` module for the candidate's program; its namespace."""
    module = types.ModuleType("__main__")
    module.__file__ = SCRIPT_NAME
    module.__builtins__ = builtins  # type: ignore[attr-defined]
    sys.modules["__main__"] = module
    return module.__dict__


def _exit_code_of(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1


def _finish(code: int) -> None:
    """Shut down as the interpreter would, then leave without running the runner's cleanup."""
    # Joins the program's non-daemon threads, as exit does: only when the program imported
    # threading, as the interpreter checks too. The runner never imports it: its handler for
    # fork would run in every job's process and copy some 150 of the runner's pages (0.4 ms).
    threading = sys.modules.get("threading")
    if threading is not None:
        try:
            threading._shutdown()
        except BaseException:
            pass
    try:
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            if code == 0:
                code = 120  # what CPython exits with when flushing stdout fails at exit
    os._exit(code)


def _child_main(job: dict[str, Any], secret: list[str], _reduce: Any = _reduce) -> None:
    """Run the candidate of a stdin or call job and report what it did."""
    report = _make_reporter(secret)
    mode = job["mode"]
    try:
        code = compile(job["code"], SCRIPT_NAME, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError) as exc:
        report({"status": "compile_error", "message": f"{type(exc).__name__}: {exc}"})
        sys.excepthook(type(exc), exc.with_traceback(None), None)
        _finish(1)
        return
    namespace = _main_namespace()
    exit_code = 0
    try:
        exec(code, namespace)
        if mode == "call":
            target = _resolve_entry_point(namespace, job["entry_point"])
            if job.get("args_source") is not None:
                # Literal source from the test (never expected values): compiled and evaluated
                # here, so containers are built exactly as in the call it came from.
                source = f"(lambda *a, **k: (a, k))({job['args_source']})"
                args, kwargs = eval(compile(source, "<args>", "eval", dont_inherit=True), {"__builtins__": {}})
            else:
                args = decode_value(job.get("args", []))
                kwargs = decode_value(job.get("kwargs", {"dict": []}))
            value = target(*args, **kwargs)
            try:
                # Reduced first: a Counter is compared as the dict it is, exactly as Python's
                # == would; a class of the candidate's is refused.
                encoded = encode_value(_reduce(value))
            except UnsupportedValue as exc:
                report({"status": "not_plain", "message": str(exc)})
            else:
                report({"status": "ok", "value": encoded})
    except SystemExit as exc:
        exit_code = _exit_code_of(exc)
        if mode != "stdin":
            report({"status": "exited", "message": f"the program exited (code {exit_code}) before the test finished"})
    except UnsupportedValue as exc:
        report({"status": "not_plain", "message": str(exc)})
        exit_code = 1
    except BaseException as exc:  # the candidate's uncaught exception, printed as Python would
        report({"status": "exception", "type": type(exc).__name__, "message": _safe_str(exc)})
        try:
            # Start the traceback at the candidate's frames, as a normal run would show it.
            tail = exc.__traceback__.tb_next if exc.__traceback__ else None
            sys.excepthook(type(exc), exc.with_traceback(tail), tail)
        except BaseException:
            pass
        exit_code = 1
    _finish(exit_code)


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)[:2000]
    except BaseException:
        return "<unprintable exception>"
