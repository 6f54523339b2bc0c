"""Dataset readers on records alone: fields, detection, and bad input named by file, line and field.

Reading only: nothing here runs a candidate.
"""

from __future__ import annotations

import base64
import gzip
import json
import pickle
import zlib
from pathlib import Path
from typing import Any

import pytest

from conftest import write_jsonl
from pytest_codeverify.cases import AssertTest, CallTest, CaseError, StdioTest
from pytest_codeverify.formats import READERS, Defaults, detect, given_id, join_problem, load_file, load_problems
from pytest_codeverify.formats.base import json_field, json_lines_args, json_value, limits, record_id, sample_ids
from pytest_codeverify.formats.livecodebench import decode_test_cases
from pytest_codeverify.formats.nemo_gym import prompt_text, response_text

NATIVE = {"id": "r", "code": "print(3)", "tests": [{"input": "1 2\n", "output": "3\n"}]}


def read(reader: str, record: dict[str, Any], defaults: Defaults | None = None) -> list[Any]:
    return READERS[reader].read(record, 1, defaults or Defaults())


def refused(reader: str, record: dict[str, Any]) -> CaseError:
    with pytest.raises(CaseError) as info:
        read(reader, record)
    return info.value


# --- the loader: file and line ---------------------------------------------------------------


def test_load_file_names_file_and_line_of_bad_lines(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [NATIVE, "{not json", "", "[1, 2]", {**NATIVE, "tests": []}])
    records = list(load_file(path))
    assert [r.line for r in records] == [1, 2, 4, 5]  # the blank line 3 is skipped, numbering kept
    assert records[0].error is None and records[0].cases[0].path == str(path)
    assert str(records[1].error).startswith(f"{path}:2: not valid JSON")
    assert str(records[2].error) == f"{path}:4: must be a JSON object, got list"
    assert str(records[3].error) == f"{path}:5: field 'tests': must be a non-empty list of tests"
    assert records[3].id == "r" and records[1].id == "2"


def test_load_file_display_path(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", ["nope"])
    (record,) = load_file(path, display_path="data/in.jsonl")
    assert str(record.error).startswith("data/in.jsonl:1: ")


def test_load_file_gzip(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(json.dumps(NATIVE) + "\n")
    (record,) = load_file(path)
    assert record.error is None and record.cases[0].tests == (StdioTest("1 2\n", "3\n"),)


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    with pytest.raises(CaseError, match="cannot read") as info:
        list(load_file(path))
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}: cannot read")  # a whole-file error: no line 0


def test_a_line_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\xff\xfe not utf-8\n")
    (record,) = load_file(path)
    assert str(record.error).startswith(f"{path}:1: not UTF-8 text")


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="unknown format 'csv'"):
        list(load_file(write_jsonl(tmp_path / "in.jsonl", [NATIVE]), "csv"))


def test_format_is_detected_once_per_file(tmp_path: Path) -> None:
    mbpp = {"task_id": 1, "code": "def f(): return 1", "test_list": ["assert f() == 1"]}
    records = list(load_file(write_jsonl(tmp_path / "in.jsonl", [mbpp, NATIVE])))
    assert records[0].format == "mbpp" and records[0].error is None
    assert records[1].format == "mbpp"
    assert str(records[1].error).endswith("field 'test_list': must be a non-empty list of assertion strings")


@pytest.mark.parametrize(("reader", "field"), [("mbpp", "test_list"), ("humaneval", "test")])
def test_a_record_without_the_chosen_format_fields_is_an_error_not_a_crash(reader: str, field: str) -> None:
    record = {"task_id": 1, "prompt": "", "entry_point": "f", "code": "pass"}
    assert refused(reader, record).field == field


def test_samples_of_one_problem_get_numbered_ids(tmp_path: Path) -> None:
    sample = {"task_id": 7, "code": "def f(): return 1", "test_list": ["assert f() == 1"]}
    records = list(load_file(write_jsonl(tmp_path / "in.jsonl", [sample, sample, sample])))
    assert [r.cases[0].id for r in records] == ["7", "7#1", "7#2"]
    assert {r.cases[0].problem_id for r in records} == {"7"}


def test_native_duplicate_ids_are_kept_as_given(tmp_path: Path) -> None:
    records = list(load_file(write_jsonl(tmp_path / "in.jsonl", [NATIVE, NATIVE]), "native"))
    assert [r.cases[0].id for r in records] == ["r", "r"]


