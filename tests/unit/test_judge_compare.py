"""Comparing output and values (judge.compare). Pure functions, no sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_codeverify.cases import Compare
from pytest_codeverify.judge.compare import compare_output, compare_relation, compare_value

TOKENS, LINES, EXACT = Compare("tokens"), Compare("lines"), Compare("exact")
FLOAT = Compare("float", 1e-6)
WIDE = 10 ** 5000 + 1  # past str(int)'s default digit limit


def ident(value: Any) -> str | None:
    """Short test ids; pytest's default cannot even stringify ints past the digit limit."""
    items = value if isinstance(value, list) else [value]
    if any(type(item) is int and item.bit_length() > 1000 for item in items):
        return "wide-int"
    if isinstance(value, str) and len(value) > 30:
        return f"{value[:12]}...({len(value)} chars)"
    return None


@pytest.mark.parametrize(("got", "expected", "compare", "same"), [
    # tokens: any whitespace layout
    ("3\n", "3\n", TOKENS, True),
    ("3", "3\n", TOKENS, True),
    ("1 2\n3", "1\n2 3\n\n", TOKENS, True),
    ("1  2\t3\r\n", "1 2 3", TOKENS, True),
    ("", "", TOKENS, True),
    ("", "\n \n", TOKENS, True),
    ("3", "4", TOKENS, False),
    ("1 2", "1 2 3", TOKENS, False),
    ("1 2 3", "1 2", TOKENS, False),
    ("", "0", TOKENS, False),
    ("1.0", "1", TOKENS, False),  # tokens are text: no number equivalence
    ("YES", "yes", TOKENS, False),
    # lines: trailing whitespace and trailing blank lines do not count, line layout does
    ("a b\nc\n", "a b\nc", LINES, True),
    ("a b  \nc\t\n\n\n", "a b\nc\n", LINES, True),
    ("a b\r\nc\r\n", "a b\nc\n", LINES, True),
    ("", "\n\n", LINES, True),
    ("a  b\n", "a b\n", LINES, False),
    ("a b c\n", "a b\nc\n", LINES, False),
    ("\na\n", "a\n", LINES, False),  # a leading blank line counts
    ("a\n", "a\nb\n", LINES, False),
    ("a\nb\n", "a\n", LINES, False),
    (" a\n", "a\n", LINES, False),
    # exact: every character
    ("3\n", "3\n", EXACT, True),
    ("", "", EXACT, True),
    ("3", "3\n", EXACT, False),
    ("3 \n", "3\n", EXACT, False),
    ("3\r\n", "3\n", EXACT, False),
    # float: numbers within tolerance, other tokens exactly
    ("0.3333333", "0.333333333", FLOAT, True),
    ("1e3", "1000", FLOAT, True),
    ("-0.0", "0", FLOAT, True),
    ("1.0000001", "1", FLOAT, True),
    ("1.1", "1", FLOAT, False),
    ("abc 1.0", "abc 1", FLOAT, True),
    ("abd 1.0", "abc 1", FLOAT, False),
    ("nan", "nan", FLOAT, True),
    ("NaN", "nan", FLOAT, True),
    ("nan", "1", FLOAT, False),
    ("1", "nan", FLOAT, False),
    ("inf", "inf", FLOAT, True),
    ("-inf", "inf", FLOAT, False),
    ("1e308", "inf", FLOAT, False),
    (".5", "0.5", FLOAT, True),
    ("5.", "5", FLOAT, True),
    ("0x10", "16", FLOAT, False),  # not a decimal number: compared as text
    ("1_000", "1000", FLOAT, False),
    ("\u0663", "3", FLOAT, False),  # ARABIC-INDIC DIGIT THREE: float() reads it, a judge must not
    ("\uff11", "1", Compare("float", 0.0), False),  # FULLWIDTH DIGIT ONE
    ("1.0 2.0", "1 2 3", FLOAT, False),
    ("1", "1.0", Compare("float", 0.0), True),
    ("1.0000001", "1", Compare("float", 0.0), False),
], ids=lambda v: repr(v) if isinstance(v, str) else str(v))
def test_compare_output(got: str, expected: str, compare: Compare, same: bool) -> None:
    ok, why = compare_output(got, expected, compare)
    assert ok is same
    assert (why == "") is same


