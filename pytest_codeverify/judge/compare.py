"""Comparing what a program produced with what was expected. Pure functions, no sandbox."""

from __future__ import annotations

import decimal
import math
import re
from fractions import Fraction
from typing import Any

from ..cases import Compare
from ..text import safe_repr, shorten


def compare_output(got: str, expected: str, compare: Compare) -> tuple[bool, str]:
    """Compare a program's stdout with the expected text; returns ``(same, reason)``."""
    if compare.mode == "exact":
        if got == expected:
            return True, ""
        return False, _first_difference(got, expected)
    if compare.mode == "lines":
        got_lines, want_lines = _lines(got), _lines(expected)
        for number, (a, b) in enumerate(zip(got_lines, want_lines, strict=False), start=1):
            if a != b:
                return False, f"line {number}: expected {shorten(b)!r}, got {shorten(a)!r}"
        if len(got_lines) != len(want_lines):
            return False, f"expected {len(want_lines)} line(s), got {len(got_lines)}"
        return True, ""
    got_tokens, want_tokens = got.split(), expected.split()
    for number, (a, b) in enumerate(zip(got_tokens, want_tokens, strict=False), start=1):
        if a == b:
            continue
        if compare.mode == "float" and _close(a, b, compare.tolerance or 0.0):
            continue
        return False, f"token {number}: expected {shorten(b)!r}, got {shorten(a)!r}"
    if len(got_tokens) != len(want_tokens):
        return False, f"expected {len(want_tokens)} token(s), got {len(got_tokens)}"
    return True, ""


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


#: A decimal number in ASCII digits (``\d`` alone would also take other scripts' digits, which
#: float() reads: "٣" is not the "3" a judge expects).
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)", re.IGNORECASE | re.ASCII)


def _close(a: str, b: str, tolerance: float) -> bool:
    if not (_NUMBER.fullmatch(a) and _NUMBER.fullmatch(b)):
        return False
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isfinite(x) and math.isfinite(y):
        return math.isclose(x, y, rel_tol=tolerance, abs_tol=tolerance)
    # An infinity, or a number too large for a float (which float() reads as infinity too):
    # compare the decimals themselves, so two different huge numbers never look equal.
    with decimal.localcontext(_WIDE):
        dx, dy = decimal.Decimal(a), decimal.Decimal(b)
        if dx.is_infinite() or dy.is_infinite():
            return dx == dy
        tol = decimal.Decimal(tolerance)
        return abs(dx - dy) <= max(tol * max(abs(dx), abs(dy)), tol)


#: Decimal arithmetic for numbers beyond float range: any exponent, no traps (an overflow
#: gives an infinity rather than an exception; Decimal never builds the number's digits).
_WIDE = decimal.Context(prec=50, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[])


def _numbers_close(got: int | float, want: int | float, tolerance: float) -> bool:
    """``math.isclose`` with ``tolerance``, also for ints too large for a float (exact, in rationals)."""
    try:
        return math.isclose(got, want, rel_tol=tolerance, abs_tol=tolerance)
    except OverflowError:  # an int past float range, which the candidate may return
        if any(isinstance(v, float) and not math.isfinite(v) for v in (got, want)):
            return False
        x, y, tol = Fraction(got), Fraction(want), Fraction(tolerance)
        return abs(x - y) <= max(tol * max(abs(x), abs(y)), tol)


def _first_difference(got: str, expected: str) -> str:
    for index, (a, b) in enumerate(zip(got, expected, strict=False)):
        if a != b:
            return f"first difference at character {index}: expected {shorten(expected[index:])!r}, " \
                   f"got {shorten(got[index:])!r}"
    return f"expected {len(expected)} characters, got {len(got)}"


