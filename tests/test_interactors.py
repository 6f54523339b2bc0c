"""Interactive problems without a sandbox: the field, the verdict's precedence, the relay's rules."""

from __future__ import annotations

import base64
import queue
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import write_jsonl
from pytest_codeverify.cases import CaseError, StdioTest
from pytest_codeverify.dataset_check import check_file
from pytest_codeverify.formats import Defaults, load_file
from pytest_codeverify.judge.interactors import (
    Interactor,
    interactive_outcome,
    interactor_files,
    parse_interactor,
    python_program,
)
from pytest_codeverify.protocol import Job, RawResult, Verdict, in_message, kill_message
from pytest_codeverify.sandbox.base import SandboxError
from pytest_codeverify.sandbox.relay import Party, interact

GAME = "import sys\nprint(open(sys.argv[1]).read())\n"


def raw(exit_code: int | None = 0, signal: int | None = None, killed_for: str | None = None,
        stderr: bytes = b"", cpu: float = 0.01, **extra: Any) -> RawResult:
    return RawResult(exit_code=exit_code, signal=signal, stdout=b"", stderr=stderr, stdout_truncated=False,
                     stderr_truncated=False, cpu_s=cpu, wall_s=cpu, killed_for=killed_for,
                     outcome=extra.pop("outcome", None), **extra)


# -- the field -------------------------------------------------------------------------------


def test_parse_interactor_forms_and_limits() -> None:
    assert parse_interactor({}) is None
    short = parse_interactor({"interactor": GAME})
    assert short == Interactor(GAME)
    full = parse_interactor({"interactor": {"language": "CPP", "code": "int main(){}", "files": {"t.h": ""}},
                             "interactor_time_limit": 1.5, "interactor_memory_limit": 64})
    assert full == Interactor("int main(){}", "cpp", {"t.h": ""}, 1.5, 64)


@pytest.mark.parametrize(("record", "field"), [
    ({"interactor": 5}, "interactor"),
    ({"interactor": {"code": GAME, "lang": "python"}}, "interactor"),
    ({"interactor": {"code": " "}}, "interactor.code"),
    ({"interactor": {"code": GAME, "language": "cobol"}}, "interactor.language"),
    ({"interactor": {"code": GAME, "files": {"../x": ""}}}, "interactor.files"),
    ({"interactor": {"code": GAME, "files": {"interactor_input.txt": ""}}}, "interactor.files"),
    ({"interactor": GAME, "interactor_time_limit": 0}, "interactor_time_limit"),
    ({"interactor": GAME, "interactor_memory_limit": 1.5}, "interactor_memory_limit"),
])
def test_parse_interactor_names_the_bad_field(record: dict[str, Any], field: str) -> None:
    with pytest.raises(CaseError) as caught:
        parse_interactor(record)
    assert caught.value.field == field


def test_native_records_take_input_only_tests_with_an_interactor(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [
        {"id": "ok", "code": "print(1)", "interactor": GAME, "tests": [{"input": "5"}, {"input": "6", "output": "6"}]},
        {"id": "no-interactor", "code": "print(1)", "tests": [{"input": "5"}]},
        {"id": "both", "code": "print(1)", "interactor": GAME, "checker": "def check(i, o, e): return True",
         "tests": [{"input": "5"}]},
        {"id": "calls", "code": "def f(): pass", "entry_point": "f", "interactor": GAME,
         "tests": [{"args": [], "expected": None}]},
    ])
    records = {record.id if record.error is None else record.line: record for record in load_file(path, "auto",
                                                                                                     Defaults())}
    case = records["ok"].cases[0]
    assert case.interactor == Interactor(GAME)
    assert case.tests == (StdioTest("5", ""), StdioTest("6", "6"))
    assert [(records[n].error.field if records[n].error else None) for n in (2, 4)] == ["tests[0]", "interactor"]
    both = records["both"].cases[0]  # the interactor talks, then the checker judges its OUTPUT file
    assert both.interactor is not None and both.checker is not None


