"""Two interactive jobs in two sandboxes, joined only by the bytes relayed between them.

The trusted side of interactive problems: the candidate runs in its usual sandbox, the problem's
interactor in a second one (:meth:`~.base.Sandbox.partner`), each an interactive job (see
:mod:`pytest_codeverify.protocol`) under its own limits. What the candidate writes to stdout
becomes the interactor's stdin and the other way round; nothing else crosses, so the candidate
never sees the interactor's program, the test's input or its answer.

Each side has a reader thread (frames from its runner) and a writer thread (frames to it), so
neither runner ever waits on the other: a reader only reads, and a writer only writes to a
runner that keeps reading while its job runs.

Ends of streams travel too, with one rule that keeps verdicts honest: the end of the
interactor's output reaches the candidate only once the interactor has ended with exit code 0.
An interactor that ends any other way (a wrong answer found early, or its own failure) stops
the candidate's job instead, so a candidate left waiting, or crashing on an unexpected end of
input, is never charged with what the interactor decided first.
"""

from __future__ import annotations

import base64
import binascii
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ..config import wall_cap
from ..protocol import Job, RawResult, in_message, kill_message
from .base import RESULT_GRACE_S, Sandbox, SandboxError


@dataclass
class Party:
    """One side of an interaction: its sandbox, its job (and extra job-frame fields), and how
    its job ended: a raw result, or the sandbox's failure."""

    sandbox: Sandbox
    job: Job
    fields: dict[str, Any] = field(default_factory=dict)
    job_id: int = 0
    result: RawResult | None = None
    error: SandboxError | None = None
    #: Bytes the candidate sent (its side of the transcript), capped; for the evidence.
    said: bytearray = field(default_factory=bytearray)
    done: bool = False
    #: Bytes relayed to this side's stdin so far, and, while its runner says it waits for input,
    #: how many it had received by then and since when (see :func:`deadlocked`).
    sent: int = 0
    idle_received: int | None = None
    idle_since: float = 0.0
    #: Set when the harness stopped both sides because each waited for the other.
    deadlock: bool = False
    #: The job's result frame as received (fields beyond :class:`RawResult`'s, ``collected``).
    message: dict[str, Any] = field(default_factory=dict)
    outbox: queue.SimpleQueue[dict[str, Any] | None] = field(default_factory=queue.SimpleQueue)

    @property
    def failed(self) -> bool:
        return self.error is not None


#: Bytes of each side's output kept for the evidence of a failing test.
TRANSCRIPT_KEEP = 16 << 10
#: Seconds both sides must have been waiting for input, with nothing in flight, before the
#: dialogue is declared dead (a runner says ``busy`` within its check interval, far less).
DEADLOCK_GRACE_S = 0.3


def starving(party: Party) -> bool:
    """Whether ``party`` waits for input and has received everything relayed to it."""
    return party.idle_received is not None and party.idle_received == party.sent and not party.done


def deadlocked(candidate: Party, interactor: Party, now: float) -> bool:
    """Whether each side has waited for the other, with no byte in flight, for a while: neither
    will ever write again (a program that did not flush, or waits for input never coming)."""
    return starving(candidate) and starving(interactor) and \
        now - max(candidate.idle_since, interactor.idle_since) >= DEADLOCK_GRACE_S


def ended_cleanly(raw: RawResult) -> bool:
    """Whether a job ended by itself with exit code 0 (an interactor's accepted)."""
    return raw.exit_code == 0 and raw.signal is None and raw.killed_for is None and not raw.oom_killed