@pytest.mark.parametrize(("got", "expected", "tolerance", "same"), [
    ("2" * 400, "1" * 400, 1e-6, False),  # both past float range: not equal for all that
    ("1" * 400, "1" * 400 + "0", 1e-6, False),
    ("1" * 400, "1" * 400, 1e-6, True),
    ("1e400", "1.0e400", 0.0, True),
    ("1.0000001e400", "1e400", 1e-6, True),
    ("1.1e400", "1e400", 1e-6, False),
    ("1e400", "inf", 1e-6, False),  # a finite number is not infinity
    ("-1e400", "-inf", 1e-6, False),
    ("1e400", "1e308", 1e-6, False),
    ("1e99999999999999999999", "1e99999999999999999998", 1e-6, False),
], ids=ident)
def test_float_mode_numbers_past_float_range(got: str, expected: str, tolerance: float, same: bool) -> None:
    assert compare_output(got, expected, Compare("float", tolerance))[0] is same


@pytest.mark.parametrize(("got", "expected", "compare", "message"), [
    ("1 2 4", "1 2 3", TOKENS, "token 3: expected '3', got '4'"),
    ("1 2", "1 2 3", TOKENS, "expected 3 token(s), got 2"),
    ("a\nx\n", "a\nb\n", LINES, "line 2: expected 'b', got 'x'"),
    ("a\n", "a\nb\nc\n", LINES, "expected 3 line(s), got 1"),
    ("abcd", "abXd", EXACT, "first difference at character 2: expected 'Xd', got 'cd'"),
    ("ab", "abc", EXACT, "expected 3 characters, got 2"),
    ("1.5", "1", FLOAT, "token 1: expected '1', got '1.5'"),
])
def test_first_difference_messages(got: str, expected: str, compare: Compare, message: str) -> None:
    assert compare_output(got, expected, compare) == (False, message)


def test_long_differences_are_shortened() -> None:
    ok, why = compare_output("x" * 1000, "y" * 1000, TOKENS)
    assert not ok and len(why) < 250 and "..." in why


# --- values ------------------------------------------------------------------------------


@pytest.mark.parametrize(("got", "expected", "same"), [
    (3, 3, True),
    (3, 3.0, True),  # Python's == decides, as the assertion would
    (True, 1, True),
    ((1, 2), (1, 2), True),
    ([1, 2], (1, 2), False),  # a list is not a tuple
    ({1, 2}, {2, 1}, True),
    ({"a": 1}, {"a": 1}, True),
    ({"a": 1}, {"a": 2}, False),
    (None, 0, False),
    ("1", 1, False),
    (float("nan"), float("nan"), False),
    (WIDE, WIDE, True),
    (WIDE, WIDE - 1, False),
    ([WIDE], [5], False),
], ids=ident)
def test_typed_values_compare_with_python_eq(got: Any, expected: Any, same: bool) -> None:
    ok, why = compare_value(got, expected, typed=True)
    assert ok is same and (why == "") is same


def test_typed_comparison_that_raises_is_a_failure() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    ok, why = compare_value(deep, deep[0], typed=True)
    assert not ok and "RecursionError" in why


@pytest.mark.parametrize(("got", "expected", "same"), [
    (3, 3, True),
    (3.0, 3, True),
    (True, True, True),
    (True, 1, False),  # never a bool for a number
    (1, True, False),
    (0, False, False),
    (None, None, True),
    (0, None, False),
    ("a", "a", True),
    ("a", "b", False),
    ((1, 2), [1, 2], True),  # JSON has no tuples
    ([1, [2, (3,)]], [1, [2, [3]]], True),
    ([1, 2], [1, 2, 3], False),
    ([1, 3], [1, 2], False),
    ({"a": [1, 2]}, {"a": [1, 2]}, True),
    ({"a": 1}, {"a": 1, "b": 2}, False),
    ({"a": 1, "b": 2}, {"a": 1}, False),
    ({1: 1}, {"1": 1}, False),  # JSON keys are strings
    ({"a": 1}, [["a", 1]], False),
    ("1", 1, False),
    (1 + 0j, 1, False),
    ([1], {"a": 1}, False),
    (WIDE, 5, False),
    (WIDE, WIDE, True),
    (1, (1,), False),  # an expected value JSON cannot hold
], ids=ident)
def test_json_values(got: Any, expected: Any, same: bool) -> None:
    ok, why = compare_value(got, expected, typed=False)
    assert ok is same and (why == "") is same


