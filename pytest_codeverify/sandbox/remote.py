"""The channel between the two processes of an assertion test. Standard library only.

An assertion test runs in two processes (see :mod:`.assertion`): the candidate's, which runs the
program and then answers requests, and the test's, which runs the test code and never runs a line
of the candidate's. Each holds an :class:`Endpoint` on a pair of pipes. A request asks for an
operation on an object of the other side (look up a top-level name, call it, get an attribute,
index it, iterate it, ...); the reply carries the result as data (see :mod:`.handles`), or the
exception raised. Requests nest: while one side waits for its reply it serves the other's.
"""

from __future__ import annotations

import builtins
import os
import select

from ..protocol import FRAME_HEADER, MAX_FRAME, ProtocolError, decode_body, encode_frame, write_all
from .handles import MAX_BATCH, Codec

TYPE_CHECKING = False
if TYPE_CHECKING:  # never at run time: the runner's imports are copied into every job's processes
    from collections.abc import Callable
    from typing import Any, NoReturn

# Every function below resolves built-in names in this private copy, taken before any program ran
# (a function takes its built-ins from its globals when it is made): a program that patches
# ``builtins.type`` or ``isinstance`` changes what its own code sees, not how its answers are sent.
__builtins__ = dict(builtins.__dict__)  # type: ignore[assignment]

_READ_CHUNK = 1 << 16
_MUTABLE = (list, dict, set)
_MAX_DEPTH = 200
_FILE = (lambda: None).__code__.co_filename


def _merge(target: Any, new: Any, depth: int = 0) -> None:
    """Make the container ``target`` hold what ``new`` holds, keeping nested containers that
    are still there (same place, same type) as the same objects."""
    if depth > _MAX_DEPTH:
        return
    if type(target) is list:
        for index in range(min(len(target), len(new))):
            if type(target[index]) in _MUTABLE and type(new[index]) is type(target[index]):
                _merge(target[index], new[index], depth + 1)
                new[index] = target[index]
        target[:] = new
    elif type(target) is dict:
        for key, value in list(new.items()):
            old = target.get(key)
            if type(old) in _MUTABLE and type(value) is type(old):
                _merge(old, value, depth + 1)
                new[key] = old
        target.clear()
        target.update(new)
    elif type(target) is set:
        target.clear()
        target.update(new)