def test_record_defaults_apply(tmp_path: Path) -> None:
    record = {k: v for k, v in NATIVE.items() if k != "id"}
    (loaded,) = load_file(write_jsonl(tmp_path / "in.jsonl", [record]), defaults=Defaults(time_limit=7,
                                                                                        memory_limit=99))
    (case,) = loaded.cases
    assert (case.id, case.time_limit, case.memory_limit, case.line) == ("1", 7, 99, 1)


# --- detection and the problems join ----------------------------------------------------------


@pytest.mark.parametrize(("record", "name"), [
    (NATIVE, "native"),
    ({"verifier_metadata": {}}, "nemo-gym"),
    ({"question_id": "q", "public_test_cases": "[]"}, "livecodebench"),
    ({"prompt": "", "entry_point": "f", "test": "def check(c): pass"}, "humaneval"),
    ({"test_list": []}, "mbpp"),
    ({"input_output": "{}"}, "apps"),
    ({"public_tests": {}}, "codecontests"),
])
def test_detect(record: dict[str, Any], name: str) -> None:
    assert detect(record).name == name


def test_detect_none_lists_the_fields() -> None:
    with pytest.raises(CaseError, match=r"matches no known format .*fields present: \['answer', 'question'\]"):
        detect({"question": 1, "answer": 2})


def test_join_problem() -> None:
    problems = {("task_id", "A"): {"task_id": "A", "test_list": ["assert f() == 1"], "code": "reference"}}
    joined = join_problem({"task_id": "A", "completion": "x"}, problems)
    assert joined["test_list"] == ["assert f() == 1"] and joined["completion"] == "x"
    assert "code" not in joined  # the problem's own candidate gives way to the sample's


def test_join_problem_without_keys_names_the_field() -> None:
    with pytest.raises(CaseError) as info:
        join_problem({"completion": "x"}, {})
    assert info.value.field == "task_id"


def test_join_problem_unknown_names_field_and_value() -> None:
    with pytest.raises(CaseError, match="no problem in the problems file has problem_id 'Z'") as info:
        join_problem({"problem_id": "Z"}, {("problem_id", "A"): {}})
    assert info.value.field == "problem_id"


def test_load_problems_bad_line_names_file_and_line(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "problems.jsonl", [{"task_id": "A"}, "oops"])
    with pytest.raises(CaseError) as info:
        load_problems(path)
    assert (info.value.path, info.value.line) == (str(path), 2)


def test_load_problems_indexes_every_key(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "problems.jsonl", [{"task_id": "A", "id": 3}])
    assert set(load_problems(path)) == {("task_id", "A"), ("id", "3")}


@pytest.mark.parametrize(("record", "value"), [
    ({"id": "x"}, "x"), ({"id": 3}, "3"), ({"id": True}, None), ({"id": 1.5}, None), ({}, None), ([], None),
])
def test_given_id(record: Any, value: str | None) -> None:
    assert given_id(record) == value


# --- shared record helpers -------------------------------------------------------------------


@pytest.mark.parametrize(("record", "expected"), [({"id": "a"}, "a"), ({"id": 5}, "5"), ({}, "9")])
def test_record_id(record: dict[str, Any], expected: str) -> None:
    assert record_id(record, 9) == expected


@pytest.mark.parametrize("value", [True, 1.5, [1], {"a": 1}])
def test_record_id_refuses_naming_the_field(value: Any) -> None:
    with pytest.raises(CaseError) as info:
        record_id({"task_id": value}, 1, "task_id")
    assert info.value.field == "task_id"


def test_json_field() -> None:
    assert json_field({"f": '{"a": 1}'}, "f") == {"a": 1}
    assert json_field({"f": [1]}, "f", list) == [1]
    with pytest.raises(CaseError, match="is not valid JSON") as info:
        json_field({"f": "{"}, "f")
    assert info.value.field == "f"
    with pytest.raises(CaseError, match="wrong type list"):
        json_field({"f": "[1]"}, "f", dict)


def test_json_lines_args() -> None:
    assert json_lines_args('[1, 2]\n"x"\n\n{"a": null}\n', "in") == ([1, 2], "x", {"a": None})
    for bad, message in ((5, "must be a string"), ("[1,\n2]", "not JSON")):
        with pytest.raises(CaseError, match=message) as info:
            json_lines_args(bad, "public_test_cases[0].input")
        assert info.value.field == "public_test_cases[0].input"