@pytest.mark.parametrize(("got", "expected", "compare", "same"), [
    (0.1 + 0.2, 0.3, FLOAT, True),
    (0.1 + 0.2, 0.3, None, False),
    (0.1 + 0.2, 0.3, TOKENS, False),  # a tolerance only in float mode
    ([1.0000001, {"x": 2.0}], [1, {"x": 2.0000001}], FLOAT, True),
    (1.1, 1, FLOAT, False),
    (float("inf"), float("inf"), FLOAT, True),
    (float("inf"), 1e308, FLOAT, False),
    (WIDE, 5, FLOAT, False),  # too large for a float: must not crash the judge
    (WIDE, 5.0, FLOAT, False),
    (WIDE, float("inf"), FLOAT, False),
    (10 ** 400 + 1, 10 ** 400, FLOAT, True),
    (10 ** 400 * 2, 10 ** 400, FLOAT, False),
    (True, 1.0, FLOAT, False),
], ids=ident)
def test_json_values_with_tolerance(got: Any, expected: Any, compare: Compare | None, same: bool) -> None:
    assert compare_value(got, expected, typed=False, compare=compare)[0] is same


@pytest.mark.parametrize(("got", "expected", "where"), [
    ([1, [2, 3]], [1, [2, 4]], "at [1][1]"),
    ({"a": {"b": 1}}, {"a": {"b": 2}}, "at ['a']['b']"),
    ([{"k": [True]}], [{"k": [False]}], "at [0]['k'][0]"),
])
def test_json_difference_names_where(got: Any, expected: Any, where: str) -> None:
    ok, why = compare_value(got, expected, typed=False)
    assert not ok and where in why


@pytest.mark.parametrize(("got", "expected", "fragment"), [
    ([1], [1, 2], "expected 2 item(s), got 1"),
    ({"b": 1}, {"a": 1}, "expected keys ['a'], got ['b']"),
    (5, [5], "expected a list"),
    ([5], {"a": 5}, "expected an object"),
    (WIDE, 5, "got <int of"),
], ids=ident)
def test_json_difference_messages(got: Any, expected: Any, fragment: str) -> None:
    assert fragment in compare_value(got, expected, typed=False)[1]


def test_wide_int_message_is_short() -> None:
    for typed in (True, False):
        ok, why = compare_value([WIDE, "x" * 500], [1], typed=typed)
        assert not ok and len(why) < 250


# --- relations of converted assertions ----------------------------------------------------


@pytest.mark.parametrize(("got", "relation", "expected", "argument", "same"), [
    (True, "is", True, None, True),
    (1, "is", True, None, False),
    (None, "is", None, None, True),
    (False, "is", None, None, False),
    ([1], "truthy", None, None, True),
    ([], "truthy", None, None, False),
    (WIDE, "truthy", None, None, True),  # a wide int is true, whatever its repr costs
    (0, "falsy", None, None, True),
    ("", "falsy", None, None, True),
    ("x", "falsy", None, None, False),
    (1.05, "abs_lt", 1.0, 0.1, True),
    (1.1, "abs_lt", 1.0, 0.1, False),
    (1.5, "abs_le", 1.0, 0.5, True),
    (1.5, "abs_lt", 1.0, 0.5, False),
    (2.0, "isclose", 2.0000000001, {}, True),
    (2.0, "isclose", 2.1, {}, False),
    (2.0, "isclose", 2.1, {"rel_tol": 0.1}, True),
    (2.0, "isclose", 2.1, None, False),
], ids=ident)
def test_relations(got: Any, relation: str, expected: Any, argument: Any, same: bool) -> None:
    ok, why = compare_relation(got, relation, expected, argument)
    assert ok is same and (why == "") is same


@pytest.mark.parametrize(("got", "relation", "expected", "argument", "error"), [
    ("text", "abs_lt", 1.0, 0.1, "TypeError"),
    (None, "abs_le", 1, 1, "TypeError"),
    ("x", "isclose", 1.0, {}, "TypeError"),
    (1.0, "isclose", 1.0, {"rel_tol": -1}, "ValueError"),
    (WIDE, "isclose", 1.0, {}, "OverflowError"),
    (1, "nearly", 1, None, "ValueError"),
], ids=ident)
def test_relations_that_raise_fail_naming_the_exception(got: Any, relation: str, expected: Any, argument: Any,
                                                        error: str) -> None:
    ok, why = compare_relation(got, relation, expected, argument)
    assert not ok and why.startswith(f"the assertion raised {error}")
