"""Competitive-programming datasets: APPS / TACO (``input_output``) and CodeContests
(``public_tests`` / ``private_tests`` / ``generated_tests``)."""

from __future__ import annotations

from typing import Any

from ..cases import LANGUAGES, CallTest, Case, CaseError, StdioTest, TestSpec, check_language, positive_number, text
from ..languages import CODECONTESTS_CODES
from .base import Defaults, candidate_from, json_field, limits, one_field, record_id, sample_ids


def _stdio_text(value: Any, field: str) -> str:
    """APPS stores an input or output as a string, or (rarely) as a list of lines."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value) + "\n"
    raise CaseError(f"must be a string, got {type(value).__name__}", field=field)


def _samples(record: dict[str, Any], base: str, defaults: Defaults, language: str,
             fields: tuple[str, ...]) -> list[tuple[str, str | None, str | None, str | None]]:
    """``(id, code, error, extracted)`` per sample; a ``solutions`` list yields several."""
    source = one_field(record, fields)
    if source == "solutions":
        values = json_field(record, "solutions", list)
        if not values:
            raise CaseError("must be a non-empty list of programs", field="solutions")
    else:
        values = [record[source]]
    return [(case_id, *candidate_from(value, source, source == "response", language, defaults))
            for case_id, value in zip(sample_ids(base, len(values)), values, strict=True)]


class AppsReader:
    """APPS and TACO: ``input_output`` with ``inputs``, ``outputs`` and optional ``fn_name``.

    Call tests follow those datasets' convention: ``inputs[i]`` is the argument list, and an
    expected value wrapped in a one-item list is unwrapped (their harness accepts either).
    """

    name = "apps"

    def matches(self, record: dict[str, Any]) -> bool:
        return "input_output" in record

    def read(self, record: dict[str, Any], line: int, defaults: Defaults) -> list[Case]:
        spec = json_field(record, "input_output", dict)
        inputs, outputs, fn_name = spec.get("inputs"), spec.get("outputs"), spec.get("fn_name")
        if not isinstance(inputs, list) or not isinstance(outputs, list) or len(inputs) != len(outputs) or not inputs:
            raise CaseError("needs non-empty 'inputs' and 'outputs' lists of equal length", field="input_output")
        tests: list[TestSpec] = []
        for position, (given, wanted) in enumerate(zip(inputs, outputs, strict=True)):
            where = f"input_output[{position}]"
            if fn_name is None:
                tests.append(StdioTest(_stdio_text(given, where + ".input"), _stdio_text(wanted, where + ".output")))
            else:
                args = given if isinstance(given, list) else [given]
                expected = wanted[0] if isinstance(wanted, list) and len(wanted) == 1 else wanted
                tests.append(CallTest(tuple(args), {}, expected))
        if fn_name is not None and not (isinstance(fn_name, str) and fn_name.isidentifier()):
            raise CaseError(f"must be a function name, got {fn_name!r}", field="input_output.fn_name")
        language = check_language(record.get("language", "python"))
        base = record_id(record, line, "problem_id") if record.get("problem_id") is not None else \
            record_id(record, line)
        return [Case(id=case_id, problem_id=base, tests=tuple(tests), code=code, code_error=error, language=language,
                     entry_point=fn_name, line=line, format=self.name, extracted=extracted,
                     **limits(record, defaults))
                for case_id, code, error, extracted in _samples(record, base, defaults, language,
                                                                 ("solutions", "code", "response"))]


class CodeContestsReader:
    """CodeContests: every public, private and generated test is a stdin test."""

    name = "codecontests"
    GROUPS = ("public_tests", "private_tests", "generated_tests")

    def matches(self, record: dict[str, Any]) -> bool:
        return any(group in record for group in self.GROUPS)

    def read(self, record: dict[str, Any], line: int, defaults: Defaults) -> list[Case]:
        tests: list[TestSpec] = []
        for group in self.GROUPS:
            if record.get(group) is None:
                continue
            spec = json_field(record, group, dict)
            inputs, outputs = spec.get("input", []), spec.get("output", [])
            if not isinstance(inputs, list) or not isinstance(outputs, list) or len(inputs) != len(outputs):
                raise CaseError("needs 'input' and 'output' lists of equal length", field=group)
            for position, (given, wanted) in enumerate(zip(inputs, outputs, strict=True)):
                if not isinstance(given, str) or not isinstance(wanted, str):
                    raise CaseError("inputs and outputs must be strings", field=f"{group}[{position}]")
                tests.append(StdioTest(given, wanted, name=f"{group.split('_')[0]}_{position}"))
        if not tests:
            raise CaseError("the record has no tests", field="public_tests")
        language = check_language(record.get("language", "python"))
        settings = limits(record, defaults)
        limit = record.get("time_limit")
        if isinstance(limit, dict):  # CodeContests' {"seconds": s, "nanos": n}
            seconds = limit.get("seconds") or 0
            nanos = limit.get("nanos") or 0
            if isinstance(seconds, (int, float)) and isinstance(nanos, (int, float)) and seconds + nanos > 0:
                try:
                    total: float = seconds + nanos / 1e9
                except OverflowError:  # an int past float range: refused below as not finite
                    total = float("inf")
                settings["time_limit"] = positive_number(total, "time_limit")
        memory = record.get("memory_limit_bytes")
        if isinstance(memory, int) and not isinstance(memory, bool) and memory > 0:
            settings["memory_limit"] = max(1, memory >> 20)
        base = record_id(record, line, "name") if record.get("id") is None and record.get("name") is not None \
            else record_id(record, line)
        if record.get("code") is None and record.get("response") is None and isinstance(record.get("solutions"), dict):
            return [Case(id=case_id, problem_id=base, tests=tuple(tests), code=code, language=language, line=line,
                         format=self.name, **settings)
                    for case_id, code, language in _coded_solutions(record["solutions"], base)]
        return [Case(id=case_id, problem_id=base, tests=tuple(tests), code=code, code_error=error, language=language,
                     line=line, format=self.name, extracted=extracted, **settings)
                for case_id, code, error, extracted in _samples(record, base, defaults, language,
                                                                 ("code", "response"))]


def _coded_solutions(solutions: dict[str, Any], base: str) -> list[tuple[str, str, str]]:
    """CodeContests' own ``solutions`` (``{"language": [code, ...], "solution": [source, ...]}``):
    one ``(id, code, language)`` per solution, its language taken from CodeContests' codes."""
    codes, sources = solutions.get("language"), solutions.get("solution")
    if not isinstance(codes, list) or not isinstance(sources, list) or len(codes) != len(sources) or not sources:
        raise CaseError("needs non-empty 'language' and 'solution' lists of equal length", field="solutions")
    found = []
    for position, (code, source) in enumerate(zip(codes, sources, strict=True)):
        if code in CODECONTESTS_CODES and CODECONTESTS_CODES[code] not in LANGUAGES:
            continue  # Python 2 solutions: no interpreter here runs them
        try:
            language = check_language(code)
        except CaseError as exc:
            raise CaseError(exc.message, field=f"solutions.language[{position}]") from None
        found.append((language, text(source, f"solutions.solution[{position}]")))
    if not found:
        raise CaseError("no solution in a supported language (Python 2 ones are left out)", field="solutions")
    return [(case_id, source, language)
            for case_id, (language, source) in zip(sample_ids(base, len(found)), found, strict=True)]


__all__ = ["AppsReader", "CodeContestsReader"]
