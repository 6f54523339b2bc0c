"""The case model and its validators (cases). Pure, no sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_codeverify.cases import (
    AssertTest,
    CallTest,
    Case,
    CaseError,
    Compare,
    StdioTest,
    check_language,
    positive_int,
    positive_number,
    text,
)


@pytest.mark.parametrize(("value", "mode", "tolerance", "shown"), [
    (None, "tokens", None, "tokens"),
    ("tokens", "tokens", None, "tokens"),
    ("lines", "lines", None, "lines"),
    ("exact", "exact", None, "exact"),
    ({"float": 1e-6}, "float", 1e-6, "float(1e-06)"),
    ({"float": 0}, "float", 0.0, "float(0)"),
    ({"float": 2}, "float", 2.0, "float(2)"),
])
def test_compare_parse(value: Any, mode: str, tolerance: float | None, shown: str) -> None:
    compare = Compare.parse(value)
    assert (compare.mode, compare.tolerance, str(compare)) == (mode, tolerance, shown)


@pytest.mark.parametrize("value", [
    "float", "Tokens", "", 1, [], {"float": -1}, {"float": True}, {"float": float("nan")}, {"float": float("inf")},
    {"float": "1e-6"}, {"float": 1e-6, "mode": "x"}, {"lines": 1}, {}, {"float": 10 ** 400},
], ids=lambda v: repr(v)[:40])
def test_compare_parse_refuses_naming_the_field(value: Any) -> None:
    with pytest.raises(CaseError) as info:
        Compare.parse(value)
    assert info.value.field == "compare"
    assert str(info.value).startswith("field 'compare': must be one of tokens, lines, exact")


@pytest.mark.parametrize(("error", "shown"), [
    (CaseError("bad"), "bad"),
    (CaseError("bad", field="tests"), "field 'tests': bad"),
    (CaseError("bad", line=3), "line 3: bad"),
    (CaseError("bad", path="d.jsonl", line=3, field="id"), "d.jsonl:3: field 'id': bad"),
    (CaseError("cannot read", path="d.jsonl"), "d.jsonl: cannot read"),  # no line 0
])
def test_case_error_names_file_line_and_field(error: CaseError, shown: str) -> None:
    assert str(error) == shown


def test_case_error_located_keeps_message_and_field() -> None:
    placed = CaseError("must be a list", field="tests").located("in.jsonl", 12)
    assert (placed.path, placed.line, placed.field, placed.message) == ("in.jsonl", 12, "tests", "must be a list")
    assert str(placed) == "in.jsonl:12: field 'tests': must be a list"


@pytest.mark.parametrize(("validator", "value"), [
    (positive_number, 0), (positive_number, -1.5), (positive_number, "2"), (positive_number, True),
    (positive_number, float("inf")), (positive_number, None),
    (positive_int, 0), (positive_int, 1.5), (positive_int, "512"), (positive_int, False),
], ids=repr)
def test_record_validators_name_the_field(validator: Any, value: Any) -> None:
    with pytest.raises(CaseError) as info:
        validator(value, "tests[2].time_limit")
    assert info.value.field == "tests[2].time_limit"
    assert str(info.value).startswith("field 'tests[2].time_limit': must be a positive")
    assert "tests[2].time_limit: must" not in info.value.message  # the name is said once


def test_record_validators_accept() -> None:
    assert positive_number(3, "time_limit") == 3.0
    assert positive_int(64, "memory_limit") == 64


@pytest.mark.parametrize(("value", "ok"), [("x", True), ("", True), (1, False), (None, False), (b"x", False)])
def test_text(value: Any, ok: bool) -> None:
    if ok:
        assert text(value, "input") == value
    else:
        with pytest.raises(CaseError, match="must be a string") as info:
            text(value, "input")
        assert info.value.field == "input"


@pytest.mark.parametrize(("value", "language"), [("python", "python"), ("Python", "python"), ("PYTHON", "python")])
def test_check_language(value: str, language: str) -> None:
    assert check_language(value) == language


@pytest.mark.parametrize("value", ["cobol", "", 99, None])
def test_check_language_refuses(value: Any) -> None:
    with pytest.raises(CaseError) as info:
        check_language(value)
    assert info.value.field == "language"


def test_case_test_names_and_limits() -> None:
    tests = (StdioTest("", "", name="first"), StdioTest("", "", time_limit=0.5), AssertTest("assert 1"),
             CallTest((), {}, 1, name="call"))
    case = Case(id="a", problem_id="a", tests=tests, code="pass", time_limit=3.0)
    assert [case.test_name(i) for i in range(4)] == ["first", "test_1", "test_2", "call"]
    assert [case.limit_for(t) for t in tests] == [3.0, 0.5, 3.0, 3.0]
    assert [t.kind for t in tests] == ["stdio", "stdio", "assert", "call"]
