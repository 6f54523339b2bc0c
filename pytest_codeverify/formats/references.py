"""What datasets carry besides tests: reference solutions and limits written as text.

A reference solution is what ``--codeverify-calibrate`` runs to measure a problem's cost on
this machine (see :mod:`pytest_codeverify.calibration`). Each format keeps it elsewhere:
MBPP's ``code``, HumanEval's ``prompt`` + ``canonical_solution``, APPS/TACO's ``solutions``
(a JSON list of programs), CodeContests' ``solutions`` (``{"language": [...], "solution": [...]}``,
language 3 being Python 3), and the native format's ``reference``.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Where :func:`~pytest_codeverify.formats.join_problem` keeps a problem's own candidate fields
#: (MBPP's reference ``code``) that a sample's candidate replaced.
PROBLEM_FIELDS = "_codeverify_problem_fields"
#: CodeContests' language code of Python 3 solutions.
CODECONTESTS_PYTHON3 = 3

_SECONDS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|second|seconds|ms|millisecond|milliseconds)\s*$", re.I)
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(kb|kib|kilobytes?|mb|mib|megabytes?|m|gb|gib|gigabytes?)\s*$", re.I)


def reference_of(record: dict[str, Any], format: str) -> str | None:
    """The record's reference solution in its format's field, or ``None`` when it has none."""
    own = record.get("reference")
    if isinstance(own, str) and own.strip():
        return own
    fields = record.get(PROBLEM_FIELDS) or record
    if format == "mbpp":
        return _text(fields.get("code"))
    if format == "humaneval":
        prompt, body = record.get("prompt"), record.get("canonical_solution")
        return prompt + body if isinstance(prompt, str) and isinstance(body, str) else None
    if format == "apps":
        return _first_solution(fields.get("solutions"))
    if format == "codecontests":
        return _codecontests_solution(fields.get("solutions"))
    return None


def reference_language(record: dict[str, Any], format: str) -> str | None:
    """The language the reference of :func:`reference_of` is written in; ``None``: the record's own."""
    own = record.get("reference")
    if isinstance(own, str) and own.strip():
        return None
    return "python" if format in ("mbpp", "humaneval", "apps", "codecontests") else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _first_solution(value: Any) -> str | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, list):
        return next((item for item in value if _text(item)), None)
    return None


def _codecontests_solution(value: Any) -> str | None:
    if isinstance(value, list):  # some exports keep a plain list of programs
        return _first_solution(value)
    if not isinstance(value, dict):
        return None
    languages, programs = value.get("language"), value.get("solution")
    if not isinstance(languages, list) or not isinstance(programs, list):
        return None
    for language, program in zip(languages, programs, strict=False):
        if language == CODECONTESTS_PYTHON3 and _text(program):
            return str(program)
    return None


def seconds_text(value: Any) -> float | None:
    """A time limit written as text with its unit (TACO's ``"2 seconds"``, ``"1500 ms"``), in seconds;
    a bare number in a string is not read (``None``)."""
    if not isinstance(value, str):
        return None
    match = _SECONDS.match(value)
    if match is None:
        return None
    number = float(match.group(1))
    unit = match.group(2).lower()
    seconds = number / 1000 if unit.startswith("m") else number
    return seconds if seconds > 0 else None


def mebibytes_text(value: Any) -> int | None:
    """A memory limit written as text (TACO's ``"256 megabytes"``), in MiB."""
    if not isinstance(value, str):
        return None
    match = _MEMORY.match(value)
    if match is None:
        return None
    number = float(match.group(1))
    unit = match.group(2).lower()
    mib = number / 1024 if unit.startswith("k") else number * 1024 if unit.startswith("g") else number
    return max(1, int(mib)) if mib > 0 else None
