"""Tool sessions: a persistent Python interpreter per agent, each in its own sandbox.

An agent that calls a code tool many times in one episode expects what it defined in one call
to be there in the next. A :class:`Session` is one sandbox (the same isolation as a test: no
network, private /tmp, memory and process limits) running one long-lived interpreter (see
:mod:`pytest_codeverify.sandbox.session_child`); :meth:`Session.execute` runs one cell in it.
Sessions never share a sandbox, so they cannot see each other's state or files.

A cell that runs past its time limit is interrupted (``TLE``); when it stops, the state is
kept and the message says so. A cell that will not stop, floods its output, exits or crashes
the interpreter ends that interpreter: the call gets its verdict (``TLE``, ``OLE``, ``RE``,
...), the message says that the state was lost, and the next call starts afresh in an emptied
sandbox.

:class:`SessionManager` holds the live sessions of a server: ids that cannot be guessed, a
maximum number of live sessions, an idle timeout, and counts for the metrics.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .config import DEFAULT_MEMORY_LIMIT, DEFAULT_OUTPUT_LIMIT, DEFAULT_TIME_LIMIT
from .engine import SandboxFailure, execute, job_limits
from .judge import Verdict, verdict_of_run
from .protocol import Job, Mode
from .sandbox import open_sandbox
from .sandbox.base import Sandbox as Backend

__all__ = ["INTERRUPTED", "STATE_LOST", "Session", "SessionClosed", "SessionManager", "SessionResult",
           "TooManySessions",
           "UnknownSession"]

#: Appended to the message of a call after which the interpreter had to be restarted.
STATE_LOST = ("the session was restarted and its state was lost (variables, imports and files of earlier "
              "calls); the next call starts in a fresh interpreter")

#: Appended to the message of a call over its time that was interrupted without losing the state.
INTERRUPTED = "the call was interrupted; the session keeps its state"


class UnknownSession(KeyError):
    """No live session has this id (it never existed, was ended, or expired)."""


class SessionClosed(RuntimeError):
    """The session was ended; it runs no more code."""


class TooManySessions(RuntimeError):
    """As many sessions are live as allowed; ``retry_after`` is a hint in seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class SessionResult:
    """One call's outcome.

    ``verdict`` is ``AC`` when the cell ran to its end, ``RE`` when it raised (``error_type``
    and ``error`` hold the exception's type name and ``str()``), ``CE`` when it does not
    compile, else ``TLE``, ``MLE``, ``OLE`` or ``SE``. ``result`` is ``str()`` of the value of
    a last bare expression (as in a notebook), or ``None``. ``restarted`` says the interpreter
    ended with this call and its state is lost.
    """

    verdict: Verdict
    stdout: str
    stderr: str
    result: str | None
    error_type: str | None
    error: str | None
    message: str
    restarted: bool
    time_s: float
    wall_s: float
    truncated: bool

    @property
    def ok(self) -> bool:
        """Whether the cell ran to its end without an error."""
        return self.verdict is Verdict.AC


class Session:
    """One persistent interpreter in its own sandbox; calls on it are serialized.

    Made by :meth:`pytest_codeverify.Sandbox.session` or :meth:`SessionManager.create`. Use it
    as a context manager, or call :meth:`close`.
    """

    def __init__(self, backend: Backend, *, time_limit: float = DEFAULT_TIME_LIMIT,
                 memory_limit: int = DEFAULT_MEMORY_LIMIT, output_limit: int = DEFAULT_OUTPUT_LIMIT,
                 session_id: str | None = None) -> None:
        self.id = session_id or secrets.token_urlsafe(18)
        self.time_limit = float(time_limit)
        self.memory_limit = memory_limit
        self.output_limit = output_limit
        self.calls = 0
        self.restarts = 0
        self.last_used = time.monotonic()
        self._backend = backend
        self._lock = threading.Lock()
        self._closed = False

    def start(self) -> None:
        """Start the sandbox now (else the first call does); raises ``SandboxError``."""
        with self._lock:
            self._backend.start()

    def execute(self, code: str, stdin: str | bytes = "", *, time_limit: float | None = None) -> SessionResult:
        """Run ``code`` as the next cell; ``time_limit`` (CPU seconds) is this call's own limit."""
        if not isinstance(code, str):
            raise TypeError(f"code must be a string, got {type(code).__name__}")
        cpu = float(time_limit) if time_limit is not None else self.time_limit
        if not cpu > 0:
            raise ValueError(f"time_limit must be positive, got {time_limit!r}")
        data = stdin.encode() if isinstance(stdin, str) else bytes(stdin)
        job = Job(code=code, mode=Mode.SESSION.value, stdin=data,
                  **job_limits(cpu, self.memory_limit, self.output_limit, "python"))
        with self._lock:
            if self._closed:
                raise SessionClosed(f"session {self.id} was ended")
            self.calls += 1
            raw = execute(self._backend, job)
            self.last_used = time.monotonic()
            if isinstance(raw, SandboxFailure):
                self.restarts += 1
                return SessionResult(Verdict.SE, "", "", None, None, None, f"{raw.message}; {STATE_LOST}",
                                     True, 0.0, 0.0, False)
        verdict, message = verdict_of_run(raw, self.memory_limit, cpu)
        outcome = raw.outcome
        restarted = outcome is None
        error_type = error = None
        if outcome is not None and outcome.get("status") == "exception":
            error_type, error = str(outcome.get("type")), str(outcome.get("message", ""))
        if not restarted and raw.killed_for in ("cpu", "wall"):
            message = f"{message}; {INTERRUPTED}"
        if restarted:
            self.restarts += 1
            if verdict is Verdict.AC:  # exit(0): a clean end of the program, and of its state
                message = "the program exited"
            message = f"{message}; {STATE_LOST}"
        value = outcome.get("value") if outcome is not None else None
        return SessionResult(verdict, raw.stdout.decode("utf-8", errors="replace"),
                             raw.stderr.decode("utf-8", errors="replace"),
                             value if isinstance(value, str) else None, error_type, error, message, restarted,
                             round(raw.cpu_s, 6), round(raw.wall_s, 6),
                             raw.stdout_truncated or raw.stderr_truncated)

    def close(self) -> None:
        """End the session: stop its interpreter and remove its sandbox."""
        with self._lock:
            self._closed = True
            self._backend.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Session(id={self.id!r}, calls={self.calls}, restarts={self.restarts})"


