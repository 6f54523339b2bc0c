"""What every dataset reader shares: the reader interface, defaults, and record helpers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..cases import Case, CaseError, positive_number
from ..config import DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT
from ..extract import extract_code


@dataclass(frozen=True)
class Defaults:
    """Run-wide settings a record may leave out (command-line or ini options)."""

    time_limit: float = DEFAULT_TIME_LIMIT
    memory_limit: int = DEFAULT_MEMORY_LIMIT
    lenient_extraction: bool = False
    #: problems to join samples with (``--codeverify-problems``), keyed by ``(field, value)``
    problems: Mapping[tuple[str, str], dict[str, Any]] | None = field(default=None, hash=False, compare=False)


class Reader(Protocol):
    """A dataset format: recognises its records and turns one into cases."""

    name: str

    def matches(self, record: dict[str, Any]) -> bool:
        """Whether ``record`` has this format's distinguishing fields."""

    def read(self, record: dict[str, Any], line: int, defaults: Defaults) -> list[Case]:
        """The cases of one record (several where it holds several samples).

        Raises :class:`CaseError` naming the field at fault.
        """


def candidate_code(record: dict[str, Any], language: str, defaults: Defaults,
                   code_fields: tuple[str, ...] = ("code",),
                   response_fields: tuple[str, ...] = ("response",)) -> tuple[str | None, str | None, str | None]:
    """Find the candidate: ``(code, code_error, extracted)`` from exactly one code or response field."""
    present = [name for name in (*code_fields, *response_fields) if record.get(name) is not None]
    if len(present) != 1:
        names = " or ".join(repr(n) for n in (*code_fields, *response_fields))
        problem = "is missing" if not present else f"must be exactly one, got {', '.join(present)}"
        raise CaseError(f"the candidate ({names}) {problem}", field=present[0] if present else code_fields[0])
    name = present[0]
    value = record[name]
    if not isinstance(value, str):
        raise CaseError(f"must be a string, got {type(value).__name__}", field=name)
    if name in code_fields:
        return value, None, None
    found = extract_code(value, language, lenient=defaults.lenient_extraction)
    return found.code, found.error, found.code


def record_id(record: dict[str, Any], line: int, field: str = "id") -> str:
    value = record.get(field)
    if value is None:
        return str(line)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise CaseError(f"must be a string or an integer, got {type(value).__name__}", field=field)
    return str(value)


def candidate_from(value: Any, name: str, is_response: bool, language: str,
                   defaults: Defaults) -> tuple[str | None, str | None, str | None]:
    """``(code, code_error, extracted)`` for one candidate value: code as-is, a response extracted."""
    if not isinstance(value, str):
        raise CaseError(f"must be a string, got {type(value).__name__}", field=name)
    if not is_response:
        return value, None, None
    found = extract_code(value, language, lenient=defaults.lenient_extraction)
    return found.code, found.error, found.code


def one_field(record: dict[str, Any], names: tuple[str, ...]) -> str:
    """The one of ``names`` that ``record`` has (a :class:`CaseError` for none or several)."""
    present = [name for name in names if record.get(name) is not None]
    if len(present) != 1:
        listed = " or ".join(repr(n) for n in names)
        problem = "is missing" if not present else f"must be exactly one, got {', '.join(present)}"
        raise CaseError(f"the candidate ({listed}) {problem}", field=present[0] if present else names[0])
    return present[0]


def json_field(record: dict[str, Any], name: str, kinds: type | tuple[type, ...] = dict) -> Any:
    """A field holding JSON, either decoded already or as a JSON string."""
    value = record.get(name)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise CaseError(f"is not valid JSON: {exc}", field=name) from None
    if not isinstance(value, kinds):
        raise CaseError(f"has the wrong type {type(value).__name__}", field=name)
    return value


def json_lines_args(text_value: Any, field: str) -> tuple[Any, ...]:
    """LiveCodeBench's call-test input: one JSON value per non-blank line, each an argument."""
    if not isinstance(text_value, str):
        raise CaseError(f"must be a string, got {type(text_value).__name__}", field=field)
    try:
        return tuple(json.loads(line) for line in text_value.split("\n") if line.strip())
    except ValueError as exc:
        raise CaseError(f"an argument line is not JSON: {exc}", field=field) from None


def json_value(text_value: Any, field: str) -> Any:
    """LiveCodeBench's call-test output: one JSON value."""
    if not isinstance(text_value, str):
        return text_value
    try:
        return json.loads(text_value)
    except ValueError as exc:
        raise CaseError(f"the expected value is not JSON: {exc}", field=field) from None


def sample_ids(base: str, count: int) -> list[str]:
    """One id per sample: the base id alone for one sample, ``<base>#<k>`` for several."""
    return [base] if count == 1 else [f"{base}#{k}" for k in range(count)]


def limits(record: dict[str, Any], defaults: Defaults) -> dict[str, Any]:
    """``time_limit`` / ``memory_limit`` keyword arguments: a record's numeric limits, else the defaults."""
    time_limit = record.get("time_limit")
    memory_limit = record.get("memory_limit")
    return {
        "time_limit": positive_number(time_limit, "time_limit")
        if isinstance(time_limit, (int, float)) else defaults.time_limit,
        "memory_limit": memory_limit if isinstance(memory_limit, int) and not isinstance(memory_limit, bool)
        and memory_limit > 0 else defaults.memory_limit,
    }