def test_dataset_check_knows_interactive_records(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [
        {"id": "ok", "code": "print(1)", "interactor": GAME, "tests": [{"input": "5"}]},
        {"id": "bad", "code": "print(1)", "interactor": {"code": GAME, "language": "cobol"}, "tests": [{"input": "5"}]},
        {"id": "lost", "code": "print(1)", "tests": [{"input": "5"}]},
    ])
    problems = check_file(path).problems
    assert [(p.line, p.field) for p in problems] == [(2, "interactor.language"), (3, "tests[0]")]
    assert "interactor" in problems[1].hint


# -- the interactor's job --------------------------------------------------------------------


def test_interactor_files_follow_testlib() -> None:
    interactor = Interactor(GAME, files={"h.py": "x = 1"})
    assert interactor_files(interactor, "in", None) == (
        {"h.py": "x = 1", "interactor_input.txt": "in"}, ["interactor_input.txt", "interactor_output.txt"])
    assert interactor_files(interactor, "in", "ans")[1][2:] == ["interactor_answer.txt"]


def test_python_interactor_program_sets_up_files_and_turns_exceptions_into_fail(tmp_path: Path) -> None:
    """The wrapper of a Python interactor (trusted test code, so run here as a plain process)."""
    code = "import sys, helper\nprint(open(sys.argv[1]).read(), helper.X, sys.argv[1:])\n"
    interactor = Interactor(code, files={"helper.py": "X = 7\n"})
    files, args = interactor_files(interactor, "N=3", "42")
    ran = subprocess.run([sys.executable, "-c", python_program(interactor, files, args)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert (ran.returncode, ran.stdout) == (0, "N=3 7 ['interactor_input.txt', 'interactor_output.txt', "
                                               "'interactor_answer.txt']\n")
    assert (tmp_path / "interactor_answer.txt").read_text() == "42"
    failing = python_program(Interactor("1 / 0\n"), {}, [])
    ran = subprocess.run([sys.executable, "-c", failing], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 3 and "ZeroDivisionError" in ran.stderr
    exiting = python_program(Interactor("import sys\nsys.exit(1)\n"), {}, [])
    assert subprocess.run([sys.executable, "-c", exiting], cwd=tmp_path, timeout=60).returncode == 1


# -- the verdict -----------------------------------------------------------------------------


def judge(candidate: RawResult | None, interactor: RawResult | None, candidate_error: str | None = None,
          interactor_error: str | None = None) -> tuple[Verdict, float | None]:
    outcome = interactive_outcome(candidate=candidate, candidate_error=candidate_error, interactor_raw=interactor,
                                  interactor_error=interactor_error, interactor=Interactor(GAME, time_limit=1.0),
                                  time_limit=1.0, memory_limit=64, language="python")
    return outcome.verdict, outcome.score


@pytest.mark.parametrize(("candidate", "interactor", "expected"), [
    (raw(0), raw(0), (Verdict.AC, None)),
    (raw(0), raw(1, stderr=b"wrong"), (Verdict.WA, 0.0)),
    (raw(0), raw(2), (Verdict.WA, 0.0)),
    (raw(0), raw(8), (Verdict.WA, 0.0)),
    (raw(0), raw(7, stderr=b"0.25"), (Verdict.WA, 0.25)),
    # the candidate's own failures come first, whatever the interactor then said
    (raw(None, killed_for="wall"), raw(1), (Verdict.TLE, None)),
    (raw(None, killed_for="cpu"), raw(3), (Verdict.TLE, None)),
    (raw(1, outcome={"status": "exception", "type": "EOFError", "message": ""}), raw(1), (Verdict.RE, None)),
    (raw(None, signal=9, oom_killed=True), raw(1), (Verdict.MLE, None)),
    (raw(None, killed_for="output"), raw(0), (Verdict.OLE, None)),
    # stopped by the harness because the interactor had decided: the interactor's verdict
    (raw(None, signal=9, killed_for="stopped"), raw(1), (Verdict.WA, 0.0)),
    # then the interactor's failures: SE
    (raw(0), raw(3), (Verdict.SE, None)),
    (raw(0), raw(42), (Verdict.SE, None)),
    (raw(0), raw(None, signal=11), (Verdict.SE, None)),
    (raw(0), raw(None, killed_for="cpu"), (Verdict.SE, None)),
    (raw(0), raw(None, killed_for="wall"), (Verdict.SE, None)),
    (raw(0), raw(None, signal=9, oom_killed=True), (Verdict.SE, None)),
    (raw(0), raw(1, outcome={"status": "exception", "type": "KeyError", "message": "x"}), (Verdict.SE, None)),
    (raw(0), raw(7, stderr=b"no score"), (Verdict.SE, None)),
    (raw(None, signal=9, killed_for="stopped"), raw(None, signal=11), (Verdict.SE, None)),
])
def test_interactive_verdict_precedence(candidate: RawResult, interactor: RawResult,
                                        expected: tuple[Verdict, float | None]) -> None:
    assert judge(candidate, interactor) == expected


def test_a_deadlocked_candidate_is_tle() -> None:
    outcome = interactive_outcome(candidate=raw(None, signal=9, killed_for="stopped"), candidate_error=None,
                                  interactor_raw=raw(None, signal=9, killed_for="stopped"), interactor_error=None,
                                  interactor=Interactor(GAME), time_limit=1.0, memory_limit=64, language="python",
                                  deadlock=True)
    assert outcome.verdict is Verdict.TLE and "flush" in outcome.message


def test_sandbox_failures_are_se() -> None:
    assert judge(None, raw(0), candidate_error="gone")[0] is Verdict.SE
    assert judge(raw(0), None, interactor_error="gone")[0] is Verdict.SE
    # ... but a candidate's own failure still comes first
    assert judge(raw(None, killed_for="cpu"), None, interactor_error="gone")[0] is Verdict.TLE


# -- the relay -------------------------------------------------------------------------------


class ScriptedRunner:
    """A stand-in for a sandbox's runner in an interactive job: it answers each frame the relay
    sends with ``respond`` and records them."""

    name = "scripted"

    def __init__(self, frames: list[dict[str, Any]], respond: Any = None) -> None:
        self.frames: queue.Queue[dict[str, Any]] = queue.Queue()
        for frame in frames:
            self.frames.put(frame)
        self.sent: list[dict[str, Any]] = []
        self.respond = respond
        self.abandoned = 0

    def open_job(self, job: Job, fields: dict[str, Any] | None = None) -> int:
        return 1

    def send_message(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        for frame in (self.respond(message) if self.respond else ()):
            self.frames.put(frame)

    def next_message(self, deadline: float) -> dict[str, Any]:
        try:
            return self.frames.get(timeout=20)
        except queue.Empty:
            raise SandboxError("the runner did not answer in time") from None

    def job_result(self, job: Job, job_id: int, message: dict[str, Any]) -> RawResult:
        return RawResult.from_message(message)

    def abandon(self, start: bool = True) -> None:
        self.abandoned += 1


def out(data: bytes = b"", eof: bool = False) -> dict[str, Any]:
    if eof:
        return {"type": "out", "id": 1, "eof": True}
    return {"type": "out", "id": 1, "data": base64.b64encode(data).decode()}


def result(exit_code: int | None, killed_for: str | None = None, signal: int | None = None) -> dict[str, Any]:
    return {"type": "result", "id": 1, "exit_code": exit_code, "signal": signal, "stdout": "", "stderr": "",
            "stdout_truncated": False, "stderr_truncated": False, "cpu_s": 0.0, "wall_s": 0.0,
            "killed_for": killed_for}


def candidate_until_told(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A candidate that waits for its input to end (then exits 0) or to be stopped."""
    if message["type"] == "kill":
        return [out(eof=True), result(None, "stopped", 9)]
    if message.get("eof"):
        return [out(eof=True), result(0)]
    return []


def test_relay_passes_bytes_both_ways_and_the_end_after_an_accepting_interactor() -> None:
    candidate = ScriptedRunner([out(b"? 5\n")], candidate_until_told)
    interactor = ScriptedRunner([out(b"10\n")], lambda m: [out(eof=True), result(0)] if m.get("eof") else [])
    first, second = Party(candidate, Job("c"), {}), Party(interactor, Job("i"), {})  # type: ignore[arg-type]
    candidate.frames.put(out(eof=True))  # the candidate ends its output: the interactor's input ends
    interact(first, second)
    assert interactor.sent == [in_message(1, b"? 5\n"), in_message(1, eof=True)]
    assert candidate.sent == [in_message(1, b"10\n"), in_message(1, eof=True)]
    assert (first.result.exit_code, second.result.exit_code, bytes(first.said)) == (0, 0, b"? 5\n")


def test_relay_stops_the_candidate_when_the_interactor_rejects() -> None:
    """The interactor's end never reaches the candidate before its verdict: after a WA the
    candidate is stopped, so an end of input it would crash on never happens."""
    candidate = ScriptedRunner([], candidate_until_told)
    interactor = ScriptedRunner([out(b"10\n"), out(eof=True), result(1)])
    first, second = Party(candidate, Job("c"), {}), Party(interactor, Job("i"), {})  # type: ignore[arg-type]
    interact(first, second)
    assert candidate.sent == [in_message(1, b"10\n"), kill_message(1)]
    assert first.result.killed_for == "stopped" and second.result.exit_code == 1


def test_relay_reports_a_runner_that_fails_and_stops_the_other() -> None:
    candidate = ScriptedRunner([{"type": "bogus", "id": 1}])
    interactor = ScriptedRunner([], lambda m: [result(None, "stopped", 9)] if m["type"] == "kill" else [])
    first, second = Party(candidate, Job("c"), {}), Party(interactor, Job("i"), {})  # type: ignore[arg-type]
    interact(first, second)
    assert isinstance(first.error, SandboxError) and "unexpected" in str(first.error)
    assert interactor.sent[-1] == kill_message(1) and candidate.abandoned == 1


def test_stream_frames_travel_and_a_stopped_job_is_a_result() -> None:
    from pytest_codeverify.protocol import STREAM_FRAMES, FrameReader, encode_frame, out_message

    reader = FrameReader()
    reader.feed(encode_frame(in_message(3, b"\x00\xff? 1\n")) + encode_frame(out_message(3, eof=True)))
    first, second = reader.next_frame(), reader.next_frame()
    assert first is not None and base64.b64decode(first["data"]) == b"\x00\xff? 1\n"
    assert second == {"type": "out", "id": 3, "eof": True}
    assert {in_message(1)["type"], kill_message(1)["type"]} == STREAM_FRAMES
    assert RawResult.from_message(result(None, "stopped", 9)).killed_for == "stopped"


def idle(received: int) -> dict[str, Any]:
    return {"type": "idle", "id": 1, "received": received}


def stopped_when_killed(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [out(eof=True), result(None, "stopped", 9)] if message["type"] == "kill" else []


def test_relay_ends_a_dialogue_in_which_both_sides_wait() -> None:
    """Each side says it waits for input and has received all that was sent to it: neither will
    write again, so both are stopped and the candidate's verdict is a TLE."""
    candidate = ScriptedRunner([idle(3)], stopped_when_killed)
    interactor = ScriptedRunner([out(b"10\n"), idle(0)], stopped_when_killed)
    first, second = Party(candidate, Job("c"), {}), Party(interactor, Job("i"), {})  # type: ignore[arg-type]
    interact(first, second)
    assert first.deadlock and kill_message(1) in candidate.sent and kill_message(1) in interactor.sent


def test_relay_does_not_call_a_side_with_input_in_flight_idle() -> None:
    """The interactor said it waits having received 0 bytes, but 4 were relayed to it since: it
    has input, so there is no deadlock; the scripted interactor then answers and ends."""
    candidate = ScriptedRunner([out(b"? 5\n"), idle(3)], candidate_until_told)
    interactor = ScriptedRunner([idle(0)])
    first, second = Party(candidate, Job("c"), {}), Party(interactor, Job("i"), {})  # type: ignore[arg-type]
    timer = __import__("threading").Timer(1.0, lambda: [interactor.frames.put(f) for f in (out(eof=True), result(0))])
    timer.start()
    interact(first, second)
    timer.join()
    assert not first.deadlock and first.result is not None and first.result.exit_code == 0


def test_no_interactive_test_is_started_ahead() -> None:
    """A test's job may be sent ahead while the previous one is judged; an interactive test's
    never is: its input is the interactor's, and must never be the candidate's stdin."""
    from pytest_codeverify.cases import Case
    from pytest_codeverify.engine import follow_job

    test = StdioTest("1000 500 20", "")
    plain = Case(id="plain", problem_id="plain", tests=(test,), code="print(1)")
    interactive = Case(id="i", problem_id="i", tests=(test,), code="print(1)", interactor=Interactor(GAME))
    assert follow_job(plain, test) is not None
    assert follow_job(interactive, test) is None
