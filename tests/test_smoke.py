"""The example dataset end to end: every verdict it is written to produce."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, read_jsonl

pytestmark = pytest.mark.sandbox


def test_example_dataset_verdicts(pytester: pytest.Pytester, tmp_path: Path) -> None:
    rewards = tmp_path / "rewards.jsonl"
    result = pytester.runpytest_subprocess("--codeverify", str(ROOT / "data" / "example.jsonl"),
                                           "--codeverify-rewards", str(rewards), "-p", "no:cacheprovider")
    lines = {line["id"]: line for line in read_jsonl(rewards)}
    assert {k: v["verdict"] for k, v in lines.items()} == {
        "sum-pair-0": "AC", "sum-pair-1": "WA", "column-sums": "AC", "binary-readline": "AC",
        "circle-area": "AC", "two-sum": "AC", "gcd-function": "AC", "palindrome-wrong": "WA",
        "slow-fibonacci": "TLE", "sieve-too-big": "MLE", "debug-spam": "OLE", "syntax-slip": "CE",
        "index-error": "RE", "from-response": "AC", "no-code-response": "CE",
    }
    assert lines["sum-pair-1"]["reward"] == pytest.approx(2 / 3)
    result.stdout.fnmatch_lines(["codeverify: 15 record(s), mean reward *"])
