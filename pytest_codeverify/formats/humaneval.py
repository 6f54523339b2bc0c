"""HumanEval (``prompt``, ``test`` with ``check(candidate)``, ``entry_point``) and MBPP
(``text``, ``test_list`` of assertion strings, ``test_setup_code``).

Assertions of a simple shape become typed call tests (see :mod:`.assertions`); the rest run
as assertion code in the sandbox.
"""

from __future__ import annotations

import re
from typing import Any

from ..cases import Case, CaseError, check_language, text
from .assertions import called_function, convert_check, convert_list
from .base import Defaults, candidate_from, limits, one_field, record_id


def _defines(code: str, name: str) -> bool:
    return re.search(rf"^\s*(async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE) is not None


class HumanEvalReader:
    """HumanEval problems joined with a completion (appended to the prompt) or a response."""

    name = "humaneval"

    def matches(self, record: dict[str, Any]) -> bool:
        return "prompt" in record and "entry_point" in record and isinstance(record.get("test"), str)

    def read(self, record: dict[str, Any], line: int, defaults: Defaults) -> list[Case]:
        task = record_id(record, line, "task_id")
        prompt = text(record.get("prompt"), "prompt")
        entry_point = record.get("entry_point")
        if not (isinstance(entry_point, str) and entry_point.isidentifier()):
            raise CaseError(f"must be a function name, got {entry_point!r}", field="entry_point")
        try:
            conversion = convert_check(text(record.get("test"), "test"), entry_point)
        except SyntaxError as exc:
            raise CaseError(f"is not valid Python: {exc}", field="test") from None
        language = check_language(record.get("language", "python"))
        source = one_field(record, ("completion", "code", "response"))
        code, error, extracted = candidate_from(record[source], source, source == "response", language, defaults)
        if source == "completion":
            code = prompt + record[source]
        elif source == "response" and code is not None and not _defines(code, entry_point):
            code = prompt + "\n" + code  # a body without its signature: the prompt supplies it
        case_id = record_id(record, line, "id") if record.get("id") is not None else task
        return [Case(id=case_id, problem_id=task, tests=tuple(conversion.tests), code=code, code_error=error,
                     language=language, entry_point=entry_point, setup_code=conversion.setup, line=line,
                     format=self.name, extracted=extracted, **limits(record, defaults))]


class MbppReader:
    """MBPP problems with a candidate in ``code``, ``completion`` or ``response``."""

    name = "mbpp"

    def matches(self, record: dict[str, Any]) -> bool:
        return isinstance(record.get("test_list"), list)

    def read(self, record: dict[str, Any], line: int, defaults: Defaults) -> list[Case]:
        task = record_id(record, line, "task_id")
        assertions = record.get("test_list")
        if not isinstance(assertions, list) or not assertions or not all(isinstance(a, str) for a in assertions):
            raise CaseError("must be a non-empty list of assertion strings", field="test_list")
        setup = record.get("test_setup_code") or ""
        if not isinstance(setup, str):
            raise CaseError("must be a string", field="test_setup_code")
        entry_point = called_function(assertions)
        # With setup code the candidate's functions may rely on what it defines: keep every
        # assertion as code run after it, exactly as the original harness does.
        conversion = convert_list(assertions, entry_point or "", convert=bool(entry_point) and not setup.strip())
        # Assertions that call only built-in names test a function named like one (task 126's
        # ``sum``): they stay assertion code, in which that one name means the program's.
        entry_point = entry_point or called_function(assertions, builtin_names=True)
        language = check_language(record.get("language", "python"))
        source = one_field(record, ("code", "completion", "response"))
        code, error, extracted = candidate_from(record[source], source, source == "response", language, defaults)
        case_id = record_id(record, line, "id") if record.get("id") is not None else task
        return [Case(id=case_id, problem_id=task, tests=tuple(conversion.tests), code=code, code_error=error,
                     language=language, entry_point=entry_point, setup_code=setup, line=line, format=self.name,
                     extracted=extracted, **limits(record, defaults))]
