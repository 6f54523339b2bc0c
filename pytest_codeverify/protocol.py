"""The protocol between the in-sandbox runner and the trusted side. Standard library only
(and :mod:`.config`, which is too).

This module is shipped into every sandbox beside the runner (see
:mod:`pytest_codeverify.sandbox.bundle`), so both ends read and write messages with the same
code: jobs and results as typed structures, the report statuses a job's child may send, the
verdicts the judge gives, and the exact value encoding. :data:`PROTOCOL_VERSION` is sent in the
runner's greeting and checked when a sandbox starts; bump it whenever a message changes shape.

Transport: frames of a 4-byte big-endian length followed by UTF-8 JSON.

An interactive job (job field ``interactive``) talks while it runs: the trusted side sends
``in`` frames (bytes for the program's stdin, or its end) and may send ``kill``; the runner
sends ``out`` frames with what the program writes to stdout, ``idle`` when it has waited for
input a while (with the count of stdin bytes ``received`` by then) and ``busy`` when it no
longer does, then the job's one result frame.
"""

from __future__ import annotations

import base64
import enum
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

from .config import DEFAULT_MEMORY_LIMIT, DEFAULT_OUTPUT_LIMIT, DEFAULT_TIME_LIMIT, wall_limit

#: Version of the message shapes below; a runner greeting with another version is refused.
PROTOCOL_VERSION = 5

FRAME_HEADER = struct.Struct(">I")
#: Largest frame either side accepts (two capped streams, base64, plus slack).
MAX_FRAME = 64 << 20


class ProtocolError(ValueError):
    """A message that does not follow this protocol."""


# ---------------------------------------------------------------------------------------
# Enumerations
# ---------------------------------------------------------------------------------------


class Status(enum.Enum):
    """What a job's child reports about its own run, on its private result channel."""

    COMPILE_ERROR = "compile_error"  # the program (or the test code) does not compile
    OK = "ok"  # a call returned; ``value`` holds the encoded return value
    NOT_PLAIN = "not_plain"  # a call returned something that is not plain built-in data
    EXITED = "exited"  # the program called exit() before the test finished
    EXCEPTION = "exception"  # an uncaught exception (``type``, ``message``)
    PASSED = "passed"  # the assertion test ran to its end
    FAILED = "failed"  # an ``assert`` of the test itself failed: the candidate's answer is wrong
    UNENCODABLE = "unencodable"  # a returned built-in value the codec cannot carry (message)


class Verdict(enum.StrEnum):
    """One test's verdict."""

    AC = "AC"  # accepted
    WA = "WA"  # wrong answer
    TLE = "TLE"  # time limit exceeded
    MLE = "MLE"  # memory limit exceeded
    RE = "RE"  # runtime error
    CE = "CE"  # compile error (or no code could be extracted)
    OLE = "OLE"  # output limit exceeded
    SE = "SE"  # sandbox/system error: the harness failed, not the candidate

    def __str__(self) -> str:
        return self.value


class Mode(enum.Enum):
    """How a job runs the candidate."""

    STDIN = "stdin"  # run the program with ``stdin``; judge what it prints
    CALL = "call"  # define, then call ``entry_point``; judge the returned value
    ASSERT = "assert"  # define, then run the test's own code (asserts)
    SESSION = "session"  # one cell in a tool session's persistent interpreter


class KilledFor(enum.Enum):
    """Why the runner killed a job."""

    CPU = "cpu"
    WALL = "wall"
    OUTPUT = "output"
    STOPPED = "stopped"  # an interactive job stopped by the harness: its partner had finished


# ---------------------------------------------------------------------------------------
# Value codec: built-in values only, exact and type preserving
# ---------------------------------------------------------------------------------------


class UnsupportedValue(TypeError):
    """A value outside the built-in types that may cross the sandbox boundary."""


_MAX_DEPTH = 200
#: Ints wider than this many bits travel as hexadecimal text: JSON (and ``str(int)``) refuse
#: integers past Python's int-to-str digit limit, and hex is exact and unlimited.
_WIDE_INT_BITS = 60


