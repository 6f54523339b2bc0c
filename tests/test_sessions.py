"""Tool sessions through the Python API: state persists within a session and never crosses sessions;
TLE, exit and crash restart the interpreter with a clear message; the manager's bounds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import require_backend
from pytest_codeverify import Sandbox
from pytest_codeverify.protocol import Job, RawResult
from pytest_codeverify.sessions import (
    INTERRUPTED,
    STATE_LOST,
    SessionClosed,
    SessionManager,
    TooManySessions,
    UnknownSession,
)


@pytest.fixture(scope="module", params=[pytest.param("local", marks=pytest.mark.sandbox),
                                        pytest.param("docker", marks=pytest.mark.docker)])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(require_backend(request.param), time_limit=1, memory_limit=256) as handle:
        yield handle


def test_globals_imports_and_files_persist_within_a_session(sandbox: Sandbox) -> None:
    with sandbox.session() as session:
        first = session.execute("import math\nx = 41\ndef double(v):\n    return 2 * v\n"
                                "open('/tmp/notes.txt', 'w').write('kept')\n")
        assert first.ok and first.result == "4", first  # what the last call, write(), returned
        second = session.execute("print(open('/tmp/notes.txt').read())\ndouble(x + 1) + math.floor(0.5)")
        assert second.ok, second
        assert (second.stdout, second.result) == ("kept\n", "84")


def test_state_never_crosses_sessions(sandbox: Sandbox) -> None:
    with sandbox.session() as one, sandbox.session() as two:
        assert one.execute("secret = 'one'\nopen('/tmp/secret.txt', 'w').write('one')").ok
        probe = two.execute("import os\nprint(os.path.exists('/tmp/secret.txt'))\nsecret")
        assert probe.stdout == "False\n"
        assert (probe.verdict, probe.error_type) == ("RE", "NameError")
        assert not probe.restarted
        assert one.execute("secret").result == "one"


def test_the_result_is_the_value_of_a_last_bare_expression(sandbox: Sandbox) -> None:
    with sandbox.session() as session:
        assert session.execute("1 + 1").result == "2"
        assert session.execute("[1, 'a']").result == "[1, 'a']"
        assert session.execute("None").result == "None"
        printed = session.execute("print('shown')")
        assert (printed.stdout, printed.result) == ("shown\n", None)
        assert session.execute("y = 3").result is None
        assert session.execute("print(input())", stdin="from stdin\n").stdout == "from stdin\n"


def test_an_exception_or_a_syntax_error_keeps_the_state(sandbox: Sandbox) -> None:
    with sandbox.session() as session:
        session.execute("kept = 7")
        raised = session.execute("raise ValueError('bad \\ud800 value')")
        assert (raised.verdict, raised.error_type, raised.restarted) == ("RE", "ValueError", False)
        assert "bad" in (raised.error or "") and "ValueError" in raised.stderr
        broken = session.execute("def f(:")
        assert (broken.verdict, broken.restarted) == ("CE", False)
        assert session.execute("kept").result == "7"


@pytest.mark.slow
@pytest.mark.parametrize(("code", "verdict", "words"), [
    ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n", "TLE", ""),
    ("import time\nwhile True:\n    try:\n        time.sleep(30)\n    except KeyboardInterrupt:\n        pass\n",
     "TLE", "wall-clock"),
    ("import sys\nsys.exit(3)\n", "RE", "exit code 3"),
    ("raise SystemExit\n", "AC", "the program exited"),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", "RE", "SIGSEGV"),
    ("import os\nos._exit(0)\n", "AC", "the program exited"),
    ("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n", "OLE", "output"),
])
def test_a_cell_that_will_not_stop_an_exit_or_a_crash_restart_the_interpreter(sandbox: Sandbox, code: str,
                                                                             verdict: str, words: str) -> None:
    with sandbox.session() as session:
        assert session.execute("x = 1\nopen('/tmp/f', 'w').write('1')").ok
        ended = session.execute(code)
        assert (ended.verdict, ended.restarted) == (verdict, True), ended
        assert words in ended.message and STATE_LOST in ended.message
        after = session.execute("import os\nprint(os.path.exists('/tmp/f'))\n'x' in globals()")
        assert after.ok, after
        assert (after.stdout, after.result) == ("False\n", "False")
        assert session.restarts == 1


@pytest.mark.slow
@pytest.mark.parametrize("code", [
    "while True:\n    pass\n",
    "import time\ntime.sleep(30)\n",
    "import os\nfor _ in range(3):\n    if os.fork() == 0:\n        while True:\n            pass\n"
    "while True:\n    pass\n",
])
def test_a_call_over_its_time_is_interrupted_and_the_state_kept(sandbox: Sandbox, code: str) -> None:
    with sandbox.session() as session:
        assert session.execute("x = 1\nopen('/tmp/f', 'w').write('1')").ok
        stopped = session.execute(code)
        assert (stopped.verdict, stopped.restarted) == ("TLE", False), stopped
        assert INTERRUPTED in stopped.message and "KeyboardInterrupt" in stopped.stderr
        after = session.execute("import os\nprint(os.path.exists('/tmp/f'))\n"
                                "print(sum(1 for p in os.listdir('/proc') if p.isdigit()))\nx")
        assert (after.verdict, after.result) == ("AC", "1"), after
        # Nothing the interrupted cell started is still running: the runner and the interpreter
        # (and on some kernels nothing else at all) are the only processes.
        exists, processes = after.stdout.split()
        assert exists == "True" and int(processes) <= 2


@pytest.mark.slow
def test_memory_counts_across_calls(sandbox: Sandbox) -> None:
    with sandbox.session(memory_limit=200) as session:
        assert session.execute("a = bytearray(120 << 20)").ok
        more = session.execute("b = bytearray(120 << 20)")
        assert (more.verdict, more.restarted) == ("MLE", True), more


def test_a_closed_session_runs_nothing(sandbox: Sandbox) -> None:
    session = sandbox.session()
    session.close()
    with pytest.raises(SessionClosed):
        session.execute("1")


@pytest.mark.sandbox
def test_the_fixture_offers_sessions(codeverify: Sandbox) -> None:
    require_backend("local")
    with codeverify.session() as session:
        session.execute("def tool(v):\n    return v * 2\n")
        assert session.execute("tool(21)").result == "42"


# -- the manager, with a fake backend: no sandbox -------------------------------------------


class FakeBackend:
    """Stands in for a sandbox: answers every cell with its code as the result."""

    name = "fake"
    started = 0
    closed = 0

    def start(self) -> None:
        FakeBackend.started += 1

    def close(self) -> None:
        FakeBackend.closed += 1

    def run(self, job: Job) -> RawResult:
        return RawResult(0, None, b"", b"", False, False, 0.0, 0.0, None, {"status": "ok", "value": job.code})


def manager(**options: Any) -> SessionManager:
    return SessionManager("local", factory=lambda _: FakeBackend(), **options)  # type: ignore[arg-type,return-value]


def test_the_manager_bounds_live_sessions_and_says_when_to_retry() -> None:
    sessions = manager(max_sessions=2, idle_timeout=60)
    first = sessions.create()
    sessions.create()
    with pytest.raises(TooManySessions) as refused:
        sessions.create()
    assert 1 <= refused.value.retry_after <= 60
    sessions.end(first.id)
    third = sessions.create()
    assert sessions.get(third.id).execute("abc").result == "abc"
    assert (sessions.live, sessions.calls_total, sessions.created_total) == (2, 1, 3)
    sessions.close()
    assert sessions.live == 0


def test_unknown_and_ended_sessions_are_not_found() -> None:
    sessions = manager()
    session = sessions.create()
    sessions.end(session.id)
    for action in (sessions.get, sessions.end):
        with pytest.raises(UnknownSession):
            action(session.id)
        with pytest.raises(UnknownSession):
            action("never-made")
    assert len({sessions.create().id for _ in range(5)}) == 5  # ids are fresh and unguessable


def test_idle_sessions_expire() -> None:
    sessions = manager(idle_timeout=0.2)
    idle = sessions.create()
    busy = sessions.create()
    sessions.start()
    deadline = time.monotonic() + 10
    while idle.id in {s for s in sessions._sessions}:
        busy.execute("keep me")  # used more often than the timeout: stays
        assert time.monotonic() < deadline, "the idle session never expired"
        time.sleep(0.05)
    assert sessions.get(busy.id) is busy and sessions.expired_total == 1 and idle.closed
    sessions.close()


def test_concurrent_creation_never_exceeds_the_maximum() -> None:
    sessions = manager(max_sessions=3)
    made: list[str] = []
    refused: list[int] = []

    def make() -> None:
        try:
            made.append(sessions.create().id)
        except TooManySessions:
            refused.append(1)

    threads = [threading.Thread(target=make) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(made), len(refused), sessions.live) == (3, 7, 3)
    sessions.close()


@pytest.mark.slow
@pytest.mark.parametrize("code", [
    "import os\nos.kill(-1, 9)\n",  # everything it may signal: the runner, as the namespace's init, survives
    "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
    "import os, time\nif os.fork() == 0:\n    time.sleep(60)\n    os._exit(0)\nx = 2\n",  # a child left behind
])
def test_hostile_cells_leave_the_sandbox_usable(sandbox: Sandbox, code: str) -> None:
    with sandbox.session() as session:
        session.execute(code)
        after = session.execute("print('alive')\n6 * 7")
        assert (after.verdict, after.stdout, after.result) == ("AC", "alive\n", "42"), after
