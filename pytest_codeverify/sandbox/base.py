"""The sandbox backend interface: jobs in, raw results out.

A backend owns one warm job runner (see :mod:`.runner`) behind an isolation boundary and sends
it one :class:`Job` at a time. It never judges: a :class:`RawResult` says only what the program
did. Every failure of the machinery itself raises :class:`SandboxError`, so that callers can
tell a broken sandbox (verdict ``SE``) from a wrong program.
"""

from __future__ import annotations

import abc
import base64
import json
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RUNNER_PATH = Path(__file__).with_name("runner.py")
_HEADER = struct.Struct(">I")
#: Seconds the harness waits for a result beyond the job's own wall limit.
RESULT_GRACE_S = 5.0
#: Largest result frame accepted from a runner (two capped streams, base64, plus slack).
MAX_FRAME = 64 << 20


def runner_source() -> str:
    """The runner's source text, passed to ``python3 -c`` inside the sandbox."""
    return RUNNER_PATH.read_text()


class SandboxError(RuntimeError):
    """The sandbox failed (not the candidate): the affected test gets verdict ``SE``."""


@dataclass(frozen=True)
class Job:
    """One execution of a candidate program.

    ``mode`` is ``stdin`` (run the program on ``stdin``), ``call`` (define, then call
    ``entry_point`` with encoded ``args``/``kwargs``) or ``assert`` (define, then run
    ``setup`` and ``assert_code``). Limits: CPU seconds, wall seconds, MiB, bytes per stream.
    """

    code: str
    mode: str = "stdin"
    stdin: bytes = b""
    cpu_limit: float = 2.0
    wall_limit: float = 5.0
    memory_limit_mb: int = 512
    output_limit: int = 1 << 20
    entry_point: str | None = None
    args: Any = field(default_factory=list)
    kwargs: Any = field(default_factory=lambda: {"dict": []})
    args_source: str | None = None  # literal source of the arguments; replaces args/kwargs
    setup: str = ""
    assert_code: str = ""
    language: str = "python"

    def to_message(self, job_id: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The runner protocol's job frame (see :mod:`.runner`)."""
        message: dict[str, Any] = {
            "type": "job", "id": job_id, "mode": self.mode, "code": self.code,
            "stdin": base64.b64encode(self.stdin).decode("ascii"),
            "cpu_limit": self.cpu_limit, "wall_limit": self.wall_limit,
            "output_limit": self.output_limit,
        }
        if self.mode == "call":
            message.update(entry_point=self.entry_point, args=self.args, kwargs=self.kwargs)
            if self.args_source is not None:
                message["args_source"] = self.args_source
        elif self.mode == "assert":
            message.update(setup=self.setup, **{"assert": self.assert_code})
        message.update(extra or {})
        return message


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
    killed_for: str | None  # "cpu", "wall", "output" or None
    outcome: dict[str, Any] | None  # the child's report: compile error, return value, ...
    oom_killed: bool = False
    max_rss_kb: int = 0

    @classmethod
    def from_message(cls, message: dict[str, Any], oom_killed: bool = False) -> RawResult:
        """Build from a runner result frame; raises :class:`SandboxError` for a runner error."""
        if message.get("error"):
            raise SandboxError(str(message["error"]))
        try:
            return cls(
                exit_code=message["exit_code"], signal=message["signal"],
                stdout=base64.b64decode(message["stdout"]), stderr=base64.b64decode(message["stderr"]),
                stdout_truncated=bool(message["stdout_truncated"]),
                stderr_truncated=bool(message["stderr_truncated"]),
                cpu_s=float(message["cpu_s"]), wall_s=float(message["wall_s"]),
                killed_for=message["killed_for"], outcome=message.get("outcome"),
                oom_killed=oom_killed, max_rss_kb=int(message.get("max_rss_kb") or 0),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SandboxError(f"malformed result from the runner: {exc}") from exc


def encode_frame(message: dict[str, Any]) -> bytes:
    """A protocol frame: 4-byte big-endian length, then JSON."""
    body = json.dumps(message, separators=(",", ":")).encode()
    return _HEADER.pack(len(body)) + body


class FrameReader:
    """Reassembles frames from a byte stream fed by a transport's ``recv``."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_frame(self) -> dict[str, Any] | None:
        if len(self._buffer) < _HEADER.size:
            return None
        (size,) = _HEADER.unpack_from(self._buffer)
        if size > MAX_FRAME:
            raise SandboxError(f"runner sent an oversized frame ({size} bytes)")
        if len(self._buffer) < _HEADER.size + size:
            return None
        body = bytes(self._buffer[_HEADER.size:_HEADER.size + size])
        del self._buffer[:_HEADER.size + size]
        try:
            return json.loads(body)
        except ValueError as exc:
            raise SandboxError(f"runner sent a malformed frame: {exc}") from exc


class Sandbox(abc.ABC):
    """A warm, isolated job runner. Use as a context manager or call :meth:`close`.

    Subclasses provide the transport (:meth:`_start`, :meth:`_send`, :meth:`_recv`,
    :meth:`_stop`) and per-job limit plumbing (:meth:`_before_job`, :meth:`_after_job`);
    this class runs the protocol, restarts a runner that died, and turns every transport
    failure into :class:`SandboxError`.
    """

    #: Short backend name: ``local`` or ``docker``.
    name: str = "?"

    def __init__(self) -> None:
        self._reader = FrameReader()
        self._started = False
        self._next_id = 0
        self.restarts = 0
        self.hello: dict[str, Any] = {}

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """One line for the run's header: the backend and the isolation in force."""

    def run(self, job: Job) -> RawResult:
        """Run one job. Raises :class:`SandboxError` when the sandbox itself failed."""
        if not self._started:
            self.start()
        self._next_id += 1
        job_id = self._next_id
        try:
            extra = self._before_job(job)
            self._send(encode_frame(job.to_message(job_id, extra)))
            message = self._wait_frame(time.monotonic() + job.wall_limit + RESULT_GRACE_S)
            if message.get("id") != job_id:
                raise SandboxError(f"runner answered job {message.get('id')} instead of {job_id}")
            return RawResult.from_message(message, oom_killed=self._after_job(job))
        except SandboxError:
            self._restart()
            raise
        except BaseException:
            # Interrupted mid-job (a pytest-timeout signal, Ctrl-C): the runner's state is unknown.
            self._restart(start=False)
            raise

    def start(self) -> None:
        """Start the runner and wait for its greeting (done lazily by :meth:`run`)."""
        self._reader = FrameReader()
        self._start()
        self._started = True
        try:
            hello = self._wait_frame(time.monotonic() + self.start_timeout)
        except SandboxError:
            self._stop()
            self._started = False
            raise
        if hello.get("type") != "hello":
            self._stop()
            self._started = False
            raise SandboxError(f"runner did not greet: {hello!r:.200}")
        self.hello = hello

    #: Seconds to wait for a starting runner's greeting.
    start_timeout: float = 30.0

    def close(self) -> None:
        """Stop the runner and release everything the sandbox holds."""
        if self._started:
            self._started = False
            self._stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _restart(self, start: bool = True) -> None:
        self.restarts += 1
        self.close()
        if start:
            try:
                self.start()
            except SandboxError:
                pass  # the next run() tries again and reports its own failure

    def _wait_frame(self, deadline: float) -> dict[str, Any]:
        while True:
            frame = self._reader.next_frame()
            if frame is not None:
                return frame
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SandboxError("the runner did not answer in time")
            data = self._recv(remaining)
            if not data:
                raise SandboxError("the runner exited unexpectedly" + self._death_note())
            self._reader.feed(data)

    def _death_note(self) -> str:
        return ""

    def _before_job(self, job: Job) -> dict[str, Any]:
        """Apply per-job limits outside the runner; returns extra job fields for the runner."""
        return {}

    def _after_job(self, job: Job) -> bool:
        """Returns whether the job was killed for exceeding its memory limit."""
        return False

    @abc.abstractmethod
    def _start(self) -> None: ...

    @abc.abstractmethod
    def _send(self, data: bytes) -> None: ...

    @abc.abstractmethod
    def _recv(self, timeout: float) -> bytes:
        """Bytes from the runner, ``b""`` at end of stream; raises SandboxError on timeout."""

    @abc.abstractmethod
    def _stop(self) -> None: ...
