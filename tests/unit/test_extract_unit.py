"""Code extraction edge cases beyond tests/test_extract.py. Pure, no sandbox."""

from __future__ import annotations

import pytest

from pytest_codeverify.extract import NO_CODE, extract_code


@pytest.mark.parametrize(("response", "code"), [
    ("```Python\nx = 1\n```", "x = 1\n"),  # tags are case-insensitive
    ("```PY3\nx = 1\n```", "x = 1\n"),
    ("```python title=main.py\nx = 1\n```", "x = 1\n"),  # info string after the tag
    ("```js\nx\n```\n```cpp\ny\n```", "y\n"),  # no python block: the last block of any tag
    ("````\nx\n```\n````", "x\n```\n"),  # a shorter fence does not close a longer one
    ("~~~\na\n```\nb\n~~~", "a\n```\nb\n"),  # nor does the other fence character
    ("```python\nprint(1)\n``````", "print(1)\n"),  # a longer fence closes a shorter one
    ("```python\nx = '```'\n```", "x = '```'\n"),  # a closing fence stands alone on its line
    ("```python\n```", ""),
    ("<THINK>```python\nprint(0)\n```</THINK>\n```python\nprint(1)\n```", "print(1)\n"),
    ("reasoning ```python\nprint(0)\n```\n</THINK>\n```python\nprint(1)\n```", "print(1)\n"),
    ("<think>a</think>x<think>```python\nprint(0)\n```</think>\n```python\nprint(2)\n```", "print(2)\n"),
    ("\t```python\n\tx = 1\n\t```", "x = 1\n"),
    ("    ```python\n  x = 1\n    ```", "x = 1\n"),  # outdent by at most the fence's indentation
])
def test_extraction_edge_cases(response: str, code: str) -> None:
    assert extract_code(response).code == code


@pytest.mark.parametrize("response", [
    "```python\nprint(0)\n```\n</THINK>\nno code after the reasoning",  # closing tag in any case
    "```python\nprint(0)\n```</think>",
    "<think>unterminated ```python\nprint(0)\n```",
    "   \n\t\n",
])
def test_reasoning_only_has_no_code(response: str) -> None:
    found = extract_code(response)
    assert (found.code, found.error) == (None, NO_CODE)


@pytest.mark.parametrize(("response", "code"), [
    ("x = 1", "x = 1\n"),
    ("\n\nx = 1\n\n", "x = 1\n"),
    ("</think>x = 1", "x = 1\n"),
    ("```python\ny\n```", "y\n"),  # a block still wins in lenient mode
])
def test_lenient(response: str, code: str) -> None:
    assert extract_code(response, lenient=True).code == code


@pytest.mark.parametrize("response", ["", "  \n", "<think>only reasoning</think>"])
def test_lenient_without_text_is_still_no_code(response: str) -> None:
    assert extract_code(response, lenient=True).error == NO_CODE
