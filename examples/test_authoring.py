"""Checks for generated code written as ordinary pytest tests.

Run them on the solution next to this file, or on any submitted one:

    pytest examples/test_authoring.py
    pytest examples/test_authoring.py --codeverify-candidate path/to/submission.py
    pytest --codeverify --codeverify-rewards rewards.jsonl examples/test_authoring.py   # rewards too
"""

import pytest

from pytest_codeverify import Candidate, CandidateError, Sandbox

# The candidate for every test of this module; --codeverify-candidate PATH replaces it.
pytestmark = pytest.mark.codeverify(path="solution.py", entry_point="add")


def test_add_program(codeverify: Sandbox) -> None:
    result = codeverify.run("print(sum(map(int, input().split())))", stdin="1 2\n", time_limit=1)
    assert result.verdict == "AC" and result.stdout == "3\n"


def test_add_function(codeverify_candidate: Candidate) -> None:
    assert codeverify_candidate.call(1, 2) == 3  # runs in the sandbox, the value is judged here
    assert codeverify_candidate.call(-5, b=5) == 0
    assert codeverify_candidate.call(10**20, 1) == 10**20 + 1


def test_add_as_dataset_record(codeverify: Sandbox, codeverify_candidate: Candidate) -> None:
    report = codeverify.verify({
        "id": "add", "code": codeverify_candidate.code, "entry_point": "add",
        "tests": [{"args": [1, 2], "expected": 3}, {"args": [2.5, 0.5], "expected": 3.0},
                  {"assert": "assert add('co', 'de') == 'code'"}],
    })
    assert report.reward == 1.0, report.explain()


def test_a_failing_candidate_is_reported(codeverify: Sandbox) -> None:
    broken = codeverify.candidate("def add(a, b):\n    raise ValueError('not today')\n", entry_point="add")
    with pytest.raises(CandidateError) as failure:
        broken.call(1, 2)
    assert failure.value.verdict == "RE" and "ValueError: not today" in failure.value.message


def test_limits_are_verdicts(codeverify: Sandbox) -> None:
    assert codeverify.run("while True: pass", time_limit=0.5).verdict == "TLE"
    assert codeverify.run("import sys; sys.exit(3)").verdict == "RE"