def test_json_value() -> None:
    assert json_value("[1, 2]", "out") == [1, 2]
    assert json_value([1], "out") == [1]
    with pytest.raises(CaseError, match="not JSON") as info:
        json_value("nope", "out")
    assert info.value.field == "out"


def test_sample_ids() -> None:
    assert sample_ids("p", 1) == ["p"]
    assert sample_ids("p", 3) == ["p#0", "p#1", "p#2"]


@pytest.mark.parametrize(("record", "expected"), [
    ({}, (2.0, 512)),
    ({"time_limit": 3, "memory_limit": 64}, (3.0, 64)),
    ({"time_limit": "3", "memory_limit": "64"}, (2.0, 512)),  # not numbers: the defaults
    ({"memory_limit": True}, (2.0, 512)),
    ({"memory_limit": 0}, (2.0, 512)),
])
def test_limits(record: dict[str, Any], expected: tuple[float, int]) -> None:
    found = limits(record, Defaults())
    assert (found["time_limit"], found["memory_limit"]) == expected


@pytest.mark.parametrize("value", [-1, 0, float("inf"), 10 ** 400], ids=lambda v: repr(v)[:20])
def test_limits_refuse_a_bad_number(value: float) -> None:
    with pytest.raises(CaseError) as info:
        limits({"time_limit": value}, Defaults())
    assert info.value.field == "time_limit"


# --- native ----------------------------------------------------------------------------------


def test_native_reads_every_test_kind() -> None:
    record = {"id": "n", "code": "def f(a): return a", "entry_point": "f", "compare": "lines",
              "time_limit": 1.5, "memory_limit": 64, "tests": [
                  {"input": "", "output": "x", "name": "s", "time_limit": 0.5},
                  {"args": [1], "kwargs": {"b": 2}, "expected": 1},
                  {"assert": "assert f(1) == 1"}]}
    (case,) = read("native", record)
    assert case.tests == (StdioTest("", "x", name="s", time_limit=0.5), CallTest((1,), {"b": 2}, 1),
                          AssertTest("assert f(1) == 1"))
    assert (case.time_limit, case.memory_limit, case.compare.mode, case.entry_point) == (1.5, 64, "lines", "f")


def test_native_response_is_extracted() -> None:
    record = {"id": "n", "response": "Sure:\n```python\nprint(3)\n```", "tests": NATIVE["tests"]}
    (case,) = read("native", record)
    assert case.code == "print(3)\n" and case.extracted == "print(3)\n"
    (case,) = read("native", {**record, "response": "no code"})
    assert case.code is None and case.code_error is not None


@pytest.mark.parametrize(("changes", "field", "fragment"), [
    ({"tests": []}, "tests", "non-empty list"),
    ({"tests": "x"}, "tests", "non-empty list"),
    ({"tests": [5]}, "tests[0]", "must be an object, got int"),
    ({"tests": [{"input": ""}]}, "tests[0]", 'must have "input" and "output"'),
    ({"tests": [{"input": "", "output": "", "bogus": 1}]}, "tests[0]", "unknown key(s) ['bogus']"),
    ({"tests": [{"input": 1, "output": ""}]}, "tests[0].input", "must be a string"),
    ({"tests": [{"input": "", "output": None}]}, "tests[0].output", "must be a string"),
    ({"tests": [{"input": "", "output": "", "name": 3}]}, "tests[0].name", "must be a string"),
    ({"tests": [{"input": "", "output": "", "time_limit": 0}]}, "tests[0].time_limit", "positive"),
    ({"tests": [{"assert": 5}]}, "tests[0].assert", "must be a string"),
    ({"entry_point": "f", "tests": [{"expected": 1, "args": "x"}]}, "tests[0].args", "must be a list"),
    ({"entry_point": "f", "tests": [{"expected": 1, "kwargs": []}]}, "tests[0].kwargs", "must be an object"),
    ({"tests": [{"expected": 1}]}, "entry_point", "is required"),
    ({"entry_point": "not a name", "tests": [{"expected": 1}]}, "entry_point", "function or method name"),
    ({"tests": [{"input": "", "output": "", "name": "a"}, {"assert": "1", "name": "a"}]}, "tests", "unique"),
    ({"time_limit": "2"}, "time_limit", "positive"),
    ({"time_limit": float("nan")}, "time_limit", "positive"),
    ({"time_limit": 10 ** 400}, "time_limit", "positive"),  # JSON ints may be past float range
    ({"compare": {"float": 10 ** 400}}, "compare", "must be one of"),
    ({"memory_limit": 1.5}, "memory_limit", "positive whole"),
    ({"compare": "fuzzy"}, "compare", "must be one of"),
    ({"language": "cobol"}, "language", "unknown language"),
    ({"id": ["x"]}, "id", "string or an integer"),
    ({"problem_id": {}}, "problem_id", "string or an integer"),
    ({"code": None}, "code", "is missing"),
    ({"response": "x"}, "code", "must be exactly one, got code, response"),
    ({"code": 5}, "code", "must be a string, got int"),
], ids=lambda v: v if isinstance(v, str) else repr(v)[:40])
def test_native_bad_field_is_named(changes: dict[str, Any], field: str, fragment: str) -> None:
    error = refused("native", {**NATIVE, **changes})
    assert error.field == field
    assert fragment in error.message


