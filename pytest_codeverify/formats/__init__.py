"""Dataset readers and the JSONL loader: one reader per format, chosen by name or detected.

:func:`load_file` turns every non-blank line of a JSONL file (gzipped or not) into one
:class:`Record`: its cases, or the error that kept it from having any. Nothing is dropped.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..cases import Case, CaseError, StdioTest
from ..judge.checkers import parse_checker
from ..judge.interactors import parse_interactor
from .base import Defaults, Reader
from .contests import AppsReader, CodeContestsReader
from .humaneval import HumanEvalReader, MbppReader
from .livecodebench import LiveCodeBenchReader
from .native import NativeReader
from .nemo_gym import NemoGymReader, prompt_text
from .references import PROBLEM_FIELDS, reference_language, reference_of

READERS: dict[str, Reader] = {reader.name: reader for reader in (
    NativeReader(), NemoGymReader(), LiveCodeBenchReader(), HumanEvalReader(), MbppReader(), AppsReader(),
    CodeContestsReader())}

#: Fields that key a sample to its problem (``--codeverify-problems``), tried in this order;
#: NeMo Gym rollouts, which have none, are matched by their prompt text.
KEY_FIELDS = ("task_id", "problem_id", "question_id", "id")
PROMPT_KEY = "prompt text"
#: A problem's own candidate (MBPP's reference ``code``) gives way to the sample's.
CANDIDATE_FIELDS = ("code", "completion", "response", "solutions", "code_list")

__all__ = ["READERS", "Defaults", "Reader", "Record", "detect", "given_id", "load_file", "load_problems",
           "with_extras"]


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


def _keys(record: dict[str, Any]) -> list[tuple[str, str]]:
    keys = [(name, str(record[name])) for name in KEY_FIELDS if isinstance(record.get(name), (str, int))]
    prompt = prompt_text(record)
    if prompt is not None:
        keys.append((PROMPT_KEY, prompt))
    return keys


def load_problems(path: str | Path) -> dict[tuple[str, str], dict[str, Any]]:
    """A problems file (JSONL, gzipped or not) indexed by each of its key fields."""
    problems: dict[tuple[str, str], dict[str, Any]] = {}
    for _, record in _objects(Path(path), str(path), "the problems file"):
        if isinstance(record, CaseError):
            raise record
        for key in _keys(record):
            problems.setdefault(key, record)
    return problems


def join_problem(sample: dict[str, Any], problems: Mapping[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    """The sample's fields over its problem's; a :class:`CaseError` when it has no problem."""
    keys = _keys(sample)
    if not keys:
        raise CaseError(f"has none of the key fields {', '.join(KEY_FIELDS)} (nor a prompt) "
                        "to find its problem by", field=KEY_FIELDS[0])
    for key in keys:
        problem = problems.get(key)
        if problem is not None:
            if any(sample.get(name) is not None for name in CANDIDATE_FIELDS):
                # The problem's own program (MBPP's reference ``code``) stays reachable as its
                # reference solution, never as the candidate.
                own = {k: v for k, v in problem.items() if k in CANDIDATE_FIELDS}
                problem = {k: v for k, v in problem.items() if k not in CANDIDATE_FIELDS}
                problem[PROBLEM_FIELDS] = own
            return {**problem, **sample}
    name, value = keys[0]
    shown = value if len(value) <= 60 else value[:57] + "..."
    raise CaseError(f"no problem in the problems file has {name} {shown!r}", field=name)


def _objects(path: Path, shown: str, what: str = "") -> Iterator[tuple[int, dict[str, Any] | CaseError]]:
    """``(line number, JSON object or the error that line is)`` for each non-blank line.

    Streams: memory stays bounded whatever the file's size. A line that is not UTF-8 is an
    error of that line alone; a file that breaks off (a truncated gzip) ends with an error line.
    """
    label = f"cannot read {what}" if what else "cannot read"
    try:
        handle = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    except OSError as exc:
        raise CaseError(f"{label}: {exc}", path=shown) from exc
    number = 0
    with handle:
        try:
            for number, data in enumerate(handle, start=1):
                if not data.strip():
                    continue
                yield number, _object(data, shown, number)
        except (OSError, EOFError) as exc:
            if number == 0:
                raise CaseError(f"{label}: {exc}", path=shown) from exc
            yield number + 1, CaseError(f"{label} from this line on: {exc}", path=shown, line=number + 1)


def _object(data: bytes, shown: str, number: int) -> dict[str, Any] | CaseError:
    try:
        record = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return CaseError(f"not UTF-8 text: {exc}", path=shown, line=number)
    except ValueError as exc:
        return CaseError(f"not valid JSON: {exc}", path=shown, line=number)
    if not isinstance(record, dict):
        return CaseError(f"must be a JSON object, got {type(record).__name__}", path=shown, line=number)
    return record


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
    seen: dict[str, int] = {}
    for number, record in _objects(Path(path), shown):
        if isinstance(record, CaseError):
            yield Record(shown, number, str(number), error=record)
            continue
        try:
            if defaults.problems is not None:
                record = join_problem(record, defaults.problems)
            if reader is None:
                reader = detect(record)
            cases = with_extras(reader.read(record, number, defaults), record, reader.name)
        except CaseError as exc:
            yield Record(shown, number, given_id(record) or str(number), error=exc.located(shown, number),
                         format=reader.name if reader else "")
            continue
        if reader.name != "native":
            # Several samples of one problem on separate lines share its id: number them
            # (the native format keeps duplicate ids an error, its ids are the user's own).
            cases = [_unique(case, seen) for case in cases]
        placed = tuple(_place(case, shown, number, index, defaults.time_scale) for index, case in enumerate(cases))
        yield Record(shown, number, placed[0].id if len(placed) == 1 else str(number), cases=placed, format=reader.name)


def _unique(case: Case, seen: dict[str, int]) -> Case:
    count = seen.get(case.id, 0)
    seen[case.id] = count + 1
    return case if count == 0 else replace(case, id=f"{case.id}#{count}")


def _place(case: Case, path: str, line: int, index: int, time_scale: float) -> Case:
    return replace(case, path=path, line=line, index=index, time_scale=time_scale)


def with_extras(cases: list[Case], record: dict[str, Any], format: str) -> list[Case]:
    """Cases with what any format's record may carry besides its tests: a reference solution
    (for calibration) and a ``checker``. A :class:`CaseError` for a bad checker."""
    reference = reference_of(record, format)
    language = reference_language(record, format)
    checker = parse_checker(record)
    if checker is not None and any(not isinstance(test, StdioTest) for case in cases for test in case.tests):
        raise CaseError("a checker judges stdin/stdout tests only; this record has other kinds", field="checker")
    interactor = parse_interactor(record)
    if interactor is not None:
        if any(not isinstance(test, StdioTest) for case in cases for test in case.tests):
            raise CaseError("an interactor talks to whole programs: every test must be a stdin test "
                            "({\"input\": ...})", field="interactor")
    # A reference runs in its own language only: a Python reference does not calibrate a C++ case.
    return [replace(case, reference=case.reference or (reference if language in (None, case.language) else None),
                    checker=checker or case.checker, interactor=interactor or case.interactor) for case in cases]


def given_id(record: Any) -> str | None:
    """A record's own ``id`` when it is a usable one (a string or an integer), else ``None``."""
    value = record.get("id") if isinstance(record, dict) else None
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
