"""Code extraction from a model's raw response."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .languages import fence_aliases

_THINK = re.compile(r"<think>.*?(</think>|\Z)", re.DOTALL | re.IGNORECASE)
_THINK_END = re.compile(r"</think>", re.IGNORECASE)
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*\n", re.MULTILINE)

NO_CODE = "no code block found in the response"


@dataclass(frozen=True)
class Extraction:
    """The code taken from a response, or why there is none."""

    code: str | None
    error: str | None = None


def extract_code(response: str, language: str = "python", lenient: bool = False) -> Extraction:
    """Take the program out of a model's answer.

    Reasoning in ``<think>...</think>`` is dropped (also when only the closing tag is there, or
    the opening one is never closed). The last fenced block tagged with ``language`` (or an
    alias: ``cpp`` also takes ``c++`` and ``cc``) wins, else the last fenced block of any tag;
    an unterminated final fence runs to the end of the text. Without any fence the text is used as-is only when
    ``lenient``; otherwise the result carries :data:`NO_CODE`.
    """
    body = _THINK.sub("", response.replace("\r\n", "\n"))
    after = _THINK_END.split(body)
    if len(after) > 1:  # the opening tag was part of the prompt template
        body = after[-1]
    blocks = _fenced_blocks(body)
    wanted = fence_aliases().get(language, {language})
    tagged = [code for tag, code in blocks if tag.lower() in wanted]
    if tagged:
        return Extraction(tagged[-1])
    if blocks:
        return Extraction(blocks[-1][1])
    if lenient and body.strip():
        return Extraction(body.strip("\n") + "\n")
    return Extraction(None, NO_CODE)


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    blocks: list[tuple[str, str]] = []
    position = 0
    while True:
        opening = _FENCE.search(text, position)
        if opening is None:
            return blocks
        fence, tag = opening.group(1), opening.group(2)
        indent = len(opening.group(0)) - len(opening.group(0).lstrip(" \t"))
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
        end = closing.search(text, opening.end())
        if end is None:
            blocks.append((tag, _outdent(text[opening.end():], indent)))
            return blocks
        blocks.append((tag, _outdent(text[opening.end():end.start()], indent)))
        position = end.end()


def _outdent(code: str, indent: int) -> str:
    """Remove up to the opening fence's indentation from each line, as Markdown does."""
    if not indent:
        return code
    return re.sub(rf"(?m)^[ \t]{{1,{indent}}}", "", code)