# --- other formats ---------------------------------------------------------------------------


MBPP = {"task_id": 2, "code": "def add(a, b): return a + b",
        "test_list": ["assert add(1, 2) == 3", "assert add(0, 0) == 0", "assert sorted([add(1, 1)]) == [2]"]}


def test_mbpp_converts_simple_assertions() -> None:
    (case,) = read("mbpp", MBPP)
    assert case.entry_point == "add"
    assert [t.kind for t in case.tests] == ["call", "call", "assert"]
    assert case.tests[0] == CallTest((1, 2), {}, 3, name="assert_0", typed=True, args_source="1, 2")


def test_mbpp_with_setup_keeps_every_assertion_as_code() -> None:
    (case,) = read("mbpp", {**MBPP, "test_setup_code": "import math"})
    assert all(t.kind == "assert" for t in case.tests) and case.setup_code == "import math"


@pytest.mark.parametrize(("changes", "field"), [
    ({"test_list": []}, "test_list"),
    ({"test_list": ["assert 1", 2]}, "test_list"),
    ({"test_setup_code": 5}, "test_setup_code"),
    ({"code": None}, "code"),
    ({"completion": "x"}, "code"),
    ({"task_id": 1.5}, "task_id"),
])
def test_mbpp_bad_field_is_named(changes: dict[str, Any], field: str) -> None:
    assert refused("mbpp", {**MBPP, **changes}).field == field


HUMANEVAL = {"task_id": "H/0", "prompt": "def inc(x):\n", "entry_point": "inc", "completion": "    return x + 1\n",
             "test": "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) > 2\n"}


def test_humaneval_completion_is_appended_to_the_prompt() -> None:
    (case,) = read("humaneval", HUMANEVAL)
    assert case.code == "def inc(x):\n    return x + 1\n"
    assert [t.name for t in case.tests] == ["assert_0", "check"]


def test_humaneval_response_body_gets_its_signature() -> None:
    (case,) = read("humaneval", {**{k: v for k, v in HUMANEVAL.items() if k != "completion"},
                                 "response": "```python\n    return x + 1\n```"})
    assert case.code == "def inc(x):\n\n    return x + 1\n"
    (case,) = read("humaneval", {**{k: v for k, v in HUMANEVAL.items() if k != "completion"},
                                 "response": "```python\ndef inc(x):\n    return x + 1\n```"})
    assert case.code == "def inc(x):\n    return x + 1\n"


@pytest.mark.parametrize(("changes", "field"), [
    ({"entry_point": "1bad"}, "entry_point"),
    ({"test": "def check(candidate:\n"}, "test"),
    ({"prompt": None}, "prompt"),
    ({"completion": None}, "completion"),
    ({"code": "x"}, "completion"),
    ({"language": "go"}, "language"),
])
def test_humaneval_bad_field_is_named(changes: dict[str, Any], field: str) -> None:
    assert refused("humaneval", {**HUMANEVAL, **changes}).field == field


APPS = {"problem_id": 5, "solutions": '["print(3)", "print(4)"]',
        "input_output": '{"inputs": ["1 2\\n", ["a", "b"]], "outputs": ["3\\n", ["c"]]}'}