class SessionManager:
    """The live sessions of a server: bounded in number, ended when idle too long or on close.

    ``factory`` makes a sandbox of ``backend`` for each new session (a Docker session is one
    container, so it costs a container start). Blocking calls run on :attr:`executor`, which
    has a thread per allowed session.
    """

    def __init__(self, backend: str = "auto", *, max_sessions: int = 32, idle_timeout: float = 600.0,
                 time_limit: float = DEFAULT_TIME_LIMIT, memory_limit: int = DEFAULT_MEMORY_LIMIT,
                 output_limit: int = DEFAULT_OUTPUT_LIMIT,
                 factory: Callable[[str], Backend] = open_sandbox) -> None:
        if max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        if not idle_timeout > 0:
            raise ValueError("idle_timeout must be positive")
        self.backend = backend
        self.max_sessions = max_sessions
        self.idle_timeout = float(idle_timeout)
        self.time_limit = time_limit
        self.memory_limit = memory_limit
        self.output_limit = output_limit
        self.executor = ThreadPoolExecutor(max_workers=max_sessions, thread_name_prefix="session")
        self._factory = factory
        self._sessions: dict[str, Session] = {}
        self._reserved = 0  # sessions being started (counted against the maximum)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None
        self.created_total = 0
        self.expired_total = 0
        self._ended_calls = 0
        self._ended_restarts = 0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread that ends idle sessions."""
        if self._reaper is None:
            self._reaper = threading.Thread(target=self._reap_loop, name="session-reaper", daemon=True)
            self._reaper.start()

    def close(self) -> None:
        """End every session and stop the reaper (the server's shutdown)."""
        self._stop.set()
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        # In parallel: a Docker session's container takes a while to remove.
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="session-close") as closer:
            list(closer.map(self._retire, sessions))
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self._reaper is not None:
            self._reaper.join(timeout=5)

    # -- sessions ---------------------------------------------------------------------------

    def create(self, session_id: str | None = None) -> Session:
        """Start a new session (its sandbox is running when this returns).

        Raises :class:`TooManySessions` when ``max_sessions`` are live, ``SandboxError`` when
        its sandbox cannot start.
        """
        with self._lock:
            if len(self._sessions) + self._reserved >= self.max_sessions:
                raise TooManySessions(f"{self.max_sessions} sessions are live; end one or retry later",
                                      self._retry_after())
            self._reserved += 1
        try:
            session = Session(self._factory(self.backend), time_limit=self.time_limit,
                              memory_limit=self.memory_limit, output_limit=self.output_limit,
                              session_id=session_id)
            try:
                session.start()
            except BaseException:
                session.close()
                raise
            with self._lock:
                self._sessions[session.id] = session
                self.created_total += 1
            return session
        finally:
            with self._lock:
                self._reserved -= 1

    def get(self, session_id: str) -> Session:
        """The live session with this id; :class:`UnknownSession` otherwise."""
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            raise UnknownSession(session_id)
        return session

    def end(self, session_id: str) -> None:
        """End a session; :class:`UnknownSession` when it is not live."""
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is None:
            raise UnknownSession(session_id)
        self._retire(session)

    def reap_idle(self) -> int:
        """End sessions idle for longer than ``idle_timeout``; returns how many."""
        now = time.monotonic()
        with self._lock:
            idle = [s for s in self._sessions.values()
                    if now - s.last_used > self.idle_timeout and not s._lock.locked()]
            for session in idle:
                del self._sessions[session.id]
            self.expired_total += len(idle)
        for session in idle:
            self._retire(session)
        return len(idle)

    # -- counts -----------------------------------------------------------------------------

    @property
    def live(self) -> int:
        """Sessions live now."""
        return len(self._sessions)

    @property
    def calls_total(self) -> int:
        """Calls run in every session so far (live and ended)."""
        with self._lock:
            return self._ended_calls + sum(s.calls for s in self._sessions.values())

    @property
    def restarts_total(self) -> int:
        """Interpreters restarted after a call lost their state, in every session so far."""
        with self._lock:
            return self._ended_restarts + sum(s.restarts for s in self._sessions.values())

    # -- internals --------------------------------------------------------------------------

    def _retire(self, session: Session) -> None:
        session.close()
        with self._lock:
            self._ended_calls += session.calls
            self._ended_restarts += session.restarts

    def _retry_after(self) -> int:
        """Seconds until the least recently used session would expire (at least 1)."""
        if not self._sessions:
            return 1
        oldest = min(s.last_used for s in self._sessions.values())
        return max(1, math.ceil(oldest + self.idle_timeout - time.monotonic()))

    def _reap_loop(self) -> None:
        interval = min(5.0, max(0.05, self.idle_timeout / 4))
        while not self._stop.wait(interval):
            try:
                self.reap_idle()
            except Exception:  # never let the reaper die; the next round tries again
                pass
