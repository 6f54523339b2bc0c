"""The job runner: runs inside the isolation boundary and executes one job per forked child.

This module is the only code of the project that runs inside a sandbox. It must depend on
nothing but the standard library: the harness starts it as ``python3 -I -S -c <this source>``
inside bubblewrap or a container, so it is never imported from the package there.

Protocol: frames of a 4-byte big-endian length followed by UTF-8 JSON, on the runner's
original stdin (jobs in) and stdout (results out). The runner moves both to high file
descriptors at start so that no child can reach them. It answers every job with exactly one
result frame. Expected outputs never reach it: it only runs programs and reports what they did.

Job fields: ``id``, ``mode`` (``stdin`` | ``call`` | ``assert``), ``code``, ``stdin`` (base64),
``cpu_limit`` and ``wall_limit`` (seconds), ``output_limit`` (bytes per stream),
``memory_rlimit`` and ``nproc_rlimit`` (only where no cgroup enforces them), and per mode
``entry_point``/``args``/``kwargs`` (call) or ``setup``/``assert`` (assert).

The value codec (:func:`encode_value` / :func:`decode_value`) lives here too, so that the
runner and the trusted judge agree on it exactly; the harness imports it from this module.
"""

from __future__ import annotations

import atexit
import base64
import builtins
import errno
import gc
import io
import json
import math
import os
import resource
import select
import signal
import struct
import sys
import threading
import time
import types

TYPE_CHECKING = False
if TYPE_CHECKING:  # never at run time: the runner's imports are copied into every job's child
    from collections.abc import Callable
    from typing import Any

PROTOCOL_VERSION = 1
SCRIPT_NAME = "solution.py"
RESULT_FD = 3
_HEADER = struct.Struct(">I")
_READ_CHUNK = 65536
# A read-only snapshot of the built-ins, taken before any candidate code ran: assertion test
# code runs on a fresh copy of it, whatever the candidate did to the ``builtins`` module.
_PRISTINE_BUILTINS = types.MappingProxyType(dict(builtins.__dict__))
# Every function below resolves built-in names in this private copy (a function takes its
# built-ins from its globals' ``__builtins__`` when it is created), so a candidate that
# monkeypatches ``builtins.type``, ``isinstance``, ``dict`` ... changes what its own code
# sees, not the runner code that reduces and reports its results.
__builtins__ = dict(builtins.__dict__)  # type: ignore[assignment]
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: Seconds between two measurements of a running job's CPU time.
CPU_CHECK_INTERVAL = 0.01

# ---------------------------------------------------------------------------------------
# Value codec: built-in values only, type preserving, shared with the trusted judge.
# ---------------------------------------------------------------------------------------


class UnsupportedValue(TypeError):
    """A value outside the built-in types that may cross the sandbox boundary."""


_SCALARS = (type(None), bool, int, str)
_MAX_DEPTH = 200


def encode_value(value: Any, _depth: int = 0) -> object:
    """Encode a built-in value as JSON-compatible data that keeps its exact type.

    Only exact instances of ``None, bool, int, float, complex, str, bytes, list, tuple,
    dict, set, frozenset`` are accepted: a subclass (for example an ``int`` subclass with a
    permissive ``__eq__``) raises :class:`UnsupportedValue`. Lists map to JSON arrays; other
    containers and non-JSON scalars to one-key objects naming their type.
    """
    if _depth > _MAX_DEPTH:
        raise UnsupportedValue("value nested too deeply")
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is float:
        return {"float": repr(value)}
    if kind is list:
        return [encode_value(v, _depth + 1) for v in value]
    if kind is tuple:
        return {"tuple": [encode_value(v, _depth + 1) for v in value]}
    if kind is dict:
        return {"dict": [[encode_value(k, _depth + 1), encode_value(v, _depth + 1)] for k, v in value.items()]}
    if kind is set or kind is frozenset:
        return {kind.__name__: [encode_value(v, _depth + 1) for v in value]}
    if kind is bytes:
        return {"bytes": base64.b64encode(value).decode("ascii")}
    if kind is complex:
        return {"complex": [repr(value.real), repr(value.imag)]}
    raise UnsupportedValue(f"a value of type {_type_name(kind)} is not a plain built-in value")


