"""What one test showed: its input, the expected and the actual answer, stderr and the reason.

The rewards line carries these fields for every test that did not pass, so that a report can
show why without re-running anything. Each field is cut to :data:`FIELD_LIMIT` characters
(stderr keeps its end, where a traceback's last line is; the others keep their start), so a
flood of output never makes a rewards file large.
"""

from __future__ import annotations

from typing import Any

from .cases import AssertTest, CallTest, Case, StdioTest, TestSpec
from .judge import Outcome
from .text import encodable

#: Characters kept of each field of a failing test in the rewards line.
FIELD_LIMIT = 2048

#: The fields, in the order a reader wants them.
FIELDS = ("message", "input", "expected", "got", "stderr")


def trim(text: str, limit: int = FIELD_LIMIT, *, keep_end: bool = False) -> str:
    """``text`` cut to about ``limit`` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    dropped = len(text) - limit
    if keep_end:
        return f"[... {dropped} characters cut]\n" + text[-limit:]
    return text[:limit] + f"\n[... {dropped} characters cut]"


def input_text(case: Case, test: TestSpec) -> str:
    """What the test gave the candidate: stdin, the call, or the assertion code."""
    if isinstance(test, StdioTest):
        return test.input
    if isinstance(test, CallTest):
        call = ", ".join([repr(a) for a in test.args] + [f"{k}={v!r}" for k, v in test.kwargs.items()])
        return f"{case.entry_point or 'f'}({call})"
    if isinstance(test, AssertTest):
        return test.code
    return ""


def evidence(case: Case, test: TestSpec | None, outcome: Outcome, limit: int = FIELD_LIMIT) -> dict[str, str]:
    """The evidence of one test, trimmed, without empty fields (``got`` only when an answer was judged)."""
    fields = {
        "message": outcome.message,
        "input": input_text(case, test) if test is not None else "",
        "expected": outcome.expected,
        "got": outcome.stdout,
        "stderr": outcome.stderr,
    }
    return {name: trim(encodable(value), limit, keep_end=name == "stderr")
            for name, value in fields.items() if value}


def failure_evidence(case: Case, test: TestSpec | None, outcome: Outcome) -> dict[str, Any]:
    """:func:`evidence` for a test that did not pass; nothing for one that passed."""
    return {} if outcome.passed else dict(evidence(case, test, outcome))
