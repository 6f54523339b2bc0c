"""The sandbox backend interface: jobs in, raw results out.

A backend owns one warm job runner (see :mod:`.runner`) behind an isolation boundary and sends
it one :class:`Job` at a time. It never judges: a :class:`RawResult` says only what the program
did. Every failure of the machinery itself raises :class:`SandboxError`, so that callers can
tell a broken sandbox (verdict ``SE``) from a wrong program.
"""

from __future__ import annotations

import abc
import time
from typing import TYPE_CHECKING, Any

from ..config import wall_cap
from ..protocol import FrameReader, Job, ProtocolError, RawResult, check_hello, encode_frame
from .bundle import runner_bootstrap

if TYPE_CHECKING:
    from ..languages import ProgramInputs

#: Seconds the harness waits for a result beyond the job's own wall limit.
RESULT_GRACE_S = 5.0


def runner_source() -> str:
    """The program text that starts a runner inside a sandbox (``python3 -I -S -c``)."""
    return runner_bootstrap()


class SandboxError(RuntimeError):
    """The sandbox failed (not the candidate): the affected test gets verdict ``SE``."""


class IsolationUnavailable(SandboxError):
    """No isolating sandbox can run here; candidate code is refused. The message says what is
    missing and how to fix it."""


class Sandbox(abc.ABC):
    """A warm, isolated job runner. Use as a context manager or call :meth:`close`.

    Subclasses provide the transport (:meth:`_start`, :meth:`_send`, :meth:`_recv`,
    :meth:`_stop`) and per-job limit plumbing (:meth:`_before_job`, :meth:`_after_job`);
    this class runs the protocol, restarts a runner that died, and turns every transport
    failure into :class:`SandboxError`.
    """

    #: Short backend name: ``local``, ``docker`` or ``unisolated``.
    name: str = "?"
    #: Whether candidate code runs behind an isolation boundary (False only for the explicit
    #: ``unisolated`` opt-in): for the rewards file, the run's header and the server's health.
    isolated: bool = True

    def __init__(self) -> None:
        self._reader = FrameReader()
        self._started = False
        self._next_id = 0
        self.restarts = 0
        self.hello: dict[str, Any] = {}
        #: Compile jobs sent, and what this runner holds: artefact key -> None (compiled) or
        #: the compile error (see :mod:`.compiled`). Emptied whenever a runner starts.
        self.compilations = 0
        self.artefacts: dict[str, str | None] = {}
        #: The runner's last result frame as received (fields beyond :class:`RawResult`'s).
        self.last_message: dict[str, Any] = {}
        #: The job in the runner, if any: (id, job, deadline of its result).
        self._ahead: tuple[int, Job, float] | None = None
        self._partner: Sandbox | None = None

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """One line for the run's header: the backend and the isolation in force."""

    def run(self, job: Job, follow: Job | None = None, inputs: ProgramInputs | None = None) -> RawResult:
        """Run one job. Raises :class:`SandboxError` when the sandbox itself failed.

        ``follow``: a job likely to be asked for next (the next test). It is sent the moment
        this job's result has arrived, so the runner executes it while the caller judges this
        result; a later :meth:`run` of an equal job takes its result instead of running it
        again. Only one job is ever in the runner at a time, so limits and measurements stay
        per job. ``inputs`` (files, arguments, extra sources) apply to a program of a language
        other than Python, such as a checker program.
        """
        self.ensure_started()
        if job.language != "python":
            from .compiled import run_program  # compile once, then run (languages other than Python)

            return run_program(self, job, inputs)
        if inputs is not None:
            raise SandboxError("files and arguments are for programs of languages other than Python")
        result = self._take(job)
        if result is None:
            result = self.exchange(job)
        if follow is not None and follow.language == "python":
            try:
                self._submit(follow)
            except SandboxError:
                pass  # the sandbox restarted; the follow-up runs again when asked for
        return result

    def exchange(self, job: Job, fields: dict[str, Any] | None = None) -> RawResult:
        """Send one job frame (with extra ``fields``) to the started runner; its raw result."""
        self._settle()
        self._submit(job, fields)
        result = self._receive()
        assert result is not None
        return result

    def _take(self, job: Job) -> RawResult | None:
        """The result of ``job`` if it was sent ahead as a follow-up (waiting for it if needed);
        ``None`` (after settling whatever else was ahead) when it was not."""
        if self._ahead is not None and self._ahead[1] == job:
            return self._receive()
        self._settle()
        return None

    def _settle(self) -> None:
        """Wait for a job sent ahead that nobody asked for, and drop its result."""
        if self._ahead is not None:
            try:
                self._receive()
            except SandboxError:
                pass  # that job's failure is nobody's verdict; the sandbox restarted already

    def _submit(self, job: Job, fields: dict[str, Any] | None = None) -> None:
        """Send ``job``; it is then the one job in the runner (see :meth:`_receive`)."""
        self._next_id += 1
        job_id = self._next_id
        try:
            extra = {**self._before_job(job), **(fields or {})}
            self._send(job.to_frames(job_id, extra))
        except SandboxError:
            self._restart()
            raise
        except BaseException:
            self._restart(start=False)
            raise
        # A job starved of CPU may run past its wall limit, up to wall_cap (see the runner).
        self._ahead = (job_id, job, time.monotonic() + wall_cap(job.cpu_limit, job.wall_limit) + RESULT_GRACE_S)

    def _receive(self) -> RawResult | None:
        """The raw result of the job in the runner (``None`` when there is none)."""
        if self._ahead is None:
            return None
        job_id, job, deadline = self._ahead
        try:
            message = self._wait_frame(deadline)
            self._ahead = None
            return self.job_result(job, job_id, message)
        except SandboxError:
            # The kernel may kill the runner too when a job fills the memory limit: its victim
            # still holds the memory while it dies, and the runner is the next process in line.
            # The job ran out of memory all the same; the runner is started again either way.
            lost_to_memory = self._memory_killed_runner(job)
            self._restart()
            if lost_to_memory:
                return RawResult(exit_code=None, signal=9, stdout=b"", stderr=b"", stdout_truncated=False,
                                 stderr_truncated=False, cpu_s=0.0, wall_s=0.0, killed_for=None, outcome=None,
                                 oom_killed=True)
            raise
        except BaseException:
            # Interrupted mid-job (a pytest-timeout signal, Ctrl-C): the runner's state is unknown.
            self._restart(start=False)
            raise

    # -- interactive jobs (see :mod:`.relay`) ---------------------------------------------

    def ensure_started(self) -> None:
        """Start the runner unless it runs (what :meth:`run` does first)."""
        if not self._started:
            self.start()

    def open_job(self, job: Job, fields: dict[str, Any] | None = None) -> int:
        """Send ``job`` as an interactive job and return its id without waiting: its stdin comes
        from ``in`` frames (:meth:`send_message`), its stdout arrives in ``out`` frames
        (:meth:`next_message`) before its result (:meth:`job_result`)."""
        self.ensure_started()
        self._settle()  # a test's job sent ahead that nobody asked for: done before this one
        self._next_id += 1
        try:
            extra = {**self._before_job(job), **(fields or {}), "interactive": True}
            self._send(job.to_frames(self._next_id, extra))
        except SandboxError:
            self._restart()
            raise
        return self._next_id

    def send_message(self, message: dict[str, Any]) -> None:
        """Send one frame to the runner (an interactive job's ``in`` or ``kill``)."""
        self._send(encode_frame(message))

    def next_message(self, deadline: float) -> dict[str, Any]:
        """The runner's next frame; :class:`SandboxError` when none comes by ``deadline``."""
        return self._wait_frame(deadline)

    def job_result(self, job: Job, job_id: int, message: dict[str, Any]) -> RawResult:
        """The raw result of job ``job_id`` from its result frame (:class:`SandboxError` when the
        frame answers another job or reports the runner's own failure)."""
        if message.get("id") != job_id:
            raise SandboxError(f"runner answered job {message.get('id')} instead of {job_id}")
        if message.get("error"):
            raise SandboxError(str(message["error"]))
        self.last_message = message
        try:
            return RawResult.from_message(message, oom_killed=self._after_job(job))
        except ProtocolError as exc:
            raise SandboxError(str(exc)) from exc

    def abandon(self, start: bool = True) -> None:
        """Forget the runner after a failed or interrupted interactive job (its state is
        unknown): stop it, and start a new one unless ``start`` is false."""
        self._restart(start=start)

    def sibling(self) -> Sandbox:
        """A new, not yet started sandbox of the same backend and settings (for a problem's
        interactor, which never shares a sandbox with the candidate)."""
        raise SandboxError(f"the {self.name} backend cannot start a second sandbox for an interactor")

    def partner(self) -> Sandbox:
        """This sandbox's companion for interactors, made by :meth:`sibling` on first use and
        closed with this one."""
        if self._partner is None:
            self._partner = self.sibling()
        return self._partner

    def start(self) -> None:
        """Start the runner and wait for its greeting (done lazily by :meth:`run`)."""
        self._reader = FrameReader()
        self.artefacts.clear()
        self._start()
        self._started = True
        try:
            hello = self._wait_frame(time.monotonic() + self.start_timeout)
        except SandboxError:
            self._stop()
            self._started = False
            raise
        try:
            check_hello(hello)
        except ProtocolError as exc:
            self._stop()
            self._started = False
            raise SandboxError(str(exc)) from exc
        self.hello = hello

    #: Seconds to wait for a starting runner's greeting.
    start_timeout: float = 30.0

    def close(self) -> None:
        """Stop the runner and release everything the sandbox holds."""
        self._shut()
        partner, self._partner = self._partner, None
        if partner is not None:
            partner.close()

    def _shut(self) -> None:
        self._ahead = None
        if self._started:
            self._started = False
            self._stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _restart(self, start: bool = True) -> None:
        self.restarts += 1
        self._shut()  # a restart keeps the partner sandbox: it is not the one that failed
        if start:
            try:
                self.start()
            except SandboxError:
                pass  # the next run() tries again and reports its own failure

    def _wait_frame(self, deadline: float) -> dict[str, Any]:
        while True:
            try:
                frame = self._reader.next_frame()
            except ProtocolError as exc:
                raise SandboxError(f"runner sent a bad frame: {exc}") from exc
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

    def _memory_killed_runner(self, job: Job) -> bool:
        """Whether the memory limit killed something while ``job`` ran, when the runner answered
        nothing (it died with the job's processes)."""
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