def decode_value(data: object) -> object:
    """Invert :func:`encode_value`. Raises ``ValueError`` on data it did not produce."""
    if data is None or type(data) in (bool, int, str):
        return data
    if type(data) is list:
        return [decode_value(v) for v in data]
    if type(data) is dict and len(data) == 1:
        ((tag, inner),) = data.items()
        if tag == "float" and type(inner) is str:
            return float(inner)
        if tag == "tuple" and type(inner) is list:
            return tuple(decode_value(v) for v in inner)
        if tag == "dict" and type(inner) is list:
            return {decode_value(k): decode_value(v) for k, v in inner}
        if tag == "set" and type(inner) is list:
            return {decode_value(v) for v in inner}
        if tag == "frozenset" and type(inner) is list:
            return frozenset(decode_value(v) for v in inner)
        if tag == "bytes" and type(inner) is str:
            return base64.b64decode(inner)
        if tag == "complex" and type(inner) is list and len(inner) == 2:
            return complex(float(inner[0]), float(inner[1]))
    raise ValueError(f"malformed encoded value: {str(data)[:80]}")


def _type_name(kind: type) -> str:
    module = getattr(kind, "__module__", "")
    name = getattr(kind, "__qualname__", getattr(kind, "__name__", "?"))
    return name if module in ("builtins", "__main__") else f"{module}.{name}"


# ---------------------------------------------------------------------------------------
# Framing
# ---------------------------------------------------------------------------------------


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        try:
            chunk = os.read(fd, size)
        except InterruptedError:
            continue
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int) -> dict | None:
    header = _read_exact(fd, _HEADER.size)
    if header is None:
        return None
    body = _read_exact(fd, _HEADER.unpack(header)[0])
    if body is None:
        return None
    return json.loads(body)


def _write_all(fd: int, data: bytes, _write=os.write) -> None:
    # ``os.write`` is captured at definition: a candidate that replaces it cannot rewrite reports.
    view = memoryview(data)
    while view:
        try:
            written = _write(fd, view)
        except InterruptedError:
            continue
        view = view[written:]


def _write_frame(fd: int, message: dict) -> None:
    body = json.dumps(message, separators=(",", ":")).encode()
    _write_all(fd, _HEADER.pack(len(body)) + body)


def _prctl(option: int, value: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None).prctl(option, value, 0, 0, 0)
    except Exception:
        pass


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


def _child_setup(job: dict, work_dir: str, stdin_fd: int, out_w: int, err_w: int, res_w: int) -> None:
    """Turn the forked child into a pristine-looking process for the candidate."""
    os.setsid()
    _set_dumpable(1)
    for number in range(1, signal.NSIG):
        if number in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(number, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    # As in a normal interpreter: SIGPIPE ignored (BrokenPipeError), SIGINT -> KeyboardInterrupt.
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")
    except OSError:
        pass
    os.dup2(stdin_fd, 0)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    os.dup2(res_w, RESULT_FD)
    os.closerange(RESULT_FD + 1, 65536)
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
    os.environ.clear()
    os.environ.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": work_dir, "LANG": "C.UTF-8",
                       "TMPDIR": work_dir, "PYTHONIOENCODING": "utf-8"})
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(  # type: ignore[misc]
        open(0, "rb", closefd=False), encoding="utf-8", errors="surrogateescape", newline="\n")
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(  # type: ignore[misc]
        open(1, "wb", closefd=False), encoding="utf-8", errors="surrogateescape", newline="\n")
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(  # type: ignore[misc]
        open(2, "wb", closefd=False), encoding="utf-8", errors="backslashreplace", newline="\n",
        line_buffering=True)
    sys.argv = [SCRIPT_NAME]
    sys.path[:] = [work_dir] + [p for p in sys.path if p and p != work_dir]


_STATUSES = frozenset({"compile_error", "ok", "not_plain", "exited", "exception", "passed"})


