"""Dataset readers and the JSONL loader: one reader per format, chosen by name or detected.

:func:`load_file` turns every non-blank line of a JSONL file (gzipped or not) into one
:class:`Record`: its cases, or the error that kept it from having any. Nothing is dropped.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..cases import Case, CaseError
from .base import Defaults, Reader
from .native import NativeReader

READERS: dict[str, Reader] = {reader.name: reader for reader in (NativeReader(),)}

__all__ = ["READERS", "Defaults", "Reader", "Record", "detect", "load_file"]


@dataclass(frozen=True)
class Record:
    """One input line: the cases it yields, or the error that stopped it."""

    path: str
    line: int
    id: str
    cases: tuple[Case, ...] = ()
    error: CaseError | None = None
    format: str = ""


def detect(record: dict[str, Any]) -> Reader:
    """The one reader whose fields ``record`` has; a :class:`CaseError` if none or several."""
    found = [reader for reader in READERS.values() if reader.matches(record)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise CaseError(f"matches no known format (known: {', '.join(READERS)}); "
                        f"fields present: {sorted(record)[:12]}")
    raise CaseError(f"matches several formats ({', '.join(r.name for r in found)}): "
                    "choose one with --codeverify-format")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        yield from enumerate(handle, start=1)


def load_file(path: str | Path, format: str = "auto", defaults: Defaults | None = None,
              display_path: str | None = None) -> Iterator[Record]:
    """Read a JSONL file into records, one per non-blank line, in order.

    ``format`` is a reader name or ``auto`` (detected on the first record that parses, then
    held for the whole file, so one file never mixes formats).
    """
    defaults = defaults or Defaults()
    shown = display_path or str(path)
    reader = None if format == "auto" else READERS.get(format)
    if format != "auto" and reader is None:
        raise CaseError(f"unknown format {format!r} (known: auto, {', '.join(READERS)})")
    try:
        lines = list(_lines(Path(path)))
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise CaseError(f"cannot read: {exc}", path=shown) from exc
    for number, raw in lines:
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError as exc:
            yield Record(shown, number, str(number), error=CaseError(f"not valid JSON: {exc}", path=shown, line=number))
            continue
        if not isinstance(record, dict):
            problem = f"must be a JSON object, got {type(record).__name__}"
            yield Record(shown, number, str(number), error=CaseError(problem, path=shown, line=number))
            continue
        try:
            if reader is None:
                reader = detect(record)
            cases = reader.read(record, number, defaults)
        except CaseError as exc:
            yield Record(shown, number, _safe_id(record, number), error=exc.located(shown, number),
                         format=reader.name if reader else "")
            continue
        placed = tuple(_place(case, shown, number, index) for index, case in enumerate(cases))
        yield Record(shown, number, placed[0].id if len(placed) == 1 else str(number), cases=placed, format=reader.name)


def _place(case: Case, path: str, line: int, index: int) -> Case:
    return replace(case, path=path, line=line, index=index)


def _safe_id(record: dict[str, Any], line: int) -> str:
    value = record.get("id")
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else str(line)
