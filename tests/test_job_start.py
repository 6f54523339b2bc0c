"""What every job's process starts with, now made once in the runner and inherited by forking:
the same standard streams, environment and signal dispositions as a normal interpreter's."""

from __future__ import annotations

import json

from pytest_codeverify.protocol import Job
from pytest_codeverify.sandbox import open_sandbox

PROBE = r"""
import json, os, signal, sys
KINDS = {signal.SIG_DFL: "default", signal.SIG_IGN: "ignored"}
try:
    sys.stdout.tell()
    tell = "ok"
except Exception as exc:
    tell = type(exc).__name__
print(json.dumps({
    "stdin": sys.stdin.read(), "stdin_seekable": sys.stdin.seekable(),
    "stdout_seekable": sys.stdout.seekable(), "stderr_seekable": sys.stderr.seekable(), "tell": tell,
    "same": sys.stdin is sys.__stdin__ and sys.stdout is sys.__stdout__ and sys.stderr is sys.__stderr__,
    "line_buffered": [sys.stdout.line_buffering, sys.stderr.line_buffering],
    "errors": [sys.stdin.errors, sys.stdout.errors, sys.stderr.errors],
    "env": sorted(os.environ),
    "home_is_cwd": os.environ["HOME"] == os.getcwd() == os.environ["TMPDIR"],
    "signals": {name: KINDS.get(signal.getsignal(getattr(signal, name)), "handled")
                for name in ("SIGTERM", "SIGHUP", "SIGCHLD", "SIGXFSZ", "SIGUSR1", "SIGPIPE")},
    "sigint": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
}))
"""


def test_a_job_starts_like_a_normal_interpreter(backend: str) -> None:
    with open_sandbox(backend) as box:
        seen = [json.loads(box.run(Job(code=PROBE, stdin=f"in {n}".encode())).stdout) for n in range(3)]
    for n, found in enumerate(seen):  # every job gets fresh streams, not the previous job's
        assert found["stdin"] == f"in {n}"
    found = seen[-1]
    assert (found["stdin_seekable"], found["stdout_seekable"], found["stderr_seekable"]) == (True, False, False)
    assert found["tell"] == "UnsupportedOperation" and found["same"]
    assert found["line_buffered"] == [False, True]
    assert found["errors"] == ["surrogateescape", "surrogateescape", "backslashreplace"]
    assert found["env"] == ["HOME", "LANG", "PATH", "PYTHONIOENCODING", "TMPDIR"] and found["home_is_cwd"]
    assert found["signals"] == {"SIGTERM": "default", "SIGHUP": "default", "SIGCHLD": "default",
                                "SIGXFSZ": "default", "SIGUSR1": "default", "SIGPIPE": "ignored"}
    assert found["sigint"]


THREADS = r"""
import sys, threading, time
sys.setrecursionlimit(10 ** 6)
threading.stack_size(1 << 26)  # the usual way competitive programs get deep recursion

def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)

def late():
    time.sleep(0.2)
    print("late", depth(100000))

threading.Thread(target=late).start()
print("early", threading.current_thread() is threading.main_thread())
"""


def test_a_programs_threads_finish_before_its_process_ends(backend: str) -> None:
    # The runner itself never imports threading; a program that does gets its non-daemon threads
    # joined at exit, as a normal interpreter joins them, and its own main thread.
    with open_sandbox(backend) as box:
        for _ in range(2):
            result = box.run(Job(code=THREADS))
            assert result.stdout == b"early True\nlate 100000\n", result
            assert result.exit_code == 0