def _make_reporter(secret: list, _dumps=json.dumps, _write_all=_write_all) -> Callable[[dict], None]:
    """A function that writes the child's outcome to the result channel, tagged with a nonce.

    The line is ``<nonce> <status> <json details>``: the nonce and status are formatted with
    ``str`` operations (which no candidate can alter), so even a candidate that patched
    ``json`` cannot turn a failure into a pass; it can only garble the details. The nonce is
    taken out of ``secret`` so that no frame below the candidate's code holds it under a name.
    """
    prefix = secret.pop() + " "

    def send(payload: dict) -> None:
        status = payload.pop("status")
        try:
            details = _dumps(payload)
        except BaseException:
            details = "{}"
        try:
            _write_all(RESULT_FD, (prefix + status + " " + details + "\n").encode())
        except OSError:
            pass

    return send


def _parse_report(data: bytes, nonce: str) -> dict | None:
    """The first result-channel line carrying ``nonce``, as an outcome dict (or None)."""
    for line in data.splitlines():
        parts = line.decode("utf-8", "replace").split(" ", 2)
        if len(parts) != 3 or parts[0] != nonce or parts[1] not in _STATUSES:
            continue
        try:
            details = json.loads(parts[2])
        except ValueError:
            details = {}
        outcome = details if isinstance(details, dict) else {}
        outcome["status"] = parts[1]
        return outcome
    return None


def _make_reduce(_type=type, _isinstance=isinstance, _list=list, _tuple=tuple, _dict=dict, _set=set,
                 _frozenset=frozenset, _int=int, _float=float, _complex=complex, _str=str, _bytes=bytes):
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
        """Reduce a value returned to assertion code to something whose ``==`` cannot be faked.

        Exact built-in values pass (containers are checked deeply); instances of subclasses of
        built-in types become their exact base type (``Counter`` -> ``dict``, a named tuple ->
        ``tuple``); objects of types that cannot be altered at run time (iterators, ranges, ...)
        pass unchanged; anything else is refused.
        """
        if depth > _MAX_DEPTH:
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
                return reduce(exact(value), depth + 1)
        if kind.__flags__ & (1 << 8):  # Py_TPFLAGS_IMMUTABLETYPE: methods cannot be replaced
            return value
        raise UnsupportedValue(f"a value of type {_type_name(kind)} cannot be compared safely")

    return reduce


_reduce = _make_reduce()


def _wrap_function(function, _reduce=_reduce):
    def guarded(*args, **kwargs):
        return _reduce(function(*args, **kwargs))

    guarded.__name__ = getattr(function, "__name__", "guarded")
    guarded.__doc__ = getattr(function, "__doc__", None)
    guarded.__wrapped__ = function
    return guarded


def _resolve_entry_point(namespace: dict, name: str):
    solution = namespace.get("Solution")
    if isinstance(solution, type) and hasattr(solution, name):
        return getattr(solution(), name)
    if name in namespace and callable(namespace[name]):
        return namespace[name]
    raise LookupError(f"entry point {name!r} is not defined (neither a function nor a method of Solution)")


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
    try:
        threading._shutdown()  # type: ignore[attr-defined]  # joins non-daemon threads, as exit does
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


