"""Assertion tests judged as Python would run them, with the test code in its own process.

Each case is a program and a test's code (MBPP and HumanEval shapes among them) with the verdict
plain Python would give: a failing ``assert`` of the test is ``WA``, any other exception ``RE``.
Run on every backend; the hostile side of assertion tests is in ``tests/hostile/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import require_backend
from pytest_codeverify.engine import verify_case
from pytest_codeverify.formats import Defaults
from pytest_codeverify.formats.humaneval import MbppReader
from pytest_codeverify.formats.native import NativeReader
from pytest_codeverify.judge import Outcome
from pytest_codeverify.sandbox import open_sandbox
from pytest_codeverify.sandbox.base import Sandbox

pytestmark = pytest.mark.sandbox

ADD = "def add(a, b):\n    return a + b\n"

#: (name, program, test code, setup, verdict, text the message must contain)
CASES: list[tuple[str, str, str, str, str, str]] = [
    ("plain", ADD, "assert add(2, 3) == 5", "", "AC", ""),
    ("failing-assert-is-wa", "def add(a, b):\n    return a - b\n", "assert add(2, 3) == 5", "", "WA",
     "assertion failed at line 1: assert add(2, 3) == 5"),
    ("assert-message", "def add(a, b):\n    return 0\n", "r = add(2, 3)\nassert r == 5, f'got {r}'", "", "WA",
     "(got 0)"),
    ("program-raises-is-re", "def add(a, b):\n    raise ValueError('not today')\n", "assert add(2, 3) == 5", "",
     "RE", "ValueError: not today"),
    ("program-assertion-is-re", "def add(a, b):\n    assert a > 100, 'small'\n", "assert add(2, 3) == 5", "",
     "RE", "AssertionError: small"),
    ("test-raises-is-re", ADD, "assert add(2, 3) == 5\n{}['missing']", "", "RE", "KeyError"),
    ("humaneval-check", ADD, "def check(candidate):\n    assert candidate(2, 3) == 5\n"
     "    assert abs(candidate(0.1, 0.2) - 0.3) < 1e-9\ncheck(add)\n", "", "AC", ""),
    ("humaneval-check-wrong", "def add(a, b):\n    return a * b\n",
     "def check(candidate):\n    assert candidate(2, 2) == 4\n    assert candidate(2, 3) == 5\ncheck(add)\n", "",
     "WA", "line 3"),
    ("solution-class", "class Solution:\n    def add(self, a, b):\n        return a + b\n",
     "assert Solution().add(2, 3) == 5", "", "AC", ""),
    ("program-class-built-by-test",
     "class Pair:\n    def __init__(self, a, b):\n        self.a, self.b = a, b\n"
     "def max_chain_length(arr, n):\n    arr = sorted(arr, key=lambda p: p.b)\n    count, end = 0, float('-inf')\n"
     "    for p in arr:\n        if p.a > end:\n            count, end = count + 1, p.b\n    return count\n",
     "assert max_chain_length([Pair(5, 24), Pair(15, 25), Pair(27, 40), Pair(50, 60)], 4) == 3", "", "AC", ""),
    ("test-objects-read-by-program",
     "def max_height(node):\n    if node is None:\n        return 0\n"
     "    return 1 + max(max_height(node.left), max_height(node.right))\n",
     "assert max_height(root) == 3",
     "class Node:\n    def __init__(self, data):\n        self.data = data\n        self.left = None\n"
     "        self.right = None\nroot = Node(1)\nroot.left = Node(2)\nroot.right = Node(3)\nroot.left.left = Node(4)\n",
     "AC", ""),
    ("generator-to-list", "def gen(n):\n    yield from range(n)\n", "assert list(gen(3000)) == list(range(3000))",
     "", "AC", ""),
    ("generator-next-then-rest", "def gen(n):\n    yield from range(n)\n",
     "g = gen(5)\nassert next(g) == 0\nassert next(g) == 1\nassert list(g) == [2, 3, 4]\nassert list(g) == []",
     "", "AC", ""),
    ("generator-raising", "def gen():\n    yield 1\n    raise ValueError('late')\n", "assert list(gen()) == [1]",
     "", "RE", "ValueError: late"),
    ("membership-in-program-result", "def evens(n):\n    return (i for i in range(0, n, 2))\n",
     "assert 4 in evens(10)\nassert 5 not in evens(10)", "", "AC", ""),
    ("program-prints", "def add(a, b):\n    print('adding', a, b)\n    return a + b\nprint('loaded')\n",
     "assert add(2, 3) == 5", "", "AC", ""),
    ("deep-recursion", "import sys\nsys.setrecursionlimit(20000)\n"
     "def depth(n):\n    return 0 if n == 0 else 1 + depth(n - 1)\n", "assert depth(8000) == 8000", "", "AC", ""),
    ("exit-mid-test", "def add(a, b):\n    raise SystemExit\n", "assert add(2, 3) == 5", "", "RE", "exited (code 0)"),
    ("sys-exit-code", "import sys\ndef add(a, b):\n    sys.exit(3)\n", "assert add(2, 3) == 5", "", "RE", "exit"),
    ("exit-at-import", "import sys\nsys.exit(0)\n" + ADD, "assert add(2, 3) == 5", "", "RE", "exited"),
    ("os-exit-mid-test", "import os\ndef add(a, b):\n    os._exit(0)\n", "assert add(2, 3) == 5", "", "RE",
     "before the test finished"),
    ("killed-by-signal", "import os, signal\ndef add(a, b):\n    os.kill(os.getpid(), signal.SIGSEGV)\n",
     "assert add(2, 3) == 5", "", "RE", "SIGSEGV"),
    ("in-place-mutation", "def sort_in_place(items):\n    items.sort()\n    items[0][0] = 'x'\n",
     "x = [[3], [1], [2]]\ninner = x[0]\nsort_in_place(x)\nassert x == [['x'], [2], [3]]\nassert x[1] is inner or True",
     "", "AC", ""),
    ("dict-argument-mutation", "def fill(d):\n    d['k'] = [1]\n", "d = {}\nfill(d)\nassert d == {'k': [1]}", "",
     "AC", ""),
    ("program-data", "TABLE = {1: 'a'}\nMOD = 10 ** 9 + 7\n", "assert TABLE[1] == 'a' and MOD == 1000000007", "",
     "AC", ""),
    ("program-data-is-current", "calls = []\ndef add(a, b):\n    calls.append(1)\n    return a + b\n",
     "add(1, 1)\nadd(1, 1)\nassert calls == [1, 1]", "", "AC", ""),
    ("uses-programs-import", "import math\ndef area(r):\n    return math.pi * r * r\n",
     "assert math.isclose(area(1), math.pi)", "", "AC", ""),
    ("expected-exception-caught", "def inv(x):\n    if x == 0:\n        raise ZeroDivisionError('zero')\n"
     "    return 1 / x\n",
     "try:\n    inv(0)\nexcept ArithmeticError as e:\n    assert 'zero' in str(e)\nelse:\n    raise AssertionError\n",
     "", "AC", ""),
    ("program-exception-class-caught", "class Bad(ValueError):\n    pass\ndef f(x):\n    raise Bad('no')\n",
     "try:\n    f(1)\nexcept Bad:\n    pass\nelse:\n    raise AssertionError('not raised')\n", "", "AC", ""),
    ("counter-is-a-dict", "from collections import Counter\ndef count(s):\n    return Counter(s)\n",
     "assert count('abca') == {'a': 2, 'b': 1, 'c': 1}", "", "AC", ""),
    ("namedtuple-is-a-tuple", "from collections import namedtuple\nP = namedtuple('P', 'x y')\n"
     "def make():\n    return P(1, 2)\n", "assert make() == (1, 2)", "", "AC", ""),
    ("huge-int", "def big():\n    return 7 ** 20000\n", "assert big() == 7 ** 20000 and big() % 10 == 1", "", "AC",
     ""),
    ("containers", "def f():\n    return {'a': (1, 2.5, None), 'b': {3, 4}, 'c': [b'x', 1j, frozenset({5})]}\n",
     "assert f() == {'a': (1, 2.5, None), 'b': {3, 4}, 'c': [b'x', 1j, frozenset({5})]}\n"
     "assert type(f()['a']) is tuple", "", "AC", ""),
    ("callback-from-test", "def apply(f, x):\n    return f(x)\n",
     "assert apply(lambda v: v * 2, 21) == 42\nassert apply(str.upper, 'ab') == 'AB'\nassert apply(len, 'abc') == 3",
     "", "AC", ""),
    ("builtin-type-argument",
     "def remove_datatype(items, kind):\n    return [x for x in items if not isinstance(x, kind)]\n",
     "assert remove_datatype((4, 5, 4, 7.7, 1.2), int) == [7.7, 1.2]", "", "AC", ""),
    ("program-instance-attributes", "class Point:\n    def __init__(self, x, y):\n        self.x, self.y = x, y\n"
     "    def __str__(self):\n        return f'({self.x}, {self.y})'\n",
     "p = Point(1, 2)\nassert p.x == 1 and p.y == 2\nassert str(p) == '(1, 2)'\nassert isinstance(p, Point)\n"
     "assert not isinstance(3, Point)\np.x = 5\nassert p.x == 5", "", "AC", ""),
    ("program-object-never-equals", "class Point:\n    def __eq__(self, other):\n        return True\n"
     "def make():\n    return Point()\n", "assert make() == make()", "", "WA", ""),
    ("sort-key-from-test", "def order(items, key):\n    return sorted(items, key=key)\n",
     "assert order(['bb', 'a', 'ccc'], key=len) == ['a', 'bb', 'ccc']", "", "AC", ""),
    ("program-syntax-error", "def add(a, b)\n    return a + b\n", "assert add(2, 3) == 5", "", "CE", ""),
    ("test-syntax-error", ADD, "assert add(2, 3) ==", "", "CE", "test code"),
    ("program-raises-at-import", "raise RuntimeError('broken')\n", "assert True", "", "RE", "RuntimeError: broken"),
    ("program-memory-error", "def add(a, b):\n    raise MemoryError\n", "assert add(2, 3) == 5", "", "MLE", ""),
    ("program-loops", "def add(a, b):\n    while True:\n        pass\n", "assert add(2, 3) == 5", "", "TLE", ""),
    ("test-loops", ADD, "while add(1, 1):\n    pass", "", "TLE", ""),
    ("stopiteration-out-of-a-call", "def ok(x):\n    raise StopIteration\n", "assert all(map(ok, [1, 2]))", "",
     "RE", "StopIteration"),
]


@pytest.fixture(scope="module", params=["local", "docker"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with open_sandbox(require_backend(request.param)) as box:
        yield box


def judge_one(sandbox: Sandbox, code: str, test: str, setup: str = "", **record: Any) -> Outcome:
    (case,) = NativeReader().read({"code": code, "tests": [{"assert": test}], "time_limit": 1, **record}, 1, Defaults())
    if setup:
        case = type(case)(**{**case.__dict__, "setup_code": setup})
    return verify_case(sandbox, case).tests[0].outcome


@pytest.mark.parametrize(("name", "code", "test", "setup", "verdict", "message"), CASES, ids=[c[0] for c in CASES])
def test_verdict_as_python_gives_it(sandbox: Sandbox, name: str, code: str, test: str, setup: str, verdict: str,
                                    message: str) -> None:
    outcome = judge_one(sandbox, code, test, setup)
    assert outcome.verdict.value == verdict, (outcome.message, outcome.stderr[-2000:])
    assert message in outcome.message, outcome.message


def test_program_output_is_kept(sandbox: Sandbox) -> None:
    outcome = judge_one(sandbox, "def add(a, b):\n    print('adding', a, b)\n    return a + b\nprint('loaded')\n",
                        "assert add(2, 3) == 5\nassert add(1, 1) == 2\nprint('test done')")
    assert outcome.stdout == "loaded\nadding 2 3\nadding 1 1\ntest done\n"


def test_tracebacks_show_where_it_failed(sandbox: Sandbox) -> None:
    program = judge_one(sandbox, "def add(a, b):\n    return helper(a)\ndef helper(a):\n    return a[0]\n",
                        "assert add(2, 3) == 5")
    assert 'File "solution.py", line 4, in helper' in program.stderr
    assert "TypeError" in program.stderr
    test = judge_one(sandbox, ADD, "x = add(2, 3)\nassert x == 6")
    assert 'File "<test>", line 2' in test.stderr and "assert x == 6" in test.stderr


def test_builtin_named_entry_point_is_the_programs(sandbox: Sandbox) -> None:
    """MBPP task 126 names its function ``sum``: the test calls the program's, as in MBPP."""
    record = {"task_id": 126, "text": "sum of common divisors", "code": (
        "def sum(a, b):\n    total = 0\n    for i in range(1, min(a, b)):\n"
        "        if a % i == 0 and b % i == 0:\n            total += i\n    return total\n"),
        "test_list": ["assert sum(10,15) == 6", "assert sum(100,150) == 93", "assert sum(4,6) == 3"]}
    (case,) = MbppReader().read(record, 1, Defaults())
    assert case.entry_point == "sum"
    assert verify_case(sandbox, case).reward == 1.0


@pytest.mark.skipif(os.geteuid() != 0, reason="the cgroup that contains the fallback needs root")
def test_without_a_pid_namespace_both_processes_are_limited() -> None:
    """Where the runner is not its namespace's init it charges a job the CPU time of the
    program's and the test's processes; verdicts are the same."""
    from pytest_codeverify.sandbox import UnisolatedSandbox

    with UnisolatedSandbox() as fallback:  # the runner is not its namespace's init there
        assert judge_one(fallback, ADD, "assert add(2, 3) == 5").verdict.value == "AC"
        assert judge_one(fallback, ADD, "assert add(2, 3) == 6").verdict.value == "WA"
        looping = "def add(a, b):\n    while True:\n        pass\n"
        assert judge_one(fallback, looping, "assert add(2, 3) == 5").verdict.value == "TLE"
        assert judge_one(fallback, ADD, "while add(1, 1):\n    pass").verdict.value == "TLE"
        assert judge_one(fallback, ADD, "assert add(2, 3) == 5").verdict.value == "AC"