def test_apps_solutions_become_samples() -> None:
    cases = read("apps", APPS)
    assert [c.id for c in cases] == ["5#0", "5#1"] and [c.code for c in cases] == ["print(3)", "print(4)"]
    assert cases[0].tests == (StdioTest("1 2\n", "3\n"), StdioTest("a\nb\n", "c\n"))


def test_apps_call_tests_unwrap_one_item_outputs() -> None:
    record = {**APPS, "input_output": {"inputs": [[1, 2], 3], "outputs": [[3], [1, 2]], "fn_name": "f"}}
    (case, _) = read("apps", record)
    assert case.tests == (CallTest((1, 2), {}, 3), CallTest((3,), {}, [1, 2]))


@pytest.mark.parametrize(("changes", "field"), [
    ({"input_output": "{"}, "input_output"),
    ({"input_output": "[]"}, "input_output"),
    ({"input_output": {"inputs": ["1"], "outputs": []}}, "input_output"),
    ({"input_output": {"inputs": [1], "outputs": ["1"]}}, "input_output[0].input"),
    ({"input_output": {"inputs": ["1"], "outputs": [1]}}, "input_output[0].output"),
    ({"input_output": {"inputs": [[1]], "outputs": [1], "fn_name": "no way"}}, "input_output.fn_name"),
    ({"solutions": "[]"}, "solutions"),
    ({"solutions": "not json"}, "solutions"),
    ({"solutions": [5]}, "solutions"),
])
def test_apps_bad_field_is_named(changes: dict[str, Any], field: str) -> None:
    assert refused("apps", {**APPS, **changes}).field == field


CODECONTESTS = {"name": "cc", "code": "print(3)", "public_tests": {"input": ["1 2\n"], "output": ["3\n"]},
                "private_tests": {"input": [], "output": []}, "generated_tests": None}


def test_codecontests_limits() -> None:
    (case,) = read("codecontests", {**CODECONTESTS, "time_limit": {"seconds": 1, "nanos": 500_000_000},
                                    "memory_limit_bytes": 256 << 20})
    assert (case.id, case.time_limit, case.memory_limit) == ("cc", 1.5, 256)
    assert [t.name for t in case.tests] == ["public_0"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"public_tests": {"input": ["1"], "output": []}}, "public_tests"),
    ({"public_tests": {"input": [1], "output": ["1"]}}, "public_tests[0]"),
    ({"public_tests": "{bad"}, "public_tests"),
    ({"public_tests": {"input": [], "output": []}}, "public_tests"),
    ({"code": None}, "code"),
    ({"time_limit": {"seconds": 1, "nanos": 10 ** 400}}, "time_limit"),
    ({"time_limit": {"seconds": 10 ** 400}}, "time_limit"),
], ids=lambda v: repr(v)[:40])
def test_codecontests_bad_field_is_named(changes: dict[str, Any], field: str) -> None:
    assert refused("codecontests", {**CODECONTESTS, **changes}).field == field


LCB = {"question_id": "q1", "code": "def f(a): return a",
       "public_test_cases": json.dumps([{"input": "1\n", "output": "1\n", "testtype": "stdin"}]),
       "private_test_cases": [{"input": "[1]\n2", "output": "[1]", "testtype": "functional"}],
       "metadata": '{"func_name": "f"}'}


def test_livecodebench_reads_both_groups() -> None:
    (case,) = read("livecodebench", LCB)
    assert case.tests == (StdioTest("1\n", "1\n", name="public_0"), CallTest(([1], 2), {}, [1], name="private_0"))
    assert case.entry_point == "f"


def test_livecodebench_code_list_samples() -> None:
    cases = read("livecodebench", {**{k: v for k, v in LCB.items() if k != "code"}, "code_list": ["a", "b"]})
    assert [c.id for c in cases] == ["q1#0", "q1#1"]


def packed(data: Any) -> str:
    return base64.b64encode(zlib.compress(pickle.dumps(data))).decode()


def test_livecodebench_compressed_cases() -> None:
    text = json.dumps([{"input": "", "output": "x"}])
    assert decode_test_cases(packed(text), "f") == [{"input": "", "output": "x"}]
    assert decode_test_cases(packed(text.encode()), "f") == [{"input": "", "output": "x"}]