def _child_main(job: dict, secret: list, _pristine=_PRISTINE_BUILTINS, _wrap=_wrap_function,
                _reduce=_reduce) -> None:
    report = _make_reporter(secret)
    mode = job["mode"]
    try:
        code = compile(job["code"], SCRIPT_NAME, "exec", dont_inherit=True)
        tests = None
        if mode == "assert":
            tests = compile((job.get("setup") or "") + "\n" + job["assert"], "<test>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError) as exc:
        report({"status": "compile_error", "message": f"{type(exc).__name__}: {exc}"})
        sys.excepthook(type(exc), exc.with_traceback(None), None)
        _finish(1)
        return
    module = types.ModuleType("__main__")
    module.__file__ = SCRIPT_NAME
    module.__builtins__ = builtins  # type: ignore[attr-defined]
    sys.modules["__main__"] = module
    namespace = module.__dict__
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
                # Reduced first, as for assertion tests: a Counter is compared as the dict it
                # is, exactly as Python's == would; a class of the candidate's is refused.
                encoded = encode_value(_reduce(value))
            except UnsupportedValue as exc:
                report({"status": "not_plain", "message": str(exc)})
            else:
                report({"status": "ok", "value": encoded})
        elif mode == "assert":
            test_globals = {}
            for name, value in list(namespace.items()):
                is_function = type(value).__name__ == "function" and getattr(value, "__module__", None) == "__main__"
                test_globals[name] = _wrap(value) if is_function else value
            test_globals["__builtins__"] = dict(_pristine)
            test_globals["__name__"] = "__main__"
            exec(tests, test_globals)  # type: ignore[arg-type]  # compiled above in assert mode
            report({"status": "passed"})
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


# ---------------------------------------------------------------------------------------
# The parent: one job at a time
# ---------------------------------------------------------------------------------------


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

    def serve(self) -> None:
        _write_frame(self.out_fd, {"type": "hello", "protocol": PROTOCOL_VERSION, "init": self.is_init,
                                   "python": sys.version.split()[0]})
        while True:
            job = _read_frame(self.in_fd)
            if job is None:
                return
            if job.get("type") == "ping":
                _write_frame(self.out_fd, {"type": "pong", "id": job.get("id")})
                continue
            try:
                result = self.run(job)
            except Exception as exc:  # a harness-side bug must answer, not hang the caller
                result = {"type": "result", "id": job.get("id"), "error": f"runner: {type(exc).__name__}: {exc}"}
            self.cleanup()
            _write_frame(self.out_fd, result)

    def run(self, job: dict) -> dict:
        if not self.is_init:
            self.sweep()  # reap what the harness killed since the last job (they count as pids)
        self.prepare_workdir()
        stdin_fd = os.memfd_create("stdin", 0)
        data = base64.b64decode(job.get("stdin") or "")
        _write_all(stdin_fd, data)
        os.lseek(stdin_fd, 0, os.SEEK_SET)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        res_r, res_w = os.pipe()
        # The nonce travels in a list that the child empties, so no frame of the child (this
        # one included) holds it by name while candidate code runs.
        secret = [os.urandom(16).hex()]
        # Objects that exist now are never collected in the child: without this its first
        # garbage collection would touch (and so copy) every page the runner owns.
        gc.freeze()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the child never returns from here
            try:
                os.close(self.in_fd)
                os.close(self.out_fd)
                _child_setup(job, self.work_dir, stdin_fd, out_w, err_w, res_w)
                job = {k: v for k, v in job.items() if k != "stdin"}
                _child_main(job, secret)
            finally:
                os._exit(70)
        nonce_key = secret.pop()
        for fd in (stdin_fd, out_w, err_w, res_w):
            os.close(fd)
        return self.supervise(job, pid, started, out_r, err_r, res_r, nonce_key)

    def supervise(self, job: dict, pid: int, started: float, out_r: int, err_r: int, res_r: int,
                  nonce: str) -> dict:
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
        # The pidfd wakes the poll the moment the child exits, even when a leftover process
        # still holds its pipes open.
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = None
        if pidfd is not None:
            poller.register(pidfd, select.POLLIN)
        status = None
        rusage = None
        killed_for = None
        exited_at: float | None = None
        next_cpu_check = started + CPU_CHECK_INTERVAL
        while True:
            now = time.monotonic()
            if status is None:
                waited, raw_status, usage = os.wait4(pid, os.WNOHANG)
                if waited == pid:
                    status, rusage, exited_at = raw_status, usage, now
            if exited_at is not None and (not open_fds or now - exited_at > 0.05):
                break  # done; a leftover process holding a pipe open must not delay the result
            if killed_for is None:
                if now - started > wall_limit:
                    killed_for = "wall"
                elif any(truncated[fd] for fd in (out_r, err_r)):
                    killed_for = "output"
                elif status is None and now >= next_cpu_check:
                    # Reading /proc costs more than a short job's whole run: not at every wake-up.
                    next_cpu_check = now + CPU_CHECK_INTERVAL
                    if self.job_cpu_seconds(pid) > cpu_limit + 0.05:
                        killed_for = "cpu"
                if killed_for is not None:
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except OSError:
                        pass
                    if status is None:
                        _, status, rusage = os.wait4(pid, 0)
                        exited_at = time.monotonic()
            if not open_fds and pidfd is None:
                time.sleep(0.002)
                continue
            for fd, _event in poller.poll(20):
                if fd == pidfd:
                    continue
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
        for fd in buffers:
            os.close(fd)
        if pidfd is not None:
            os.close(pidfd)
        outcome = _parse_report(bytes(buffers[res_r]), nonce)
        cpu = (rusage.ru_utime + rusage.ru_stime) if rusage else 0.0
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
            "max_rss_kb": rusage.ru_maxrss if rusage else 0,
            "outcome": outcome,
        }
        if killed_for is None and cpu > cpu_limit:
            result["killed_for"] = "cpu"
        return result

    def job_cpu_seconds(self, pid: int) -> float:
        """CPU time of the job so far: all its processes as the namespace's init, else the child's."""
        return _namespace_cpu_seconds() if self.is_init else _cpu_seconds(pid)

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
        # replacement or symlink; everything in and beside it goes.
        _empty_dir(self.work_root, keep=self.work_dir)
        if self.isolated:
            # The IPC namespace outlives jobs too: shared memory, semaphores and message queues
            # left by one test must not reach the next.
            for shared in ("/dev/shm", "/dev/mqueue"):
                if os.path.isdir(shared):
                    _empty_dir(shared)
            _remove_sysv_ipc()

    def prepare_workdir(self) -> None:
        if not os.path.isdir(self.work_dir):  # first job, or cleanup removed an impostor
            os.makedirs(self.work_dir, mode=0o700, exist_ok=True)


