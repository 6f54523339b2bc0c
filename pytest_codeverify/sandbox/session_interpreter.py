"""The interpreter of a tool session, inside the sandbox. Standard library only.

Forked and set up by :mod:`.session_child` (the runner's side); this is its loop: read one cell
from the control pipe (fd 4), run it in the session's ``__main__`` namespace, answer with one
JSON line on fd 3 once the cell's output is flushed. SIGINT, the runner's interrupt of a cell
over its time, is held back outside cells so that it never breaks this loop.
"""

from __future__ import annotations

import ast
import base64
import builtins
import io
import json
import math
import os
import resource
import signal
import sys
import traceback

from ..protocol import write_all
from . import child

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CELL_NAME = "<cell>"


def serve(control: int) -> None:


    """The interpreter's loop: one cell per request, all in one ``__main__`` namespace."""
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    sys.modules["__main__"] = main = type(sys)("__main__")
    main.__dict__.update(namespace)
    namespace = main.__dict__
    # SIGINT (the runner's interrupt of a cell over its time) is held back outside cells, so it
    # can never break this loop; one that arrives late is discarded before the next cell.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    while True:
        request = _read_request(control)
        if request is None:  # the runner went away
            os._exit(0)
        if request.get("reap"):
            _reap_children()
        _set_stdin(base64.b64decode(request.get("stdin") or ""))
        _set_cpu_limit(float(request.get("cpu_limit", 2)))
        while signal.SIGINT in signal.sigpending():
            signal.sigtimedwait({signal.SIGINT}, 0)
        try:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            report = _cell(str(request.get("code", "")), namespace)
        except SystemExit as exc:  # the program ended the interpreter: so be it
            _flush()
            os._exit(child._exit_code_of(exc))
        finally:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        _flush()
        write_all(child.RESULT_FD, (json.dumps(report) + "\n").encode())


def _reap_children() -> None:
    """Collect the exit statuses of children an interrupted cell left (they were killed)."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def _cell(code: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run one cell; the value of a last bare expression (not a ``print``) is its result."""
    try:
        tree = ast.parse(code, CELL_NAME, "exec")
        last = None
        final = tree.body[-1] if tree.body else None
        if isinstance(final, ast.Expr) and not _is_print(final.value):
            tree.body.pop()
            last = ast.Expression(final.value)
        body = compile(tree, CELL_NAME, "exec")
        tail = compile(last, CELL_NAME, "eval") if last is not None else None
    except (SyntaxError, ValueError) as exc:
        traceback.print_exception(type(exc), exc, None)
        return {"status": "compile_error", "message": f"{type(exc).__name__}: {_text(exc)}"}
    try:
        exec(body, namespace)
        if tail is None:
            return {"status": "ok", "value": None}
        value = eval(tail, namespace)
        return {"status": "ok", "value": _text(value, strict=True)}
    except SystemExit:
        raise
    except BaseException as exc:  # the cell's error, shown as an interpreter shows it
        try:
            traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next if exc.__traceback__ else None)
        except Exception:
            pass
        return {"status": "exception", "type": _text(type(exc).__name__), "message": _text(exc)}


def _is_print(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"


def _text(value: Any, strict: bool = False) -> str:
    """``str(value)``, capped; a ``__str__`` that fails is reported (``strict``) or described."""
    try:
        text = str(value)
    except Exception as exc:
        if strict:
            raise
        text = f"<unprintable {type(value).__name__}: {type(exc).__name__}>"
    return text[:100_000]


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass


def _read_request(control: int) -> dict[str, Any] | None:
    header = _read_exact(control, 4)
    if header is None:
        return None
    body = _read_exact(control, int.from_bytes(header, "big"))
    if body is None:
        return None
    request = json.loads(body)
    return request if isinstance(request, dict) else None


def _read_exact(fd: int, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        try:
            chunk = os.read(fd, size - len(data))
        except InterruptedError:
            continue
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _set_stdin(data: bytes) -> None:
    """Give the cell ``data`` as its standard input (a fresh, already rewound memory file)."""
    fd = os.memfd_create("stdin", 0)
    write_all(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    os.dup2(fd, 0)
    os.close(fd)
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(  # type: ignore[misc]
        open(0, "rb", closefd=False), encoding="utf-8", errors="surrogateescape", newline="\n")


def _set_cpu_limit(seconds: float) -> None:
    """Lower the soft CPU rlimit to this cell's share: a backstop behind the runner's measurement."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(used + seconds) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except (ValueError, OSError):
        pass
