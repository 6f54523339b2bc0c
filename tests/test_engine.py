"""The engine on the local sandbox: every verdict, every stdin idiom, call and assertion tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pytest_codeverify.engine import CaseReport, verify_case
from pytest_codeverify.formats import Defaults
from pytest_codeverify.formats.native import NativeReader
from pytest_codeverify.judge import Verdict
from pytest_codeverify.sandbox import LocalSandbox, Sandbox, open_sandbox
from verdict_matrix import EXPECTED_OUTPUT, MATRIX, Row


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LocalSandbox]:
    with LocalSandbox() as box:
        yield box


def verify(sandbox: Sandbox, **record: Any) -> CaseReport:
    (case,) = NativeReader().read(record, 1, Defaults())
    return verify_case(sandbox, case)


def verdicts(report: CaseReport) -> list[str]:
    return [t.outcome.verdict.value for t in report.tests]


STDIN_IDIOMS = {
    "input": "a, b = map(int, input().split())\nprint(a + b)",
    "read": "import sys\nprint(sum(map(int, sys.stdin.read().split())))",
    "buffer-readline": "import sys\nprint(sum(map(int, sys.stdin.buffer.readline().split())))",
    "for-line": "import sys\ntotal = 0\nfor line in sys.stdin:\n    total += sum(map(int, line.split()))\nprint(total)",
    "open-0": "print(sum(map(int, open(0).read().split())))",
    "readlines": "import sys\nprint(sum(int(x) for line in sys.stdin.readlines() for x in line.split()))",
    "fileinput": "import fileinput\nprint(sum(int(x) for line in fileinput.input() for x in line.split()))",
    "os-read": "import os\nprint(sum(map(int, os.read(0, 100).split())))",
}


@pytest.mark.parametrize("idiom", sorted(STDIN_IDIOMS))
def test_every_stdin_idiom_is_accepted(sandbox: LocalSandbox, idiom: str) -> None:
    report = verify(sandbox, code=STDIN_IDIOMS[idiom], tests=[{"input": "1 2\n", "output": "3\n"}])
    assert verdicts(report) == ["AC"], report.explain()


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[dict[str, Sandbox]]:
    opened: dict[str, Sandbox] = {}
    yield opened
    for box in opened.values():
        box.close()


@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.name)
def test_verdicts(backend: str, sandboxes: dict[str, Sandbox], row: Row) -> None:
    box = sandboxes.setdefault(backend, open_sandbox(backend))
    report = verify(box, code=row.code, **row.limits, tests=[{"input": "", "output": EXPECTED_OUTPUT}])
    assert verdicts(report) == [row.judged], report.explain()
    assert row.message in report.tests[0].outcome.message


def test_cpu_limit_is_on_cpu_time_not_wall_time(sandbox: LocalSandbox) -> None:
    # Sleeping 1.5 s uses no CPU: within a 1 s CPU limit, below the 3 s wall backstop.
    report = verify(sandbox, code="import time\ntime.sleep(1.5)\nprint(3)", time_limit=1,
                    tests=[{"input": "", "output": "3\n"}])
    assert verdicts(report) == ["AC"], report.explain()


def test_no_code_block_is_ce_for_every_test(sandbox: LocalSandbox) -> None:
    tests = [{"input": "", "output": "3"}, {"input": "", "output": "4"}]
    report = verify(sandbox, response="just add them", tests=tests)
    assert verdicts(report) == ["CE", "CE"]
    assert "no code block" in report.tests[0].outcome.message


@pytest.mark.parametrize(("compare", "output", "verdict"), [
    ("tokens", "1  2\n3", "AC"),
    ("tokens", "1 2 3 4", "WA"),
    ("lines", "1 2   \n3\n\n\n", "AC"),
    ("lines", "1 2\n 3\n", "WA"),
    ("lines", "1\n2\n3\n", "WA"),
    ("exact", "1 2\n3\n", "AC"),
    ("exact", "1 2\n3", "WA"),
    ({"float": 1e-3}, "1.0001 2\n3.0000", "AC"),
    ({"float": 1e-6}, "1.0001 2\n3", "WA"),
])
def test_compare_modes(sandbox: LocalSandbox, compare: Any, output: str, verdict: str) -> None:
    report = verify(sandbox, code="print('1 2')\nprint(3)", compare=compare, tests=[{"input": "", "output": output}])
    assert verdicts(report) == [verdict], report.explain()


def test_first_line_only_of_a_multi_line_answer_is_wrong(sandbox: LocalSandbox) -> None:
    report = verify(sandbox, code="print(1)", compare="lines", tests=[{"input": "", "output": "1\n2\n3\n"}])
    assert verdicts(report) == ["WA"]


def test_call_tests(sandbox: LocalSandbox) -> None:
    code = ("def pair(a, b=0):\n    return (a, [b, {'k': a}])\n"
            "class Point:\n    pass\n"
            "def point():\n    return Point()\n"
            "class Liar(int):\n    def __eq__(self, other):\n        return True\n"
            "def liar():\n    return Liar(2)\n"
            "from collections import Counter\n"
            "def counts():\n    return Counter('abca')\n"
            "def boom():\n    raise KeyError('x')\n")
    tests = [
        {"args": [1], "kwargs": {"b": 2}, "expected": [1, [2, {"k": 1}]]},  # tuples compare as lists
        {"args": [1, 2], "expected": [1, [2, {"k": 2}]]},  # wrong value
        {"args": [True], "expected": [1, [0, {"k": 1}]]},  # true is not 1
    ]
    report = verify(sandbox, code=code, entry_point="pair", tests=tests)
    assert verdicts(report) == ["AC", "WA", "WA"]
    for entry, verdict, message in [("point", "WA", "Point"), ("liar", "WA", "expected 1, got 2"),
                                    ("boom", "RE", "KeyError")]:
        report = verify(sandbox, code=code, entry_point=entry, tests=[{"args": [], "expected": 1}])
        assert verdicts(report) == [verdict]
        assert message in report.tests[0].outcome.message
    # A subclass of a built-in is judged by its value, as Python's == judges it.
    tests = [{"args": [], "expected": {"a": 2, "b": 1, "c": 1}}]
    report = verify(sandbox, code=code, entry_point="counts", tests=tests)
    assert verdicts(report) == ["AC"], report.explain()


def test_call_tests_on_a_solution_class(sandbox: LocalSandbox) -> None:
    code = "class Solution:\n    def double(self, x):\n        return 2 * x\n"
    report = verify(sandbox, code=code, entry_point="double", tests=[{"args": [21], "expected": 42}])
    assert verdicts(report) == ["AC"]


def test_assertion_tests(sandbox: LocalSandbox) -> None:
    code = "def add(a, b):\n    return a + b\n"
    report = verify(sandbox, code=code, tests=[{"assert": "assert add(1, 2) == 3"}, {"assert": "assert add(1, 2) == 4"},
                                               {"assert": "assert add(1) == 1"}])
    assert verdicts(report) == ["AC", "WA", "RE"]  # a failing assert of the test is a wrong answer


@pytest.mark.parametrize("escape", ["import os\nos._exit(0)", "import sys\nsys.exit(0)", "raise SystemExit"])
def test_exiting_before_assertions_does_not_pass(sandbox: LocalSandbox, escape: str) -> None:
    code = "def add(a, b):\n    return a - b\n" + escape
    report = verify(sandbox, code=code, tests=[{"assert": "assert add(1, 2) == 3"}])
    assert verdicts(report) != ["AC"]


def test_expected_output_never_reaches_the_sandbox(sandbox: LocalSandbox) -> None:
    secret = "expected-7f3a9c"
    code = ("import gc, sys\nseen = any('7f3a9c' in repr(o) for o in gc.get_objects() if isinstance(o, (str, dict)))\n"
            "print('leak' if seen else 'clean')")
    report = verify(sandbox, code=code, tests=[{"input": "", "output": secret}])
    assert report.tests[0].outcome.stdout == "clean\n"


def test_reward_modes() -> None:
    from pytest_codeverify.rewards import reward

    v = [Verdict.AC, Verdict.WA, Verdict.AC, Verdict.AC]
    assert reward(v) == 0.75
    assert reward(v, "all") == 0.0
    assert reward([Verdict.AC, Verdict.SE]) is None


def test_pass_at_k_matches_the_closed_form() -> None:
    from math import comb

    from pytest_codeverify.rewards import pass_at_k

    for n, c, k in [(10, 3, 1), (10, 3, 5), (20, 0, 5), (5, 5, 5), (100, 17, 10)]:
        assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k))