@pytest.mark.parametrize(("value", "fragment"), [
    (5, "must be a JSON string or a list, got int"),
    ("@@@", "neither JSON nor base64"),
    (base64.b64encode(b"not zlib").decode(), "neither JSON nor base64"),
    (packed("not json"), "not JSON"),
    (packed(5), "must hold a string"),
    ('{"a": 1}', "list of test-case objects"),
    ("[1, 2]", "list of test-case objects"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None)
def test_livecodebench_bad_cases_are_named(value: Any, fragment: str) -> None:
    with pytest.raises(CaseError) as info:
        decode_test_cases(value, "private_test_cases")
    assert info.value.field == "private_test_cases" and fragment in info.value.message


@pytest.mark.parametrize(("changes", "field"), [
    ({"metadata": "{oops"}, "metadata"),
    ({"metadata": "[]"}, "metadata"),
    ({"metadata": "{}"}, "metadata"),  # functional tests need func_name
    ({"public_test_cases": [{"input": 1, "output": "1"}]}, "public_test_cases[0]"),
    ({"public_test_cases": [{"input": "", "output": "", "testtype": "vibes"}]}, "public_test_cases[0]"),
    ({"private_test_cases": [{"input": "[1", "output": "1", "testtype": "functional"}]},
     "private_test_cases[0].input"),
    ({"private_test_cases": [{"input": "1", "output": "{", "testtype": "functional"}]},
     "private_test_cases[0].output"),
    ({"public_test_cases": "", "private_test_cases": None}, "public_test_cases"),
    ({"code": None, "code_list": []}, "code_list"),
])
def test_livecodebench_bad_field_is_named(changes: dict[str, Any], field: str) -> None:
    assert refused("livecodebench", {**LCB, **changes}).field == field


NEMO = {"id": "n1", "response": "```python\nprint(3)\n```",
        "verifier_metadata": {"unit_tests": {"inputs": ["1 2\n"], "outputs": ["3\n"], "fn_name": None}}}


def test_nemo_gym_reads_stdin_and_call_tests() -> None:
    (case,) = read("nemo-gym", NEMO)
    assert case.tests == (StdioTest("1 2\n", "3\n"),) and case.code == "print(3)\n"
    record = {**NEMO, "verifier_metadata": {"unit_tests": {"inputs": ["1\n2"], "outputs": ["3"], "fn_name": "f"}}}
    (case,) = read("nemo-gym", record)
    assert case.tests == (CallTest((1, 2), {}, 3),) and case.entry_point == "f"


def test_nemo_gym_response_object() -> None:
    response = {"output": [{"type": "reasoning", "content": [{"text": "```python\nprint(0)\n```"}]},
                           {"type": "message", "content": [{"type": "output_text", "text": "A:"},
                                                           {"text": "```python\nprint(3)\n```"}, "junk"]}]}
    assert response_text(response) == "A:\n```python\nprint(3)\n```"
    (case,) = read("nemo-gym", {**NEMO, "response": response})
    assert case.code == "print(3)\n"


@pytest.mark.parametrize(("params", "prompt"), [
    ({"input": "plain"}, "plain"),
    ({"input": [{"role": "user", "content": "a"}, {"content": [{"text": "b"}, {"image": 1}]}]}, "a\nb"),
    ({"input": 5}, None),
    ("not a dict", None),
])
def test_nemo_gym_prompt_text(params: Any, prompt: str | None) -> None:
    assert prompt_text({"responses_create_params": params}) == prompt


@pytest.mark.parametrize(("changes", "field"), [
    ({"verifier_metadata": {}}, "verifier_metadata"),
    ({"verifier_metadata": {"unit_tests": {"inputs": ["1"], "outputs": []}}}, "verifier_metadata.unit_tests"),
    ({"verifier_metadata": {"unit_tests": {"inputs": [1], "outputs": ["1"]}}}, "verifier_metadata.unit_tests[0]"),
    ({"verifier_metadata": {"unit_tests": {"inputs": ["1"], "outputs": ["1"], "fn_name": "a b"}}},
     "verifier_metadata.fn_name"),
    ({"verifier_metadata": {"unit_tests": {"inputs": ["[1"], "outputs": ["1"], "fn_name": "f"}}},
     "verifier_metadata.unit_tests.inputs[0]"),
    ({"response": None}, "response"),
    ({"response": {"output": "text"}}, "response"),
    ({"response": 5}, "response"),
    ({"id": 1.5}, "id"),
])
def test_nemo_gym_bad_field_is_named(changes: dict[str, Any], field: str) -> None:
    assert refused("nemo-gym", {**NEMO, **changes}).field == field
