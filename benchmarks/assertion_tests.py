"""What an assertion test costs next to a stdin and a call test, on the local backend.

An assertion test runs in two processes (the program's and the test's) that talk over pipes;
a stdin or call test runs in one. Measured with the engine alone (``run_test`` in a loop, one
sandbox, no pytest), the kinds interleaved round by round so that load on the machine hits all
of them alike:

- ``stdin``: ``print(int(input()) + 1)``;
- ``call``: ``add(2, 3)`` judged outside the sandbox;
- ``assert``: ``assert add(2, 3) == 5``;
- ``assert x10``: ten calls and asserts in one test (HumanEval's ``check(candidate)`` shape).

Usage: ``python benchmarks/assertion_tests.py [--tests 300] [--rounds 5]``. Prints a markdown table
of the median milliseconds per test.
"""

from __future__ import annotations

import argparse
import statistics
import time

from pytest_codeverify.cases import AssertTest, CallTest, Case, StdioTest
from pytest_codeverify.engine import run_test
from pytest_codeverify.sandbox import LocalSandbox

ADD = "def add(a, b):\n    return a + b\n"
CHECK = "def check(candidate):\n" + "".join(f"    assert candidate({i}, 1) == {i + 1}\n" for i in range(10)) + \
    "check(add)\n"
KINDS = {
    "stdin": Case("stdin", "stdin", (StdioTest("1\n", "2\n"),), "print(int(input()) + 1)\n"),
    "call": Case("call", "call", (CallTest((2, 3), {}, 5),), ADD, entry_point="add"),
    "assert": Case("assert", "assert", (AssertTest("assert add(2, 3) == 5"),), ADD),
    "assert x10": Case("check", "check", (AssertTest(CHECK),), ADD),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=300, help="tests per kind and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    per_test: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with LocalSandbox() as sandbox:
        sandbox.start()
        for case in KINDS.values():  # warm up
            for _ in range(20):
                run_test(sandbox, case, case.tests[0])
        for _ in range(args.rounds):
            for kind, case in KINDS.items():
                started = time.perf_counter()
                for _ in range(args.tests):
                    outcome = run_test(sandbox, case, case.tests[0])
                    if not outcome.passed:
                        raise SystemExit(f"{kind}: {outcome.verdict} {outcome.message}")
                per_test[kind].append((time.perf_counter() - started) / args.tests * 1000)
    print("| test kind | ms per test (median of rounds) |\n|---|---|")
    for kind, times in per_test.items():
        print(f"| {kind} | {statistics.median(times):.1f} |")


if __name__ == "__main__":
    main()
