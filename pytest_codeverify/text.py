"""Making untrusted text safe to show: shortened, printable, encodable. Pure functions."""

from __future__ import annotations

import re

# C0 and C1 control characters (but newline and tab) and DEL: an ANSI escape sequence
# starts with one, so escaping them makes any sequence inert.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


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
