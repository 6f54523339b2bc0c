"""NeMo Gym verify requests -> cases, so the server can stand in for a NeMo Gym code resource server.

A NeMo Gym verify request carries the prompt (``responses_create_params``), the model's
answer (``response``, an OpenAI Responses-style object whose text is in
``output[*].content[*].text`` of items of type ``message``) and the tests
(``verifier_metadata.unit_tests`` = ``{"inputs": [...], "outputs": [...], "fn_name": null|str}``).

When the dataset readers include a ``nemo-gym`` reader that accepts the request, it is used, so
a request and a dataset line of that format are read by the same code; otherwise
:func:`nemo_gym_case` converts the request itself.
"""

from __future__ import annotations

import json
from typing import Any

from .cases import CallTest, Case, CaseError, StdioTest, TestSpec
from .formats import READERS, Defaults
from .formats.base import candidate_code

#: NeMo Gym's code-generation verifier gives 1.0 only when every test passes.
NEMO_GYM_REWARD_MODE = "all"


def is_nemo_gym_request(body: dict[str, Any]) -> bool:
    """Whether ``body`` has the shape of a NeMo Gym verify request."""
    return "verifier_metadata" in body and "response" in body


def response_text(response: Any) -> str:
    """The model's text in a Responses-style object: every message item's text parts, in order."""
    if not isinstance(response, dict):
        raise CaseError(f"must be an object, got {type(response).__name__}", field="response")
    output = response.get("output")
    if not isinstance(output, list):
        raise CaseError("must be a list of output items", field="response.output")
    parts: list[str] = []
    for position, item in enumerate(output):
        if not isinstance(item, dict) or item.get("type") != "message":
            continue  # reasoning, tool calls, ...: not the answer
        content = item.get("content")
        if not isinstance(content, list):
            raise CaseError("must be a list", field=f"response.output[{position}].content")
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
    return "\n".join(parts)


def nemo_gym_case(body: dict[str, Any], defaults: Defaults) -> Case:
    """The case a NeMo Gym verify request describes; :class:`CaseError` names the field at fault."""
    reader = READERS.get("nemo-gym")
    if reader is not None and reader.matches(body):
        cases = reader.read(body, 1, defaults)
        if len(cases) != 1:
            raise CaseError(f"a verify request must hold one answer, got {len(cases)}", field="response")
        return cases[0]
    metadata = body.get("verifier_metadata")
    if not isinstance(metadata, dict):
        raise CaseError("must be an object", field="verifier_metadata")
    unit_tests = metadata.get("unit_tests")
    if not isinstance(unit_tests, dict):
        raise CaseError("must be an object with inputs and outputs", field="verifier_metadata.unit_tests")
    inputs, outputs = unit_tests.get("inputs"), unit_tests.get("outputs")
    for name, value in (("inputs", inputs), ("outputs", outputs)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CaseError("must be a list of strings", field=f"verifier_metadata.unit_tests.{name}")
    assert isinstance(inputs, list) and isinstance(outputs, list)
    if not inputs or len(inputs) != len(outputs):
        raise CaseError(f"need as many outputs as inputs, at least one (got {len(inputs)} and {len(outputs)})",
                        field="verifier_metadata.unit_tests")
    fn_name = unit_tests.get("fn_name")
    if fn_name is not None and not (isinstance(fn_name, str) and fn_name.isidentifier()):
        raise CaseError(f"must be null or a function name, got {fn_name!r}",
                        field="verifier_metadata.unit_tests.fn_name")
    text = response_text(body.get("response"))
    code, code_error, extracted = candidate_code({"response": text}, "python", defaults)
    tests: tuple[TestSpec, ...]
    if fn_name is None:
        tests = tuple(StdioTest(i, o) for i, o in zip(inputs, outputs, strict=True))
    else:
        tests = tuple(_call_test(i, o, position) for position, (i, o) in enumerate(zip(inputs, outputs, strict=True)))
    return Case(id=str(body.get("id", "request")), problem_id=str(body.get("id", "request")), tests=tests,
                code=code, code_error=code_error, entry_point=fn_name, time_limit=defaults.time_limit,
                memory_limit=defaults.memory_limit, format="nemo-gym", extracted=extracted)


def _call_test(inputs: str, output: str, position: int) -> CallTest:
    """A functional test in the LiveCodeBench convention: one JSON argument per input line."""
    try:
        args = tuple(json.loads(line) for line in inputs.split("\n") if line.strip())
    except ValueError as exc:
        raise CaseError(f"an argument line is not JSON: {exc}",
                        field=f"verifier_metadata.unit_tests.inputs[{position}]") from exc
    try:
        expected = json.loads(output)
    except ValueError as exc:
        raise CaseError(f"not JSON: {exc}", field=f"verifier_metadata.unit_tests.outputs[{position}]") from exc
    return CallTest(args, {}, expected)
