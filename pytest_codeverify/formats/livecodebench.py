"""LiveCodeBench's code-generation format.

Test cases are a JSON string, or (for the large private sets) base64(zlib(pickle(JSON
string))). The pickle is read by an unpickler that refuses every global, so no callable can be
reached and nothing but a plain string (or bytes) can come out of it: a record whose pickle
holds anything else is an error for that record and nothing of it runs.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import pickle
import zlib
from typing import Any

from ..cases import CallTest, Case, CaseError, StdioTest, TestSpec, check_language
from .base import Defaults, candidate_from, json_lines_args, json_value, limits, one_field, record_id, sample_ids

#: Decompressed test data beyond this is refused (a zlib bomb would otherwise fill memory).
MAX_DECOMPRESSED = 512 << 20


class _StringsOnly(pickle.Unpickler):
    """An unpickler with no globals: GLOBAL, STACK_GLOBAL, EXT*, hence REDUCE/NEWOBJ/INST, all fail."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only a plain string is allowed")

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refusing a persistent id: only a plain string is allowed")


def decode_test_cases(value: Any, field: str) -> list[dict[str, Any]]:
    """A test-case field: a JSON string or list, or the compressed pickled form."""
    if isinstance(value, list):
        cases = value
    elif isinstance(value, str):
        try:
            cases = json.loads(value)
        except ValueError:
            cases = json.loads(_unpack(value, field))
    else:
        raise CaseError(f"must be a JSON string or a list, got {type(value).__name__}", field=field)
    if not isinstance(cases, list) or not all(isinstance(c, dict) for c in cases):
        raise CaseError("must be a list of test-case objects", field=field)
    return cases


def _unpack(value: str, field: str) -> str:
    try:
        packed = zlib.decompressobj()
        raw = packed.decompress(base64.b64decode(value, validate=True), MAX_DECOMPRESSED)
        if packed.unconsumed_tail:
            raise CaseError(f"decompresses to more than {MAX_DECOMPRESSED >> 20} MiB", field=field)
        data = _StringsOnly(io.BytesIO(raw), fix_imports=False).load()
    except CaseError:
        raise
    except (binascii.Error, zlib.error, ValueError) as exc:
        raise CaseError(f"is neither JSON nor base64(zlib(pickle)): {exc}", field=field) from None
    except Exception as exc:  # any unpickling failure, including the refused globals
        raise CaseError(f"compressed test cases rejected: {type(exc).__name__}: {exc}", field=field) from None
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="strict")
    if not isinstance(data, str):
        raise CaseError(f"compressed test cases must hold a string, got {type(data).__name__}", field=field)
    try:
        json.loads(data)
    except ValueError as exc:
        raise CaseError(f"compressed test cases are not JSON: {exc}", field=field) from None
    return data


class LiveCodeBenchReader:
    """LiveCodeBench records; ``code_list`` samples become one case each."""

    name = "livecodebench"

    def matches(self, record: dict[str, Any]) -> bool:
        return "question_id" in record and ("public_test_cases" in record or "private_test_cases" in record)

    def read(self, record: dict[str, Any], line: int, defaults: Defaults) -> list[Case]:
        question = record_id(record, line, "question_id")
        metadata = record.get("metadata") or {}
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata) if metadata.strip() else {}
            except ValueError as exc:
                raise CaseError(f"is not valid JSON: {exc}", field="metadata") from None
        if not isinstance(metadata, dict):
            raise CaseError("must be an object", field="metadata")
        func_name = metadata.get("func_name")
        tests: list[TestSpec] = []
        for group in ("public_test_cases", "private_test_cases"):
            if record.get(group) in (None, ""):
                continue
            for position, test in enumerate(decode_test_cases(record[group], group)):
                where = f"{group}[{position}]"
                name = f"{group.split('_')[0]}_{position}"
                kind = test.get("testtype", "stdin")
                if kind == "stdin":
                    given, wanted = test.get("input"), test.get("output")
                    if not isinstance(given, str) or not isinstance(wanted, str):
                        raise CaseError("needs string 'input' and 'output'", field=where)
                    tests.append(StdioTest(given, wanted, name=name))
                elif kind == "functional":
                    if not isinstance(func_name, str) or not func_name.isidentifier():
                        raise CaseError("functional tests need metadata.func_name", field="metadata")
                    tests.append(CallTest(json_lines_args(test.get("input"), f"{where}.input"), {},
                                          json_value(test.get("output"), f"{where}.output"), name=name))
                else:
                    raise CaseError(f"unknown testtype {kind!r}", field=where)
        if not tests:
            raise CaseError("the record has no test cases", field="public_test_cases")
        language = check_language(record.get("language", "python"))
        source = one_field(record, ("code_list", "code", "response"))
        values = record[source] if source == "code_list" else [record[source]]
        if source == "code_list" and (not isinstance(values, list) or not values):
            raise CaseError("must be a non-empty list of programs", field="code_list")
        ids = sample_ids(question, len(values)) if source != "code_list" else \
            [f"{question}#{k}" for k in range(len(values))]
        cases = []
        for case_id, value in zip(ids, values, strict=True):
            code, error, extracted = candidate_from(value, source, source == "response", language, defaults)
            cases.append(Case(id=case_id, problem_id=question, tests=tuple(tests), code=code, code_error=error,
                              language=language, entry_point=func_name if isinstance(func_name, str) else None,
                              line=line, format=self.name, extracted=extracted, **limits(record, defaults)))
        return cases
