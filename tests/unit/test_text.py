"""Making untrusted text safe to show (text). Pure, no sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_codeverify.text import encodable, printable, safe_repr, shorten


@pytest.mark.parametrize(("raw", "shown"), [
    ("plain", "plain"),
    ("a\nb\tc", "a\nb\tc"),  # newlines and tabs kept
    ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),  # an ANSI sequence made inert
    ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
    ("a\rb", "a\\x0db"),  # a carriage return could overwrite what the line showed
    ("\x00\x08\x0b\x0c\x7f", "\\x00\\x08\\x0b\\x0c\\x7f"),
    ("\x9b2J", "\\x9b2J"),  # a C1 control (CSI)
    ("x\ud800y", "x\\ud800y"),  # a lone surrogate
    ("\udfff\x1b", "\\udfff\\x1b"),
    ("ünïcödé ✓ 漢字", "ünïcödé ✓ 漢字"),
    ("", ""),
])
def test_printable(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    printable(raw).encode("utf-8")  # always writable


@pytest.mark.parametrize(("raw", "shown"), [
    ("ok ✓", "ok ✓"),
    ("\ud800", "\\ud800"),
    ("a\udc80b\ud83d", "a\\udc80b\\ud83d"),
    ("\x1b", "\x1b"),  # encodable only: control characters stay
])
def test_encodable(raw: str, shown: str) -> None:
    assert encodable(raw) == shown
    encodable(raw).encode("utf-8")


@pytest.mark.parametrize(("raw", "limit", "shown"), [
    ("abc", 80, "abc"),
    ("x" * 80, 80, "x" * 80),
    ("x" * 81, 80, "x" * 77 + "..."),
    ("abcdef", 5, "ab..."),
    ("abcdef", 3, "..."),
    ("abcdef", 2, "..."),  # the ellipsis alone, never more of the text
    ("", 5, ""),
])
def test_shorten(raw: str, limit: int, shown: str) -> None:
    assert shorten(raw, limit) == shown
    assert len(shorten(raw, limit)) <= max(limit, 3)


@pytest.mark.parametrize(("value", "shown"), [
    (5, "5"),
    ("x", "'x'"),
    ([1, (2, None)], "[1, (2, None)]"),
    (10 ** 5000, f"<int of {(10 ** 5000).bit_length()} bits>"),
], ids=["int", "str", "nested", "wide-int"])
def test_safe_repr(value: Any, shown: str) -> None:
    assert safe_repr(value) == shown


def test_safe_repr_of_containers_holding_a_wide_int() -> None:
    shown = safe_repr({"k": [1, 10 ** 5000, "s"]})
    assert shown.startswith("{'k': [1, <int of ") and shown.endswith("bits>, 's']}")