def compare_value(got: Any, expected: Any, *, typed: bool, compare: Compare | None = None) -> tuple[bool, str]:
    """Compare a returned value with the expected one.

    ``typed``: both are Python values and Python's ``==`` decides, exactly as the assertion
    it came from would. Otherwise ``expected`` is JSON: the value is compared as JSON
    (tuples as lists), numbers by value but never a bool for a number, floats within the
    ``compare`` tolerance if one is set.
    """
    if typed:
        try:
            same = bool(got == expected)
        except Exception as exc:  # comparing built-in values can still raise (e.g. deep recursion)
            return False, f"comparison failed: {type(exc).__name__}"
        if same:
            return True, ""
        return False, f"expected {shorten(safe_repr(expected))}, got {shorten(safe_repr(got))}"
    tolerance = compare.tolerance if compare is not None and compare.mode == "float" else None
    problem = _json_difference(got, expected, tolerance, "")
    return (True, "") if problem is None else (False, problem)


def compare_relation(got: Any, relation: str, expected: Any, argument: Any = None) -> tuple[bool, str]:
    """Judge a converted assertion other than ``==`` exactly as Python's ``assert`` would.

    ``got`` is a decoded plain built-in value, so none of these operations can run the
    candidate's code; any exception here is what the original assertion would have raised.
    """
    try:
        if relation == "is":
            same = got is expected
            what = f"expected {safe_repr(expected)} (is), got {shorten(safe_repr(got))}"
        elif relation == "truthy":
            same, what = bool(got), f"expected a true value, got {shorten(safe_repr(got))}"
        elif relation == "falsy":
            same, what = not got, f"expected a false value, got {shorten(safe_repr(got))}"
        elif relation in ("abs_lt", "abs_le"):
            distance = abs(got - expected)
            same = bool(distance < argument) if relation == "abs_lt" else bool(distance <= argument)
            what = f"expected within {safe_repr(argument)} of {safe_repr(expected)}, got {shorten(safe_repr(got))}"
        elif relation == "isclose":
            same = math.isclose(got, expected, **(argument or {}))
            what = f"expected close to {safe_repr(expected)}, got {shorten(safe_repr(got))}"
        else:
            raise ValueError(f"unknown relation {relation!r}")
    except (TypeError, ValueError, OverflowError, ArithmeticError, RecursionError) as exc:
        return False, f"the assertion raised {type(exc).__name__}: {exc}"
    return (True, "") if same else (False, what)


def _json_difference(got: Any, want: Any, tolerance: float | None, where: str) -> str | None:
    at = f" at {where}" if where else ""
    if isinstance(want, bool) or want is None or isinstance(want, str):
        if type(got) is type(want) and got == want:
            return None
        return f"expected {shorten(safe_repr(want))}{at}, got {shorten(safe_repr(got))}"
    if isinstance(want, (int, float)):
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return f"expected {safe_repr(want)}{at}, got {shorten(safe_repr(got))}"
        if got == want or (tolerance is not None and _numbers_close(got, want, tolerance)):
            return None
        return f"expected {shorten(safe_repr(want))}{at}, got {shorten(safe_repr(got))}"
    if isinstance(want, list):
        if not isinstance(got, (list, tuple)):
            return f"expected a list{at}, got {shorten(safe_repr(got))}"
        if len(got) != len(want):
            return f"expected {len(want)} item(s){at}, got {len(got)}"
        for index, (g, w) in enumerate(zip(got, want, strict=False)):
            problem = _json_difference(g, w, tolerance, f"{where}[{index}]")
            if problem:
                return problem
        return None
    if isinstance(want, dict):
        if not isinstance(got, dict) or not all(isinstance(k, str) for k in got):
            return f"expected an object{at}, got {shorten(safe_repr(got))}"
        if set(got) != set(want):
            return f"expected keys {sorted(want)}{at}, got {sorted(got)}"
        for key in want:
            problem = _json_difference(got[key], want[key], tolerance, f"{where}[{key!r}]")
            if problem:
                return problem
        return None
    return f"cannot compare with expected value of type {type(want).__name__}"
