"""Making untrusted text safe to show: shortened, printable, encodable. Pure functions."""

from __future__ import annotations

import re
import reprlib
from typing import Any

# C0 and C1 control characters (but newline and tab) and DEL: an ANSI escape sequence
# starts with one, so escaping them makes any sequence inert.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut (never shorter than the
    three-dot ellipsis itself)."""
    return text if len(text) <= limit else text[:max(limit - 3, 0)] + "..."


def encodable(text: str) -> str:
    """``text`` with lone surrogates (which no UTF-8 writer accepts) written as ``\\udXXX``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def printable(text: str) -> str:
    """``text`` safe for a terminal: control characters and escape sequences shown as ``\\xNN``,
    lone surrogates as ``\\udXXX``; newlines and tabs kept."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", encodable(text))


class _WideIntRepr(reprlib.Repr):
    """Python's repr, except that an int past the int-to-str digit limit is named, not written."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = self.maxtuple = self.maxlist = self.maxarray = self.maxdict = 12
        self.maxset = self.maxfrozenset = self.maxdeque = 12
        self.maxstring = self.maxlong = self.maxother = 200

    def repr_int(self, x: int, level: int) -> str:
        try:
            return repr(x)
        except ValueError:  # past sys.get_int_max_str_digits()
            return f"<int of {x.bit_length()} bits>"


_wide_int_repr = _WideIntRepr()


def safe_repr(value: Any) -> str:
    """``repr(value)``, also for values holding an int too wide for ``str()`` (a returned
    5,000-digit int must not crash the message that reports it)."""
    try:
        return repr(value)
    except ValueError:
        return _wide_int_repr.repr(value)
