"""The verdict matrix, written once: programs and the verdict each must get.

The engine (with an expected output), the Python API and the server's ``/execute`` (without
one) run the same rows, on every backend, so a verdict means the same wherever it is produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Row:
    """A program, the verdict against the expected output ``"3\\n"``, the verdict of a run with
    no expected output, and words its message must contain."""

    name: str
    code: str
    judged: str
    unjudged: str
    message: str = ""
    limits: dict[str, Any] = field(default_factory=lambda: {"time_limit": 1, "memory_limit": 128})


EXPECTED_OUTPUT = "3\n"

MATRIX = [
    Row("right", "print(3)", "AC", "AC"),
    Row("wrong", "print(4)", "WA", "AC"),
    Row("busy loop", "while True:\n    pass", "TLE", "TLE", "limit"),
    Row("sleeper", "import time\ntime.sleep(30)", "TLE", "TLE", "wall-clock limit"),
    Row("memory hog", "blocks = []\nwhile True:\n    blocks.append(bytearray(16 << 20))", "MLE", "MLE", "memory"),
    Row("exception", "raise KeyError('k')", "RE", "RE", "KeyError"),
    Row("exit code", "import sys\nsys.exit(3)", "RE", "RE", "exit code 3"),
    Row("segfault", "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", "RE", "RE", "SIGSEGV"),
    Row("syntax error", "print(3", "CE", "CE", "SyntaxError"),
    Row("stdout flood", "while True:\n    print('spam' * 100)", "OLE", "OLE", "output"),
    Row("stderr flood", "import sys\nwhile True:\n    sys.stderr.write('noise' * 100)", "OLE", "OLE", "output"),
]