#: /proc/sysvipc file -> the libc function that removes one of its objects.
_SYSV_IPC = (("shm", "shmctl"), ("sem", "semctl"), ("msg", "msgctl"))
_IPC_RMID = 0


def _remove_sysv_ipc() -> None:
    """Remove every System V shared memory segment, semaphore set and message queue in reach."""
    for kind, function in _SYSV_IPC:
        try:
            with open(f"/proc/sysvipc/{kind}") as table:
                ids = [int(line.split()[1]) for line in table.readlines()[1:] if line.strip()]
        except (OSError, ValueError, IndexError):
            continue
        if not ids:
            continue
        try:
            import ctypes

            remove = getattr(ctypes.CDLL(None), function)
        except (OSError, AttributeError):
            continue
        for ipc_id in ids:
            if function == "semctl":
                remove(ipc_id, 0, _IPC_RMID)
            else:
                remove(ipc_id, _IPC_RMID, None)


def _empty_dir(path: str, keep: str = "") -> None:
    """Remove everything below ``path``, including trees the candidate made unreadable.

    A real directory at ``keep`` is emptied instead of removed.
    """
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.path == keep and entry.is_dir(follow_symlinks=False):
                os.chmod(entry.path, 0o700)
                _empty_dir(entry.path)
            elif entry.is_dir(follow_symlinks=False):
                try:
                    os.chmod(entry.path, 0o700)
                except OSError:
                    pass
                _empty_dir(entry.path)
                os.rmdir(entry.path)
            else:
                os.unlink(entry.path)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.EBUSY):
                pass


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
    if "--drop-to" in args:  # started as root: become an unprivileged user for good
        uid = int(args[args.index("--drop-to") + 1])
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    _set_dumpable(0)  # the candidate's processes may not ptrace or read the runner's memory
    if os.getpid() != 1:
        # Outside its own PID namespace, orphans of a job are re-parented to the runner, which
        # reaps them, instead of to the machine's init.
        _prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
    work_root = args[args.index("--work-root") + 1] if "--work-root" in args else "/tmp"
    Runner(in_fd, out_fd, work_root, isolated="--isolated" in args).serve()


if __name__ == "__main__":
    main()
