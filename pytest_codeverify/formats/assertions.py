"""Turning assertion tests into typed call tests, judged outside the sandbox.

``assert f(1, 2) == 3`` needs nothing but ``f``'s return value: the arguments and the expected
value are literals, read here with :func:`ast.literal_eval` (no code runs), and the returned
value leaves the sandbox as a plain built-in value compared in the trusted process exactly as
Python's ``==`` would. Statements of any other shape stay assertion code run in the sandbox.
"""

from __future__ import annotations

import ast
import builtins
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..cases import AssertTest, CallTest

_NO_VALUE = object()


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NO_VALUE


_Call = tuple[tuple[Any, ...], dict[str, Any], str]


def _literal_call(node: ast.expr, function: str) -> _Call | None:
    """``(args, kwargs, source)`` when ``node`` is ``function(<literals>)``.

    ``source`` is the arguments' own text: the sandbox builds the arguments from it exactly as
    the original call would (a set literal's iteration order depends on how it was built).
    """
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == function):
        return None
    args: list[Any] = []
    for arg in node.args:
        value = _NO_VALUE if isinstance(arg, ast.Starred) else _literal(arg)
        if value is _NO_VALUE:
            return None
        args.append(value)
    kwargs: dict[str, Any] = {}
    for keyword in node.keywords:
        if keyword.arg is None:  # **mapping
            return None
        value = _literal(keyword.value)
        if value is _NO_VALUE:
            return None
        kwargs[keyword.arg] = value
    source = ", ".join([ast.unparse(arg) for arg in node.args]
                       + [f"{keyword.arg}={ast.unparse(keyword.value)}" for keyword in node.keywords])
    return tuple(args), kwargs, source


def convert_assert(statement: ast.stmt, function: str, name: str, math_imported: bool = False) -> CallTest | None:
    """The typed call test equivalent to ``statement``, or ``None`` when it has another shape.

    Shapes: ``f(..) == lit``, ``lit == f(..)``, ``f(..) is True/False/None``, ``f(..)``,
    ``not f(..)``, ``abs(f(..) - lit) < tol`` (or ``<=``), ``math.isclose(f(..), lit, ...)``
    (only where ``math`` is imported, else the original would raise ``NameError``).
    """
    if not isinstance(statement, ast.Assert):
        return None
    test = statement.test

    def made(call: _Call, relation: str, expected: Any = None, argument: Any = None) -> CallTest:
        args, kwargs, source = call
        return CallTest(args, kwargs, expected, name=name, typed=True, relation=relation, relation_arg=argument,
                        args_source=source)

    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, op, right = test.left, test.ops[0], test.comparators[0]
        if isinstance(op, ast.Eq):
            for call_node, literal_node in ((left, right), (right, left)):
                call = _literal_call(call_node, function)
                expected = _literal(literal_node)
                if call is not None and expected is not _NO_VALUE:
                    return made(call, "eq", expected)
        if isinstance(op, ast.Is) and isinstance(right, ast.Constant) and right.value in (True, False, None) \
                and type(right.value) in (bool, type(None)):
            call = _literal_call(left, function)
            if call is not None:
                return made(call, "is", right.value)
        if isinstance(op, (ast.Lt, ast.LtE)) and isinstance(left, ast.Call) and isinstance(left.func, ast.Name) \
                and left.func.id == "abs" and len(left.args) == 1 and not left.keywords:
            inner = left.args[0]
            tolerance = _literal(right)
            if isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Sub) and tolerance is not _NO_VALUE:
                call = _literal_call(inner.left, function)
                expected = _literal(inner.right)
                if call is not None and expected is not _NO_VALUE:
                    return made(call, "abs_lt" if isinstance(op, ast.Lt) else "abs_le", expected, tolerance)
        return None
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        call = _literal_call(test.operand, function)
        return made(call, "falsy") if call is not None else None
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute) and test.func.attr == "isclose" \
            and isinstance(test.func.value, ast.Name) and test.func.value.id == "math":
        if not math_imported or len(test.args) != 2:
            return None
        call = _literal_call(test.args[0], function)
        expected = _literal(test.args[1])
        options = {k.arg: _literal(k.value) for k in test.keywords}
        if call is None or expected is _NO_VALUE or any(k not in ("rel_tol", "abs_tol") or v is _NO_VALUE
                                                         for k, v in options.items()):
            return None
        return made(call, "isclose", expected, options)
    call = _literal_call(test, function)
    return made(call, "truthy") if call is not None else None