def interact(candidate: Party, interactor: Party) -> None:
    """Run both jobs to their ends, relaying between them; fills each party's result or error.

    Never raises for a failure of either sandbox (that is the party's ``error``); a sandbox
    whose job failed is restarted.
    """
    try:
        interactor.job_id = interactor.sandbox.open_job(interactor.job, interactor.fields)
    except SandboxError as exc:
        interactor.error = exc
        return
    try:
        candidate.job_id = candidate.sandbox.open_job(candidate.job, candidate.fields)
    except SandboxError as exc:  # open_job restarted that runner already
        candidate.error = exc
        _post(interactor, kill_message(interactor.job_id))
        candidate.done = True
    opened = [party for party in (candidate, interactor) if party.error is None]
    threads = [threading.Thread(target=_writer, args=(party,), daemon=True) for party in (candidate, interactor)]
    readers = [threading.Thread(target=_reader, args=(interactor, candidate, True), daemon=True)]
    if not candidate.done:
        readers.append(threading.Thread(target=_reader, args=(candidate, interactor, False), daemon=True))
    for thread in [*threads, *readers]:
        thread.start()
    try:
        while any(thread.is_alive() for thread in readers):
            readers[-1 if readers[-1].is_alive() else 0].join(0.05)
            if not candidate.deadlock and deadlocked(candidate, interactor, time.monotonic()):
                candidate.deadlock = True  # the candidate's TLE: it waits for input never coming
                _post(candidate, kill_message(candidate.job_id))
                _post(interactor, kill_message(interactor.job_id))
    except BaseException:  # interrupted: neither runner's state is known any more
        for party in (candidate, interactor):
            party.outbox.put(None)
            party.sandbox.abandon(start=False)
        raise
    for party in (candidate, interactor):
        party.outbox.put(None)
    for thread in threads:
        thread.join()
    for party in opened:
        if party.error is not None:
            party.sandbox.abandon()


def _post(party: Party, message: dict[str, Any]) -> None:
    if not party.done:
        party.outbox.put(message)


def _writer(party: Party) -> None:
    while True:
        message = party.outbox.get()
        if message is None:
            return
        if party.error is not None:
            continue
        try:
            party.sandbox.send_message(message)
        except SandboxError as exc:
            party.error = party.error or exc


def _reader(party: Party, other: Party, is_interactor: bool) -> None:
    job = party.job
    deadline = time.monotonic() + wall_cap(job.cpu_limit, job.wall_limit) + RESULT_GRACE_S
    try:
        while True:
            message = party.sandbox.next_message(deadline)
            kind = message.get("type")
            if kind == "out":
                if message.get("id") != party.job_id:
                    continue
                if message.get("eof"):
                    if not is_interactor:  # the interactor's end waits for its verdict (see above)
                        _post(other, in_message(other.job_id, eof=True))
                    continue
                data = _decode(message)
                party.idle_received = None
                if len(party.said) < TRANSCRIPT_KEEP:
                    party.said += data[:TRANSCRIPT_KEEP - len(party.said)]
                other.sent += len(data)
                _post(other, in_message(other.job_id, data))
            elif kind == "idle" and message.get("id") == party.job_id:
                party.idle_since = time.monotonic()
                received = message.get("received")
                party.idle_received = received if type(received) is int else None
            elif kind == "busy" and message.get("id") == party.job_id:
                party.idle_received = None
            elif kind == "result":
                party.result = party.sandbox.job_result(job, party.job_id, message)
                party.message = message
                break
            else:
                raise SandboxError(f"runner sent an unexpected {str(kind)[:40]!r} frame during an interactive job")
    except SandboxError as exc:
        party.error = exc
    party.done = True
    if is_interactor:
        if party.result is not None and ended_cleanly(party.result):
            _post(other, in_message(other.job_id, eof=True))
        else:
            _post(other, kill_message(other.job_id))
    elif party.error is not None:
        _post(other, kill_message(other.job_id))
    else:
        _post(other, in_message(other.job_id, eof=True))


def _decode(message: dict[str, Any]) -> bytes:
    try:
        return base64.b64decode(message.get("data") or "", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SandboxError(f"runner sent a malformed out frame: {exc}") from exc


__all__ = ["TRANSCRIPT_KEEP", "Party", "ended_cleanly", "interact"]