def encode_value(value: Any, _depth: int = 0) -> object:
    """Encode a built-in value as JSON-compatible data that keeps its exact type and value.

    Only exact instances of ``None, bool, int, float, complex, str, bytes, list, tuple,
    dict, set, frozenset`` are accepted: a subclass (for example an ``int`` subclass with a
    permissive ``__eq__``) raises :class:`UnsupportedValue`. Lists map to JSON arrays; other
    containers and non-JSON scalars to one-key objects naming their type. Every accepted value
    is encoded exactly, whatever its size.
    """
    if _depth > _MAX_DEPTH:
        raise UnsupportedValue("value nested too deeply")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        if value.bit_length() > _WIDE_INT_BITS:
            return {"int": hex(value)}
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
    raise UnsupportedValue(f"a value of type {type_name(kind)} is not a plain built-in value")


def _decode_float(text: object) -> float:
    if type(text) is not str:
        raise ProtocolError(f"malformed float: {str(text)[:80]}")
    return float(text)  # repr() of a float round-trips exactly


def decode_value(data: object, _depth: int = 0) -> object:
    """Invert :func:`encode_value`. Raises :class:`ProtocolError` on data it did not produce."""
    if _depth > _MAX_DEPTH + 1:
        raise ProtocolError("encoded value nested too deeply")
    kind = type(data)
    if data is None or kind is bool or kind is int or kind is str:
        return data
    if kind is list:
        return [decode_value(v, _depth + 1) for v in data]  # type: ignore[attr-defined]
    if kind is dict and len(data) == 1:  # type: ignore[arg-type]
        ((tag, inner),) = data.items()  # type: ignore[attr-defined]
        try:
            if tag == "int" and type(inner) is str:
                return int(inner, 16)
            if tag == "float":
                return _decode_float(inner)
            if tag == "tuple" and type(inner) is list:
                return tuple(decode_value(v, _depth + 1) for v in inner)
            if tag == "dict" and type(inner) is list:
                if not all(type(pair) is list and len(pair) == 2 for pair in inner):
                    raise ProtocolError("malformed encoded dict: each entry must be a [key, value] pair")
                return {decode_value(k, _depth + 1): decode_value(v, _depth + 1) for k, v in inner}
            if tag == "set" and type(inner) is list:
                return {decode_value(v, _depth + 1) for v in inner}
            if tag == "frozenset" and type(inner) is list:
                return frozenset(decode_value(v, _depth + 1) for v in inner)
            if tag == "bytes" and type(inner) is str:
                return base64.b64decode(inner, validate=True)
            if tag == "complex" and type(inner) is list and len(inner) == 2:
                return complex(_decode_float(inner[0]), _decode_float(inner[1]))
        except ProtocolError:
            raise
        except (TypeError, ValueError) as exc:  # an unhashable key, bad hex or base64
            raise ProtocolError(f"malformed encoded {tag}: {exc}") from None
    raise ProtocolError(f"malformed encoded value: {str(data)[:80]}")


def type_name(kind: type) -> str:
    """A type's name as a user would write it (``Counter`` as ``collections.Counter``)."""
    module = getattr(kind, "__module__", "")
    name = getattr(kind, "__qualname__", getattr(kind, "__name__", "?"))
    return name if module in ("builtins", "__main__") else f"{module}.{name}"