def _imports_math(tree: ast.AST) -> bool:
    return any(isinstance(node, ast.Import) and any(alias.name == "math" and alias.asname is None
                                                    for alias in node.names)
               for node in ast.walk(tree))


def _trivially_true(statement: ast.stmt) -> bool:
    """``pass``, a docstring, or ``assert <true constant>``: running it can change nothing."""
    if isinstance(statement, ast.Pass):
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        return True
    return isinstance(statement, ast.Assert) and isinstance(statement.test, ast.Constant) and bool(statement.test.value)


@dataclass
class Conversion:
    """The tests made from a body of assertions, and how many assertions were converted."""

    tests: list[CallTest | AssertTest] = field(default_factory=list)
    setup: str = ""
    assertions: int = 0
    converted: int = 0


def convert_check(test_source: str, entry_point: str) -> Conversion:
    """HumanEval's ``test`` field: ``def check(candidate)`` plus top-level helpers.

    Each convertible assertion in ``check``'s body becomes a typed call test; the rest of the
    body stays one assertion test, ``check(<entry_point>)``, with the top-level statements
    (imports, ``METADATA``, helpers) as its setup. Raises ``SyntaxError`` on bad source.
    """
    tree = ast.parse(test_source)
    checks = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "check"]
    if len(checks) != 1 or len(checks[0].args.args) != 1:
        return Conversion([AssertTest(f"{test_source}\ncheck({entry_point})\n", name="check")])
    check = checks[0]
    parameter = check.args.args[0].arg
    setup = "\n".join(ast.unparse(node) for node in tree.body if node is not check)
    math_imported = _imports_math(tree)
    result = Conversion(setup=setup)
    kept: list[ast.stmt] = []
    for position, statement in enumerate(check.body):
        if isinstance(statement, ast.Assert):
            result.assertions += 1
        converted = convert_assert(statement, parameter, f"assert_{position}", math_imported)
        if converted is not None:
            result.tests.append(converted)
            result.converted += 1
        elif not _trivially_true(statement):
            kept.append(statement)
    if kept:
        remaining = ast.FunctionDef(name="check", args=check.args, body=kept, decorator_list=[],  # type: ignore[call-arg]
                                    returns=None, type_params=[])
        code = ast.unparse(ast.fix_missing_locations(ast.Module(body=[remaining], type_ignores=[])))
        result.tests.append(AssertTest(f"{code}\ncheck({entry_point})\n", name="check"))
    return result


def called_function(assertions: list[str], builtin_names: bool = False) -> str | None:
    """The function most assertions call (MBPP's entry point), ignoring built-ins unless
    ``builtin_names`` (for a solution that names its function ``sum``)."""
    names: Counter[str] = Counter()
    for source in assertions:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and (builtin_names or not hasattr(builtins, node.func.id)):
                names[node.func.id] += 1
                break
    return names.most_common(1)[0][0] if names else None


def convert_list(assertions: list[str], entry_point: str, convert: bool = True) -> Conversion:
    """MBPP's ``test_list``: each assertion string becomes a typed call test or stays itself."""
    result = Conversion()
    for position, source in enumerate(assertions):
        name = f"assert_{position}"
        try:
            tree = ast.parse(source)
        except SyntaxError:
            tree = None
        if tree is not None:
            result.assertions += sum(isinstance(s, ast.Assert) for s in tree.body)
        if convert and tree is not None and len(tree.body) == 1:
            converted = convert_assert(tree.body[0], entry_point, name, math_imported=False)
            if converted is not None:
                result.tests.append(converted)
                result.converted += 1
                continue
        result.tests.append(AssertTest(source, name=name))
    return result
