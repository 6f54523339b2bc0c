"""Validate dataset files without running anything: every problem as ``file:line: field: message``
with a hint (the format a record most likely meant, a test without an output, mixed test kinds,
a checker program's language or the testlib.h it includes but does not carry).

``codeverify check`` prints these. Reading goes through the same loader the runs use
(:func:`~pytest_codeverify.formats.load_file`), so a file that checks clean is read the same way
by ``pytest --codeverify``; the hints look at the raw records for what a reader cannot say.
"""

from __future__ import annotations

import difflib
import gzip
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import languages
from .cases import CaseError, StdioTest
from .formats import CANDIDATE_FIELDS, KEY_FIELDS, READERS, Defaults, load_file
from .judge.checkers import CHECKER_LANGUAGES, Checker

#: Fields that tell each format apart (what a user most likely meant to write).
SIGNATURES: dict[str, tuple[str, ...]] = {
    "native": ("tests", "code", "response", "entry_point", "time_limit", "memory_limit", "compare", "checker",
               "interactor"),
    "nemo-gym": ("responses_create_params", "verifier_metadata", "response"),
    "livecodebench": ("public_test_cases", "private_test_cases", "question_id", "metadata", "code_list"),
    "humaneval": ("task_id", "prompt", "canonical_solution", "test", "entry_point", "completion"),
    "mbpp": ("task_id", "text", "code", "test_list", "test_setup_code"),
    "apps": ("input_output", "solutions", "problem_id", "question"),
    "codecontests": ("public_tests", "private_tests", "generated_tests", "name", "solutions", "time_limit"),
}
ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Problem:
    """One problem found in a dataset file."""

    path: str
    line: int
    field: str
    message: str
    hint: str = ""
    severity: str = ERROR

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:" if self.line else f"{self.path}:"
        field = f" {self.field}:" if self.field else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where}{field} {self.severity}: {self.message}{hint}"


@dataclass(frozen=True)
class FileReport:
    """What checking one file found."""

    path: str
    records: int
    formats: Counter[str]
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> int:
        return sum(p.severity == ERROR for p in self.problems)

    def summary(self) -> str:
        detected = ", ".join(f"{name} ({count})" for name, count in self.formats.most_common()) or "none"
        warnings = len(self.problems) - self.errors
        return (f"{self.path}: {self.records} record(s), format {detected}: {self.errors} error(s), "
                f"{warnings} warning(s)")


def likely_format(record: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The format whose fields ``record`` resembles most, and the fields it has misspelled:
    ``["'test' for 'tests'", ...]``."""
    keys = [str(key) for key in record]
    best, best_score, best_near = "native", -1.0, []
    for name, fields in SIGNATURES.items():
        exact = sum(field in keys for field in fields)
        near = []
        for field in fields:
            if field in keys:
                continue
            close = difflib.get_close_matches(field, [k for k in keys if k not in fields], n=1, cutoff=0.75)
            if close:
                near.append(f"{close[0]!r} for {field!r}")
        score = exact + 0.5 * len(near)
        if score > best_score:
            best, best_score, best_near = name, score, near
    return best, best_near


def _raw_records(path: Path) -> Iterator[tuple[int, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except ValueError:
                    yield number, None


def _hint(error: CaseError, record: Any, file_format: str | None) -> str:
    if not isinstance(record, dict):
        return "each line must be one JSON object (a JSONL file, not a JSON array)"
    message = error.message
    if file_format and record and not READERS[file_format].matches(record):
        others = [name for name, reader in READERS.items() if reader.matches(record)]
        this = f"this record looks like {others[0]}, but " if others else ""
        return f"{this}the file's first record set its format to {file_format}; one file holds one format"
    if "matches no known format" in message:
        if set(record) <= {*KEY_FIELDS, *CANDIDATE_FIELDS, "id"} and set(record) & set(CANDIDATE_FIELDS):
            return "a samples file (ids and answers only)? check it with --problems FILE, its problems file"
        name, near = likely_format(record)
        return f"it looks most like {name}" + (f"; misspelled: {', '.join(near)}" if near else
                                               f"; {name} records have {', '.join(SIGNATURES[name][:3])}")
    if "matches several formats" in message:
        return "pass --format to say which one"
    if error.field.startswith("tests[") and 'must have "input"' in message:
        keys = set(record["tests"][int(error.field[6:].split("]")[0])]) if _indexable(record, error.field) else set()
        if "input" in keys and not keys & {"output", "outputs"}:
            return ("a stdin test with no output: add \"output\" (or \"outputs\", or a record \"checker\"; "
                    "a test of an interactive problem needs only \"input\" when the record has an \"interactor\")")
        if keys & {"args", "kwargs"} and "expected" not in keys:
            return "a call test with no expected value: add \"expected\""
        return "a test is {\"input\", \"output\"}, {\"args\", \"expected\"} or {\"assert\"}"
    if error.field == "checker.language":
        return _language_hint(record)
    if ("candidate" in message or "answer" in message) and "missing" in message:
        return ("a problems file? give it as --problems (pytest: --codeverify-problems) and check the samples "
                "file against it")
    return ""


def _language_hint(record: dict[str, Any]) -> str:
    """The supported language a checker's unsupported ``language`` most likely meant."""
    checker = record.get("checker")
    given = str(checker.get("language", "")).lower() if isinstance(checker, dict) else ""
    spellings = {alias: name for name, aliases in languages.fence_aliases().items() for alias in aliases}
    close = difflib.get_close_matches(given, list(spellings), n=1, cutoff=0.6)
    meant = f"did you mean {spellings[close[0]]!r}? " if close else ""
    return f"{meant}a checker program may be written in {', '.join(CHECKER_LANGUAGES)}"


#: A C/C++ source's quoted includes (``#include "testlib.h"``): files the checker must carry.
_QUOTED_INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)
_C_LIKE = re.compile(r"^\s*#\s*include\s*[<\"]", re.MULTILINE)