# ---------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One execution of a candidate program.

    ``mode`` is a :class:`Mode` value: ``stdin`` (run the program on ``stdin``), ``call``
    (define, then call ``entry_point`` with encoded ``args``/``kwargs``) or ``assert`` (define,
    then run ``setup`` and ``assert_code``). Limits: CPU seconds, wall seconds, MiB, bytes per
    stream. Expected outputs are never part of a job.

    A program of another language travels with extra frame fields (see
    :mod:`pytest_codeverify.sandbox.programs` and :mod:`pytest_codeverify.sandbox.compiled`):
    ``argv``, ``env`` and ``files`` (base64) always; a ``compile`` job adds ``key`` and
    ``outputs`` and its result ``artefact`` (or ``artefact_error``) and ``evicted``; a run of
    a compiled program (mode ``exec``) names its ``artefact``. An interactive job adds
    ``interactive`` (see the module's docstring), and a job may name a file of its work
    directory to ``collect``: its result then carries the file's bytes (``collected``, base64).
    """

    code: str
    mode: str = Mode.STDIN.value
    stdin: bytes = b""
    cpu_limit: float = DEFAULT_TIME_LIMIT
    wall_limit: float = wall_limit(DEFAULT_TIME_LIMIT)
    memory_limit_mb: int = DEFAULT_MEMORY_LIMIT
    output_limit: int = DEFAULT_OUTPUT_LIMIT
    entry_point: str | None = None
    args: Any = field(default_factory=list)
    kwargs: Any = field(default_factory=lambda: {"dict": []})
    args_source: str | None = None  # literal source of the arguments; replaces args/kwargs
    setup: str = ""
    assert_code: str = ""
    language: str = "python"

    def to_message(self, job_id: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The job frame the runner reads (for an assertion job, without the test code: see
        :meth:`to_frames`)."""
        message: dict[str, Any] = {
            "type": "job", "id": job_id, "mode": self.mode, "code": self.code,
            "stdin": base64.b64encode(self.stdin).decode("ascii"),
            "cpu_limit": self.cpu_limit, "wall_limit": self.wall_limit,
            "output_limit": self.output_limit,
        }
        if self.mode == Mode.CALL.value:
            message.update(entry_point=self.entry_point, args=self.args, kwargs=self.kwargs)
            if self.args_source is not None:
                message["args_source"] = self.args_source
        elif self.mode == Mode.ASSERT.value:
            message.update(entry_point=self.entry_point, test_frame=True)
        message.update(extra or {})
        return message

    def to_frames(self, job_id: int, extra: dict[str, Any] | None = None) -> bytes:
        """Everything sent to the runner for this job: the job frame, then, for an assertion job,
        a frame with the test code. The runner passes that second frame on to the test's
        process without reading it, so the test code is never in the memory of the runner,
        from which the candidate's processes are forked."""
        frames = encode_frame(self.to_message(job_id, extra))
        if self.mode == Mode.ASSERT.value:
            frames += encode_frame({"type": "test", "setup": self.setup, "assert": self.assert_code})
        return frames


@dataclass(frozen=True)
class RawResult:
    """What a program did, as observed from outside it. No verdict here."""

    exit_code: int | None
    signal: int | None
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    cpu_s: float
    wall_s: float
    killed_for: str | None  # a KilledFor value or None
    outcome: dict[str, Any] | None  # the child's report: compile error, return value, ...
    oom_killed: bool = False
    max_rss_kb: int = 0

    @classmethod
    def from_message(cls, message: dict[str, Any], oom_killed: bool = False) -> RawResult:
        """Build from a runner result frame; raises :class:`ProtocolError` when malformed."""
        try:
            killed_for = message["killed_for"]
            if killed_for is not None:
                killed_for = KilledFor(killed_for).value
            for key in ("exit_code", "signal"):
                if message[key] is not None and type(message[key]) is not int:
                    raise ProtocolError(f"malformed {key} {str(message[key])[:40]}")
            for key in ("stdout_truncated", "stderr_truncated"):
                if type(message[key]) is not bool:
                    raise ProtocolError(f"malformed {key} {str(message[key])[:40]}")
            outcome = message.get("outcome")
            if outcome is not None:
                if type(outcome) is not dict or outcome.get("status") not in STATUSES:
                    raise ProtocolError(f"malformed outcome {str(outcome)[:80]}")
                outcome = {key: _writable(item) if key != "value" else item for key, item in outcome.items()}
            return cls(
                exit_code=message["exit_code"], signal=message["signal"],
                stdout=base64.b64decode(message["stdout"]), stderr=base64.b64decode(message["stderr"]),
                stdout_truncated=message["stdout_truncated"], stderr_truncated=message["stderr_truncated"],
                cpu_s=float(message["cpu_s"]), wall_s=float(message["wall_s"]),
                killed_for=killed_for, outcome=outcome,
                oom_killed=oom_killed, max_rss_kb=int(message.get("max_rss_kb") or 0),
            )
        except ProtocolError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"malformed result from the runner: {exc!r}") from exc

    @property
    def status(self) -> Status | None:
        """The child's reported status, if it reported one."""
        return Status(self.outcome["status"]) if self.outcome else None


def _writable(item: Any) -> Any:
    """A report's text with lone surrogates (which no UTF-8 writer accepts) as ``\\udXXX``: the
    candidate writes these fields, and what it writes must not crash whoever prints them."""
    if type(item) is str:
        return item.encode("utf-8", "backslashreplace").decode("utf-8")
    return item


