"""The project's own JSONL format (see the README): code or response, tests, limits."""

from __future__ import annotations

from typing import Any

from ..cases import (
    AssertTest,
    CallTest,
    Case,
    CaseError,
    Compare,
    StdioTest,
    TestSpec,
    check_language,
    positive_int,
    positive_number,
    text,
)
from .base import Defaults, candidate_code, record_id

_TEST_KEYS = {
    "stdio": ({"input", "output"}, {"name", "time_limit", "outputs"}),
    "stdio ": ({"input", "outputs"}, {"name", "time_limit"}),  # several right answers, no preferred one
    "call": ({"expected"}, {"args", "kwargs", "name", "time_limit"}),
    "assert": ({"assert"}, {"name", "time_limit"}),
}
#: A test of a record with an ``interactor``: its input is the interactor's, an output optional.
_INTERACTIVE_KEYS = ({"input"}, {"name", "time_limit", "output"})


class NativeReader:
    """Records with a ``tests`` list of stdin/stdout, call, or assertion tests."""

    name = "native"

    def matches(self, record: dict[str, Any]) -> bool:
        return "tests" in record and isinstance(record.get("tests"), list)

    def read(self, record: dict[str, Any], line: int, defaults: Defaults) -> list[Case]:
        case_id = record_id(record, line)
        problem_id = record_id(record, line, "problem_id") if "problem_id" in record else case_id
        language = check_language(record.get("language", "python"))
        code, code_error, extracted = candidate_code(record, language, defaults)
        tests = record.get("tests")
        if not isinstance(tests, list) or not tests:
            raise CaseError("must be a non-empty list of tests", field="tests")
        interactive = record.get("interactor") is not None
        specs = tuple(_test(test, position, interactive) for position, test in enumerate(tests))
        entry_point = record.get("entry_point")
        if entry_point is not None and not (isinstance(entry_point, str) and entry_point.isidentifier()):
            raise CaseError(f"must be a function or method name, got {entry_point!r}", field="entry_point")
        if entry_point is None and any(isinstance(t, CallTest) for t in specs):
            raise CaseError("is required when a test calls a function ({\"args\": ..., \"expected\": ...})",
                            field="entry_point")
        names = [t.name for t in specs if t.name]
        if len(names) != len(set(names)):
            raise CaseError("test names must be unique within a record", field="tests")
        return [Case(
            id=case_id, problem_id=problem_id, tests=specs, code=code, code_error=code_error,
            language=language, entry_point=entry_point,
            time_limit=positive_number(record.get("time_limit", defaults.time_limit), "time_limit"),
            memory_limit=positive_int(record.get("memory_limit", defaults.memory_limit), "memory_limit"),
            compare=Compare.parse(record.get("compare")), line=line, format=self.name, extracted=extracted,
        )]


def _test(test: Any, position: int, interactive: bool = False) -> TestSpec:
    field = f"tests[{position}]"
    if not isinstance(test, dict):
        raise CaseError(f"must be an object, got {type(test).__name__}", field=field)
    keys = set(test)
    if interactive and "input" in keys and "outputs" not in keys:
        unknown = keys - _INTERACTIVE_KEYS[0] - _INTERACTIVE_KEYS[1]
        if unknown:
            raise CaseError(f"unknown key(s) {sorted(unknown)} for a test of an interactive problem "
                            "(input, and optionally output, name, time_limit)", field=field)
        limit = positive_number(test["time_limit"], f"{field}.time_limit") if "time_limit" in test else None
        output = text(test["output"], f"{field}.output") if "output" in test else ""
        return StdioTest(text(test["input"], f"{field}.input"), output,
                         name=text(test.get("name", ""), f"{field}.name"), time_limit=limit)
    for kind, (required, optional) in _TEST_KEYS.items():
        if required <= keys:
            unknown = keys - required - optional
            if unknown:
                raise CaseError(f"unknown key(s) {sorted(unknown)} for a {kind.strip()} test", field=field)
            break
    else:
        raise CaseError('must have "input" and "output" (or "outputs"), or "expected" (with "args"/"kwargs"), '
                        f'or "assert"; got keys {sorted(keys)}', field=field)
    name = text(test.get("name", ""), f"{field}.name")
    limit = positive_number(test["time_limit"], f"{field}.time_limit") if "time_limit" in test else None
    if kind.strip() == "stdio":
        accepted = test.get("outputs", [])
        if not isinstance(accepted, list) or not all(isinstance(o, str) for o in accepted) or \
                ("output" not in test and not accepted):
            raise CaseError("must be a non-empty list of accepted outputs (strings)", field=f"{field}.outputs")
        output = text(test["output"], f"{field}.output") if "output" in test else accepted[0]
        return StdioTest(text(test["input"], f"{field}.input"), output, name=name, time_limit=limit,
                         accepted=tuple(o for o in accepted if o != output))
    if kind == "call":
        args = test.get("args", [])
        kwargs = test.get("kwargs", {})
        if not isinstance(args, list):
            raise CaseError("must be a list", field=f"{field}.args")
        if not isinstance(kwargs, dict):
            raise CaseError("must be an object", field=f"{field}.kwargs")
        return CallTest(tuple(args), dict(kwargs), test["expected"], name=name, time_limit=limit)
    return AssertTest(text(test["assert"], f"{field}.assert"), name=name, time_limit=limit)
