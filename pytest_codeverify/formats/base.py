"""What every dataset reader shares: the reader interface, defaults, and record helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..cases import DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT, Case, CaseError
from ..extract import extract_code


@dataclass(frozen=True)
class Defaults:
    """Run-wide settings a record may leave out (command-line or ini options)."""

    time_limit: float = DEFAULT_TIME_LIMIT
    memory_limit: int = DEFAULT_MEMORY_LIMIT
    lenient_extraction: bool = False


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