class Endpoint(Codec):
    """One side of the channel: sends requests, serves the other side's.

    The base class trusts the other side (the candidate's process trusts the test's); the test's
    side overrides the hooks to distrust it: :meth:`violation`, :meth:`lost`, :meth:`peer_exit`,
    :meth:`allow_attribute`, :meth:`lookup`. ``peer_pid``: the other process, whose end ends a
    wait for its message even while a child of it holds the pipe open.
    """

    def __init__(self, in_fd: int, out_fd: int, peer_pid: int | None = None) -> None:
        super().__init__()
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.active = True
        self.buffer = bytearray()
        self.poller: Any = None
        self.pidfd = -1
        if peer_pid is not None:
            try:  # wakes a read when the other process is gone but a child of it holds the pipe
                self.pidfd = os.pidfd_open(peer_pid)
                self.poller = select.poll()
                self.poller.register(in_fd, select.POLLIN | select.POLLHUP | select.POLLERR)
                self.poller.register(self.pidfd, select.POLLIN)
            except (AttributeError, OSError):
                self.poller = None

    # -- hooks --------------------------------------------------------------------------------

    def violation(self, message: str) -> NoReturn:
        """The other side broke the protocol."""
        raise ProtocolError(message)

    def lost(self) -> NoReturn:
        """The other side is gone (end of stream, broken pipe, process ended)."""
        raise ProtocolError("the other process is gone")

    def peer_exit(self, code: object) -> NoReturn:
        """The other side's program exited while serving a request."""
        self.violation("unexpected exit message")

    def on_system_exit(self, exc: SystemExit) -> dict[str, Any]:
        """The reply when serving a request raised ``SystemExit``."""
        return {"raise": self.encode_exception(exc)}

    def allow_attribute(self, target: Any, name: str) -> None:
        """Raise ``AttributeError`` unless the other side may get or set ``name`` on ``target``."""

    def lookup(self, name: str) -> Any:
        """The value of a top-level name, for the other side's ``global`` request."""
        raise NameError(f"name {name!r} is not defined")

    # -- transport ----------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        try:
            write_all(self.out_fd, encode_frame(message))
        except OSError:
            self.lost()

    def receive(self) -> dict[str, Any]:
        buffer = self.buffer
        while True:
            if len(buffer) >= FRAME_HEADER.size:
                (size,) = FRAME_HEADER.unpack_from(buffer)
                if size > MAX_FRAME:
                    self.violation(f"oversized message ({size} bytes)")
                end = FRAME_HEADER.size + size
                if len(buffer) >= end:
                    body = bytes(buffer[FRAME_HEADER.size:end])
                    del buffer[:end]
                    try:
                        return decode_body(body)
                    except (ProtocolError, RecursionError) as exc:
                        self.violation(f"unreadable message: {type(exc).__name__}")
            chunk = self._read()
            if not chunk:
                self.lost()
            buffer += chunk

    def _read(self) -> bytes:
        if self.poller is not None:
            while True:
                events = dict(self.poller.poll())
                if self.in_fd in events:
                    break
                if self.pidfd in events:
                    return b""
        try:
            return os.read(self.in_fd, _READ_CHUNK)
        except OSError:
            return b""

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send a request; serve the other side's requests until its reply comes."""
        if not self.active:
            raise RuntimeError("the program's objects cannot be used any more")
        self.send(message)
        while True:
            reply = self.receive()
            if "op" in reply:
                self.send(self.serve(reply))
                continue
            return reply

    # -- asking -------------------------------------------------------------------------------

    def ask(self, message: dict[str, Any]) -> Any:
        return self.result(self.request(message))

    def result(self, reply: dict[str, Any]) -> Any:
        """The value a reply carries; raises the exception it carries."""
        try:
            if "ok" in reply:
                return self.decode(reply["ok"])
            if "exit" in reply:
                self.peer_exit(reply["exit"])
            if "raise" not in reply:
                raise ProtocolError("a reply without a result")
            exc = self.remote_exception(reply["raise"])
        except ProtocolError as error:
            self.violation(str(error))
        if isinstance(exc, (StopIteration, StopAsyncIteration)):
            # Only a ``next`` ends an iteration: a StopIteration out of a call would silently end
            # whatever loop the call sits in (``all(map(f, cases))``), as PEP 479 rules for
            # generators.
            exc = RuntimeError(f"the program raised {type(exc).__name__}: {getattr(exc, '_codeverify_remote', '')}")
            exc._codeverify_remote = str(exc)  # type: ignore[attr-defined]
        raise exc

    def call(self, ref: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        message = {"op": "call", "target": ref, "args": [self.encode(a) for a in args],
                   "kwargs": {k: self.encode(v) for k, v in kwargs.items()}}
        reply = self.request(message)
        try:
            self.apply_changes(reply.get("sync"), args, kwargs)
        except ProtocolError as error:
            self.violation(str(error))
        return self.result(reply)

    def apply_changes(self, changes: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Apply in place what a call did to the list, dict and set arguments it was given."""
        if changes is None:
            return
        if type(changes) is not list:
            raise ProtocolError("malformed argument changes")
        for change in changes:
            if type(change) is not list or len(change) != 2:
                raise ProtocolError("malformed argument change")
            where, data = change
            if type(where) is int and 0 <= where < len(args):
                original = args[where]
            elif type(where) is str and where in kwargs:
                original = kwargs[where]
            else:
                raise ProtocolError("an argument change names no argument")
            new = self.decode(data)
            if type(original) in _MUTABLE and type(new) is type(original):
                _merge(original, new)

    def next_batch(self, ref: int, size: int) -> tuple[list[Any], BaseException | None]:
        """Up to ``size`` next items of an iterator, and how it ended (if it did)."""
        reply = self.request({"op": "next", "target": ref, "n": size})
        try:
            if "exit" in reply:
                self.peer_exit(reply["exit"])
            items = self.decode(reply.get("ok"))
            if type(items) is not list or len(items) > size:
                raise ProtocolError("malformed items")
            ending: BaseException | None = None
            if reply.get("stop") is True:
                ending = StopIteration()
            elif "raise" in reply:
                ending = self.remote_exception(reply["raise"])
            elif not items:
                raise ProtocolError("no items and no end")
        except ProtocolError as error:
            self.violation(str(error))
        return items, ending

    # -- serving ------------------------------------------------------------------------------

    def serve(self, message: dict[str, Any]) -> dict[str, Any]:
        """The reply to one request of the other side."""
        try:
            action = self._prepare(message)
        except ProtocolError as error:
            self.violation(f"bad request: {error}")
        try:
            return action()
        except SystemExit as exc:
            return self.on_system_exit(exc)
        except BaseException as exc:
            return {"raise": self.encode_exception(exc)}

    def _prepare(self, message: dict[str, Any]) -> Callable[[], dict[str, Any]]:
        """Check and decode a request; the returned function carries it out."""
        op = message.get("op")
        if op == "global":
            given = message.get("name")
            if not isinstance(given, str):
                raise ProtocolError("a global name must be a str")
            global_name: str = given
            return lambda: {"ok": self.encode(self.lookup(global_name))}
        target = self.local(message.get("target"))
        if op == "call":
            raw_args, raw_kwargs = message.get("args"), message.get("kwargs")
            if type(raw_args) is not list or type(raw_kwargs) is not dict:
                raise ProtocolError("malformed call")
            args = [self.decode(a) for a in raw_args]
            kwargs = {str(k): self.decode(v) for k, v in raw_kwargs.items()}
            return lambda: self._call_local(target, raw_args, args, raw_kwargs, kwargs)
        if op in ("getattr", "setattr"):
            name = message.get("name")
            if type(name) is not str:
                raise ProtocolError("an attribute name must be a str")
            if op == "getattr":
                return lambda: self._getattr(target, name)
            value = self.decode(message.get("value"))
            return lambda: self._setattr(target, name, value)
        if op in ("getitem", "setitem", "delitem"):
            key = self.decode(message.get("key"))
            if op == "getitem":
                return lambda: self._ok(target[key])
            if op == "delitem":
                return lambda: self._ok(target.__delitem__(key))
            value = self.decode(message.get("value"))
            return lambda: self._ok(target.__setitem__(key, value))
        unary: dict[Any, Callable[[Any], Any]] = {"len": len, "bool": bool, "str": str, "repr": repr, "iter": iter}
        if op in unary:
            return lambda: self._ok(unary[op](target))
        if op == "next":
            size = message.get("n")
            if type(size) is not int or not 1 <= size <= MAX_BATCH:
                raise ProtocolError("malformed next")
            return lambda: self._next_local(target, size)
        if op in ("isinstance", "issubclass"):
            value = self.decode(message.get("value"))
            check = isinstance if op == "isinstance" else issubclass
            return lambda: self._ok(check(value, target))
        raise ProtocolError(f"unknown operation {str(op)[:40]!r}")

    def _ok(self, value: Any) -> dict[str, Any]:
        return {"ok": self.encode(value)}

    def _getattr(self, target: Any, name: str) -> dict[str, Any]:
        self.allow_attribute(target, name)
        return self._ok(getattr(target, name))

    def _setattr(self, target: Any, name: str, value: Any) -> dict[str, Any]:
        self.allow_attribute(target, name)
        setattr(target, name, value)
        return self._ok(None)

    def _call_local(self, target: Any, raw_args: list[Any], args: list[Any], raw_kwargs: dict[str, Any],
                    kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            reply = {"ok": self.encode(target(*args, **kwargs))}
        except SystemExit:
            raise
        except BaseException as exc:
            reply = {"raise": self.encode_exception(exc)}
        # The caller's list, dict and set arguments change as the call changed its copies.
        changes: list[list[Any]] = []
        for where, raw, value in [*zip(range(len(args)), raw_args, args, strict=True),
                                  *((k, raw_kwargs[k], v) for k, v in kwargs.items())]:
            if type(value) in _MUTABLE:
                try:
                    now = self.encode(value)
                except Exception:
                    continue
                if now != raw:
                    changes.append([where, now])
        if changes:
            reply["sync"] = changes
        return reply

    def _next_local(self, target: Any, size: int) -> dict[str, Any]:
        items: list[Any] = []
        reply: dict[str, Any] = {}
        try:
            for _ in range(size):
                items.append(next(target))
        except StopIteration:
            reply["stop"] = True
        except SystemExit:
            raise
        except BaseException as exc:
            reply["raise"] = self.encode_exception(exc)
        reply["ok"] = self.encode(items)
        return reply

    def local(self, ref: object) -> Any:
        """An own object by handle number."""
        if type(ref) is not int or ref not in self.objects:
            raise ProtocolError("unknown object")
        return self.objects[ref]