#: Every report status, as sent on the wire.
STATUSES = frozenset(status.value for status in Status)


def hello_message(init: bool, python: str) -> dict[str, Any]:
    """The runner's greeting: its protocol version and what it runs on."""
    return {"type": "hello", "protocol": PROTOCOL_VERSION, "init": init, "python": python}


def check_hello(message: dict[str, Any]) -> None:
    """Raise :class:`ProtocolError` unless ``message`` greets with this protocol version."""
    if message.get("type") != "hello":
        raise ProtocolError(f"runner did not greet: {str(message)[:200]}")
    if message.get("protocol") != PROTOCOL_VERSION:
        raise ProtocolError(f"runner speaks protocol {message.get('protocol')!r}, this side {PROTOCOL_VERSION}")


def in_message(job_id: int, data: bytes = b"", eof: bool = False) -> dict[str, Any]:
    """An ``in`` frame of an interactive job: ``data`` for its stdin, or (``eof``) its end."""
    if eof:
        return {"type": "in", "id": job_id, "eof": True}
    return {"type": "in", "id": job_id, "data": base64.b64encode(data).decode("ascii")}


def out_message(job_id: int, data: bytes = b"", eof: bool = False) -> dict[str, Any]:
    """An ``out`` frame of an interactive job: what its program wrote, or (``eof``) its end."""
    if eof:
        return {"type": "out", "id": job_id, "eof": True}
    return {"type": "out", "id": job_id, "data": base64.b64encode(data).decode("ascii")}


def kill_message(job_id: int) -> dict[str, Any]:
    """A ``kill`` frame: stop the running interactive job ``job_id`` (its result says ``stopped``)."""
    return {"type": "kill", "id": job_id}


#: Frame types that only mean something during an interactive job; between jobs they are stale.
STREAM_FRAMES = frozenset({"in", "kill"})


# ---------------------------------------------------------------------------------------
# Framing
# ---------------------------------------------------------------------------------------


def encode_frame(message: dict[str, Any]) -> bytes:
    """A protocol frame: 4-byte big-endian length, then compact JSON (ASCII, so any str
    including a lone surrogate travels safely)."""
    body = json.dumps(message, separators=(",", ":")).encode("ascii")
    return FRAME_HEADER.pack(len(body)) + body


def decode_body(body: bytes) -> dict[str, Any]:
    """A frame's body as a message dict."""
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise ProtocolError(f"malformed frame: {exc}") from exc
    if type(message) is not dict:
        raise ProtocolError("a frame must hold a JSON object")
    return message


class FrameReader:
    """Reassembles frames from a byte stream fed by a transport."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_frame(self) -> dict[str, Any] | None:
        """The next whole frame, or ``None`` until more bytes arrive."""
        if len(self._buffer) < FRAME_HEADER.size:
            return None
        (size,) = FRAME_HEADER.unpack_from(self._buffer)
        if size > MAX_FRAME:
            raise ProtocolError(f"oversized frame ({size} bytes)")
        if len(self._buffer) < FRAME_HEADER.size + size:
            return None
        body = bytes(self._buffer[FRAME_HEADER.size:FRAME_HEADER.size + size])
        del self._buffer[:FRAME_HEADER.size + size]
        return decode_body(body)


def read_exact(fd: int, size: int) -> bytes | None:
    """Exactly ``size`` bytes from ``fd``, or ``None`` at end of stream."""
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


def write_all(fd: int, data: bytes, _write: Any = os.write) -> None:
    """Write all of ``data``. ``os.write`` is bound at definition: code that replaces it later
    cannot change what this function writes."""
    view = memoryview(data)
    while view:
        try:
            written = _write(fd, view)
        except InterruptedError:
            continue
        view = view[written:]


def read_frame(fd: int) -> dict[str, Any] | None:
    """The next frame from a blocking ``fd``, or ``None`` at end of stream."""
    header = read_exact(fd, FRAME_HEADER.size)
    if header is None:
        return None
    (size,) = FRAME_HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ProtocolError(f"oversized frame ({size} bytes)")
    body = read_exact(fd, size)
    return None if body is None else decode_body(body)


def write_frame(fd: int, message: dict[str, Any]) -> None:
    """Write one frame to a blocking ``fd``."""
    write_all(fd, encode_frame(message))
