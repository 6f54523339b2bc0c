"""Making untrusted text (a candidate's output, names from a dataset) inert in an HTML page.

Everything a rewards file holds may come from the candidate: it is cleaned and escaped before
it reaches the page, never placed inside a ``<script>``, and cut to a readable length.
"""

from __future__ import annotations

import html
import re

#: Characters of one field shown in a report (stderr keeps its end).
SHOW_LIMIT = 4096

# CSI sequences (colours, cursor moves), OSC sequences (titles, hyperlinks) and other escapes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
# Control characters other than tab and newline, C1 controls, lone surrogates, and the
# invisible direction overrides that can make shown text read differently from what it is.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """``text`` without terminal escapes; other control characters and lone surrogates become U+FFFD."""
    return _INVISIBLE.sub("\ufffd", _ANSI.sub("", text.replace("\r\n", "\n")))


def cut(text: str, limit: int = SHOW_LIMIT, *, keep_end: bool = False) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    if keep_end:
        return f"[... {len(text) - limit} characters not shown]\n" + text[-limit:]
    return text[:limit] + f"\n[... {len(text) - limit} characters not shown]"


def esc(text: object, limit: int | None = None, *, keep_end: bool = False) -> str:
    """``text`` cleaned, optionally cut, and escaped for element content and quoted attributes."""
    shown = clean(str(text))
    if limit is not None:
        shown = cut(shown, limit, keep_end=keep_end)
    return html.escape(shown, quote=True)
