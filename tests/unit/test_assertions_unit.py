"""Turning assertions into typed call tests (formats.assertions). Pure: literals only, nothing runs."""

from __future__ import annotations

import ast
from typing import Any

import pytest

from pytest_codeverify.cases import AssertTest, CallTest
from pytest_codeverify.formats.assertions import called_function, convert_assert, convert_check, convert_list


def convert(source: str, math_imported: bool = False) -> CallTest | None:
    (statement,) = ast.parse(source).body
    return convert_assert(statement, "f", "t", math_imported)


@pytest.mark.parametrize(("source", "args", "kwargs", "relation", "expected", "argument"), [
    ("assert f(1, 2) == 3", (1, 2), {}, "eq", 3, None),
    ("assert 3 == f(1, 2)", (1, 2), {}, "eq", 3, None),
    ("assert f([1], x=(2,)) == {'a': {1}}", ([1],), {"x": (2,)}, "eq", {"a": {1}}, None),
    ("assert f() == -1.5", (), {}, "eq", -1.5, None),
    ("assert f('s') is True", ("s",), {}, "is", True, None),
    ("assert f(0) is None", (0,), {}, "is", None, None),
    ("assert f(1)", (1,), {}, "truthy", None, None),
    ("assert not f(1)", (1,), {}, "falsy", None, None),
    ("assert abs(f(2) - 1.41) < 0.01", (2,), {}, "abs_lt", 1.41, 0.01),
    ("assert abs(f(2) - 1.41) <= 1e-3", (2,), {}, "abs_le", 1.41, 1e-3),
])
def test_convertible_shapes(source: str, args: tuple[Any, ...], kwargs: dict[str, Any], relation: str,
                            expected: Any, argument: Any) -> None:
    test = convert(source)
    assert test is not None
    assert (test.args, test.kwargs, test.relation, test.expected, test.relation_arg) == (
        args, kwargs, relation, expected, argument)
    assert test.typed and test.name == "t"


def test_args_source_is_the_original_text() -> None:
    test = convert("assert f({16, 12, 13}, key=(1,)) == 1")
    assert test is not None and test.args_source == "{16, 12, 13}, key=(1,)"


def test_isclose_needs_math_imported() -> None:
    source = "assert math.isclose(f(1), 2.0, rel_tol=1e-6)"
    assert convert(source) is None  # the original would raise NameError
    test = convert(source, math_imported=True)
    assert test is not None and (test.relation, test.expected, test.relation_arg) == ("isclose", 2.0,
                                                                                      {"rel_tol": 1e-6})


@pytest.mark.parametrize("source", [
    "assert f(x) == 1",  # not a literal argument
    "assert f(*args) == 1",
    "assert f(**kw) == 1",
    "assert g(1) == 1",  # another function
    "assert f(1) == y",
    "assert f(1) != 1",
    "assert f(1) == 1 == 1",
    "assert f(1) is 1",
    "assert f(1) is not None",
    "assert f(1) < 3",
    "assert abs(f(1) - 1) < tol",
    "assert abs(f(1) + 1) < 0.1",
    "assert math.isclose(f(1), 2, tol=3)",
    "assert math.isclose(f(1))",
    "assert f(1).x == 1",
    "assert not g(1)",
    "f(1) == 1",  # not an assert
    "assert [f(1)] == [1]",
])
def test_other_shapes_stay_assertion_code(source: str) -> None:
    assert convert(source, math_imported=True) is None


def test_convert_check_splits_converted_and_kept() -> None:
    source = ("import math\nHELPER = 2\n\ndef check(candidate):\n    assert candidate(1) == 2\n"
              "    assert candidate(2) > HELPER\n    pass\n    assert True\n")
    result = convert_check(source, "inc")
    assert (result.assertions, result.converted) == (3, 1)
    assert isinstance(result.tests[0], CallTest) and result.tests[0].name == "assert_0"
    kept = result.tests[1]
    assert isinstance(kept, AssertTest) and kept.name == "check"
    assert "candidate(2) > HELPER" in kept.code and "candidate(1) == 2" not in kept.code
    assert kept.code.endswith("check(inc)\n")
    assert "import math" in result.setup and "HELPER = 2" in result.setup


def test_convert_check_with_everything_converted_has_no_check_test() -> None:
    result = convert_check("def check(c):\n    assert c(1) == 1\n    assert not c(0)\n", "f")
    assert [t.kind for t in result.tests] == ["call", "call"]


@pytest.mark.parametrize("source", [
    "assert True\n",  # no check function
    "def check(a, b):\n    assert a(1) == b\n",  # an unexpected signature
    "def check(c):\n    pass\ndef check(c):\n    pass\n",
])
def test_convert_check_unusual_source_runs_whole(source: str) -> None:
    result = convert_check(source, "f")
    (test,) = result.tests
    assert isinstance(test, AssertTest) and test.code == f"{source}\ncheck(f)\n"


def test_convert_check_syntax_error_raises() -> None:
    with pytest.raises(SyntaxError):
        convert_check("def check(c:\n", "f")


@pytest.mark.parametrize(("assertions", "name"), [
    (["assert add(1, 2) == 3", "assert add(0, 0) == 0"], "add"),
    (["assert len(add(1)) == 1"], "add"),  # built-ins are not the entry point
    (["assert sorted(x) == []"], None),
    (["assert (", "assert g(1) == 1"], "g"),
    ([], None),
])
def test_called_function(assertions: list[str], name: str | None) -> None:
    assert called_function(assertions) == name


def test_convert_list() -> None:
    result = convert_list(["assert f(1) == 1", "assert f(2) > 1", "assert (", "x = 1; assert f(3) == 3"], "f")
    assert [t.kind for t in result.tests] == ["call", "assert", "assert", "assert"]
    assert [t.name for t in result.tests] == ["assert_0", "assert_1", "assert_2", "assert_3"]
    assert (result.assertions, result.converted) == (3, 1)
    unconverted = convert_list(["assert f(1) == 1"], "f", convert=False)
    assert [t.kind for t in unconverted.tests] == ["assert"] and unconverted.converted == 0