def _checker_problems(path: str, line: int, record: Any, checker: Checker | None) -> Iterator[Problem]:
    """A checker program that will not run as written: a C/C++ checker read as Python (the
    default language), or one including a header its ``files`` do not carry."""
    given = record.get("checker") if isinstance(record, dict) else None
    if checker is None or checker.form != "program" or not isinstance(given, dict):
        return
    if checker.language == "python" and "language" not in given and _C_LIKE.search(checker.source):
        yield Problem(path, line, "checker.language", "the checker looks like C/C++ but names no language, so "
                      "it would run as Python", 'add "language": "cpp" (or "c")')
        return
    if checker.language in ("c", "cpp"):
        for header in dict.fromkeys(_QUOTED_INCLUDE.findall(checker.source)):
            if header not in checker.files:
                yield Problem(path, line, "checker.files", f'the checker includes "{header}" but does not carry it',
                              f'add "files": {{"{header}": <its text>}} (Polygon packages ship testlib.h beside '
                              "their checkers); otherwise it does not compile and every test is SE",
                              ERROR if header == "testlib.h" else WARNING)


def _indexable(record: dict[str, Any], field: str) -> bool:
    try:
        position = int(field[6:].split("]")[0])
        return isinstance(record.get("tests"), list) and isinstance(record["tests"][position], dict)
    except (ValueError, IndexError):
        return False


def _warnings(path: str, line: int, record: Any, case_tests: list[Any]) -> Iterator[Problem]:
    """Things a run accepts but a dataset author likely did not mean."""
    kinds = Counter(type(test).__name__ for test in case_tests)
    # Call and assertion tests both test functions (converted assertions mix them): only a mix
    # with stdin/stdout tests, which run the program as a whole, is suspicious.
    if "StdioTest" in kinds and len(kinds) > 1:
        listed = ", ".join(f"{count} {name.removesuffix('Test').lower()}" for name, count in kinds.items())
        yield Problem(path, line, "tests", f"mixes test kinds ({listed})",
                      "usually a mistake: a program is judged by its output or by its functions, rarely both",
                      WARNING)
    for position, test in enumerate(case_tests):
        if isinstance(test, StdioTest) and not test.output.strip() and not test.accepted and \
                not (isinstance(record, dict) and (record.get("checker") or record.get("interactor"))):
            yield Problem(path, line, f"tests[{position}].output", "the expected output is empty",
                          "any program printing nothing passes it", WARNING)
    if isinstance(record, dict) and isinstance(record.get("tests"), list):
        for position, test in enumerate(record["tests"]):
            if isinstance(test, dict) and "output" in test and "outputs" in test and test["output"] not in \
                    (test["outputs"] or []):
                yield Problem(path, line, f"tests[{position}].outputs", "does not list \"output\"",
                              "both are accepted; list every right answer in \"outputs\"", WARNING)


def check_file(path: str | Path, format: str = "auto", defaults: Defaults | None = None) -> FileReport:
    """Every problem in one dataset file; nothing is run."""
    shown = str(path)
    file = Path(path)
    try:
        raw = dict(_raw_records(file))
        records = list(load_file(file, format, defaults or Defaults(), display_path=shown))
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        return FileReport(shown, 0, Counter(), (Problem(shown, 0, "", f"cannot read: {exc}"),))
    except CaseError as exc:
        return FileReport(shown, 0, Counter(), (Problem(shown, exc.line, exc.field, exc.message),))
    formats: Counter[str] = Counter(r.format for r in records if r.format and r.error is None)
    file_format = next((r.format for r in records if r.format), None)
    problems: list[Problem] = []
    for record in records:
        data = raw.get(record.line)
        if record.error is not None:
            error = record.error
            problems.append(Problem(shown, record.line, error.field, error.message, _hint(error, data, file_format)))
            continue
        for case in record.cases[:1]:
            problems.extend(_warnings(shown, record.line, data, list(case.tests)))
            problems.extend(_checker_problems(shown, record.line, data, case.checker))
    if not records:
        problems.append(Problem(shown, 0, "", "the file holds no records", "", WARNING))
    return FileReport(shown, len(records), formats, tuple(problems))
