"""Code extraction from model responses."""

from __future__ import annotations

import pytest

from pytest_codeverify.extract import NO_CODE, extract_code


@pytest.mark.parametrize(("response", "code"), [
    ("```python\nprint(1)\n```", "print(1)\n"),
    ("text\n```py\nprint(1)\n```\nmore", "print(1)\n"),
    ("```python3\nprint(1)\n```", "print(1)\n"),
    ("~~~python\nprint(1)\n~~~\n", "print(1)\n"),
    ("```python\r\nprint(1)\r\n```\r\n", "print(1)\n"),
    ("```\nprint(0)\n```\nthen\n```python\nprint(1)\n```\nand\n```\nprint(2)\n```", "print(1)\n"),
    ("```python\nprint(0)\n```\n```python\nprint(1)\n```", "print(1)\n"),
    ("```text\nsample\n```\n```\nprint(2)\n```", "print(2)\n"),
    ("````python\ns = '''\n```\n'''\nprint(s)\n````", "s = '''\n```\n'''\nprint(s)\n"),
    ("Here:\n```python\nprint(1)\n", "print(1)\n"),
    ("<think>maybe ```python\nprint(0)\n``` no</think>\n```python\nprint(1)\n```", "print(1)\n"),
    ("I considered ```python\nprint(0)\n```</think>\n```python\nprint(1)\n```", "print(1)\n"),
    ("  ```python\n  print(1)\n  if 1:\n      pass\n  ```", "print(1)\nif 1:\n    pass\n"),
])
def test_fenced_code_is_extracted(response: str, code: str) -> None:
    assert extract_code(response).code == code


@pytest.mark.parametrize("response", ["just add them", "<think>```python\nprint(1)\n```", ""])
def test_no_block_is_an_error_in_strict_mode(response: str) -> None:
    found = extract_code(response)
    assert found.code is None and found.error == NO_CODE


def test_lenient_mode_takes_unfenced_text() -> None:
    assert extract_code("print(1)", lenient=True).code == "print(1)\n"
    assert extract_code("<think>hmm</think>print(1)", lenient=True).code == "print(1)\n"
    assert extract_code("", lenient=True).code is None
