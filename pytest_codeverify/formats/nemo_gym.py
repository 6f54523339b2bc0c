"""NeMo Gym's code-generation format: ``responses_create_params`` + ``verifier_metadata``.

``verifier_metadata.unit_tests`` = ``{"inputs": [...], "outputs": [...], "fn_name": null|name}``:
stdin tests without ``fn_name``, call tests (LiveCodeBench convention: one JSON argument per
input line, a JSON expected value) with it. The answer is ``response``: a string, or an
OpenAI Responses-style object whose message items hold the text.
"""

from __future__ import annotations

from typing import Any

from ..cases import CallTest, Case, CaseError, StdioTest, TestSpec
from ..extract import extract_code
from .base import Defaults, json_lines_args, json_value, limits, record_id


def response_text(response: Any) -> str:
    """The text of a response: a string, or ``output[*].content[*].text`` of message items."""
    if isinstance(response, str):
        return response
    if not isinstance(response, dict) or not isinstance(response.get("output"), list):
        raise CaseError("must be a string or a Responses object with an 'output' list", field="response")
    parts: list[str] = []
    for item in response["output"]:
        if isinstance(item, dict) and item.get("type") == "message" and isinstance(item.get("content"), list):
            parts.extend(part["text"] for part in item["content"]
                         if isinstance(part, dict) and isinstance(part.get("text"), str))
    return "\n".join(parts)


def prompt_text(record: dict[str, Any]) -> str | None:
    """The prompt of ``responses_create_params`` (what rollouts and problems are matched by)."""
    params = record.get("responses_create_params")
    if not isinstance(params, dict):
        return None
    prompt = params.get("input")
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        texts = []
        for message in prompt:
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, str):
                texts.append(content)
            elif isinstance(content, list):
                texts.extend(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
        return "\n".join(texts)
    return None


def unit_tests(inputs: Any, outputs: Any, fn_name: Any, field: str) -> tuple[TestSpec, ...]:
    """Tests from parallel ``inputs`` / ``outputs`` lists (stdin, or LiveCodeBench call tests)."""
    if not isinstance(inputs, list) or not isinstance(outputs, list) or len(inputs) != len(outputs) or not inputs:
        raise CaseError("needs non-empty 'inputs' and 'outputs' lists of equal length", field=field)
    if fn_name is None:
        tests = []
        for position, (given, wanted) in enumerate(zip(inputs, outputs, strict=True)):
            if not isinstance(given, str) or not isinstance(wanted, str):
                raise CaseError("stdin tests need string inputs and outputs", field=f"{field}[{position}]")
            tests.append(StdioTest(given, wanted))
        return tuple(tests)
    return tuple(CallTest(json_lines_args(given, f"{field}.inputs[{position}]"), {},
                          json_value(wanted, f"{field}.outputs[{position}]"))
                 for position, (given, wanted) in enumerate(zip(inputs, outputs, strict=True)))


class NemoGymReader:
    """NeMo Gym code-generation records (problems, or rollouts that carry ``response``)."""

    name = "nemo-gym"

    def matches(self, record: dict[str, Any]) -> bool:
        return "verifier_metadata" in record or "responses_create_params" in record

    def read(self, record: dict[str, Any], line: int, defaults: Defaults) -> list[Case]:
        metadata = record.get("verifier_metadata")
        if not isinstance(metadata, dict) or not isinstance(metadata.get("unit_tests"), dict):
            raise CaseError("must hold 'unit_tests' (a rollout without it needs its problems file: "
                            "--codeverify-problems)", field="verifier_metadata")
        tests_spec = metadata["unit_tests"]
        fn_name = tests_spec.get("fn_name")
        if fn_name is not None and not (isinstance(fn_name, str) and fn_name.isidentifier()):
            raise CaseError(f"must be null or a function name, got {fn_name!r}", field="verifier_metadata.fn_name")
        tests = unit_tests(tests_spec.get("inputs"), tests_spec.get("outputs"), fn_name,
                           "verifier_metadata.unit_tests")
        if record.get("response") is None:
            raise CaseError("the model's answer is missing", field="response")
        found = extract_code(response_text(record["response"]), "python", lenient=defaults.lenient_extraction)
        case_id = record_id(record, line, "id") if record.get("id") is not None else \
            record_id(record, line, "hash_id")
        return [Case(id=case_id, problem_id=case_id, tests=tests, code=found.code, code_error=found.error,
                     entry_point=fn_name, line=line, format=self.name, extracted=found.code,
                     **limits(record, defaults))]
