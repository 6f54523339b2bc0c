"""The case model: one candidate program, its tests and limits, validated.

A *case* is what one input record becomes: a candidate (``code``, or the ``response`` it was
extracted from) plus tests. Dataset readers (:mod:`pytest_codeverify.formats`) produce cases;
the engine runs them. Nothing here runs code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import config, languages
from .config import DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT

if TYPE_CHECKING:
    from .judge.checkers import Checker
    from .judge.interactors import Interactor

#: Every language a record may name (see :mod:`pytest_codeverify.languages`).
LANGUAGES = languages.names()
COMPARE_MODES = ("tokens", "lines", "exact")


class CaseError(ValueError):
    """A record that cannot become a case; names the file, line and field at fault."""

    def __init__(self, message: str, *, path: str = "", line: int = 0, field: str = "") -> None:
        self.message = message
        self.path = path
        self.line = line
        self.field = field
        super().__init__(str(self))

    def located(self, path: str, line: int) -> CaseError:
        """The same error, placed at ``path:line``."""
        return CaseError(self.message, path=path, line=line, field=self.field)

    def __str__(self) -> str:
        if self.path:  # a whole-file error (unreadable file) has no line to name
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        else:
            where = f"line {self.line}: " if self.line else ""
        what = f"field {self.field!r}: " if self.field else ""
        return f"{where}{what}{self.message}"


@dataclass(frozen=True)
class Compare:
    """How stdout is judged: ``tokens``, ``lines``, ``exact``, or tokens with float tolerance."""

    mode: str = "tokens"
    tolerance: float | None = None

    @classmethod
    def parse(cls, value: Any) -> Compare:
        if value is None:
            return TOKENS
        if isinstance(value, str) and value in COMPARE_MODES:
            return cls(value)
        if isinstance(value, dict) and set(value) == {"float"}:
            tol = value["float"]
            if isinstance(tol, (int, float)) and not isinstance(tol, bool) and config.finite(tol) and tol >= 0:
                return cls("float", float(tol))
        raise CaseError(f"must be one of {', '.join(COMPARE_MODES)} or {{\"float\": <tolerance>}}, "
                        f"got {value!r}", field="compare")

    def __str__(self) -> str:
        return f"float({self.tolerance:g})" if self.mode == "float" else self.mode


#: The default comparison, one object shared by every case that does not choose its own.
TOKENS = Compare()


@dataclass(frozen=True, slots=True)  # slots: a dataset holds one per test (100,000s)
class StdioTest:
    """Feed ``input`` on stdin; judge stdout against ``output``."""

    __test__ = False
    input: str
    output: str
    name: str = ""
    time_limit: float | None = None
    #: Other outputs that are right too (a problem with several right answers, listed).
    accepted: tuple[str, ...] = ()
    kind = "stdio"


@dataclass(frozen=True)
class CallTest:
    """Call the case's entry point with ``args``/``kwargs``; judge the return value.

    ``expected`` is the value to compare with. ``typed`` says that args and expected are
    Python values compared with Python's ``==`` (converted assertions); otherwise they are JSON
    values and the returned value is compared as JSON (tuples as lists). With ``typed``,
    ``relation`` names the assertion the test came from (see :data:`RELATIONS`); ``expected`` is
    then its right-hand side (a tolerance or ``math.isclose`` arguments ride in ``relation_arg``).
    """

    __test__ = False
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    expected: Any
    name: str = ""
    time_limit: float | None = None
    typed: bool = False
    relation: str = "eq"
    relation_arg: Any = None
    #: With ``typed``: the arguments as literal source text (``args`` and ``kwargs`` are its
    #: values), evaluated inside the sandbox so they are built exactly as the original call built them.
    args_source: str | None = None
    kind = "call"


@dataclass(frozen=True)
class AssertTest:
    """Run ``code`` after the candidate's definitions; passes when it reaches its end."""

    __test__ = False
    code: str
    name: str = ""
    time_limit: float | None = None
    kind = "assert"


#: How a converted assertion relates the returned value to ``expected``: ``eq`` (``==``),
#: ``is`` (identity with True/False/None), ``truthy`` / ``falsy`` (``assert f()`` / ``assert not
#: f()``), ``abs_lt`` / ``abs_le`` (``abs(f() - expected) < tol``), ``isclose`` (``math.isclose``).
RELATIONS = ("eq", "is", "truthy", "falsy", "abs_lt", "abs_le", "isclose")

TestSpec = StdioTest | CallTest | AssertTest


@dataclass(frozen=True)
class Case:
    """One candidate with its tests and limits, ready to run.

    ``code`` is ``None`` when no program could be extracted from the response; then
    ``code_error`` says why, and every test fails with it.
    """

    id: str
    problem_id: str
    tests: tuple[TestSpec, ...]
    code: str | None
    code_error: str | None = None
    language: str = "python"
    entry_point: str | None = None
    time_limit: float = DEFAULT_TIME_LIMIT
    memory_limit: int = DEFAULT_MEMORY_LIMIT
    compare: Compare = TOKENS
    setup_code: str = ""
    path: str = ""
    line: int = 0
    index: int = 0  # position among the cases one line yields (several samples)
    format: str = "native"
    extracted: str | None = None  # what was extracted from ``response`` (for the rewards file)
    #: Multiplies every declared time limit (``--codeverify-time-scale``).
    time_scale: float = 1.0
    #: The problem's reference solution (MBPP ``code``, HumanEval ``canonical_solution``, ...),
    #: run by ``--codeverify-calibrate``; never the candidate's business.
    reference: str | None = None
    #: The limit calibration measured for this problem on this machine (see :mod:`.calibration`).
    calibrated_limit: float | None = None
    #: Problems of the dataset itself found while verifying (a reference failing its tests).
    notes: tuple[str, ...] = ()
    #: The problem's checker (:class:`~pytest_codeverify.judge.checkers.Checker`), judging
    #: stdin/stdout tests in a sandbox job of its own instead of comparing text.
    checker: Checker | None = None
    #: The problem's interactor (:class:`~pytest_codeverify.judge.interactors.Interactor`):
    #: each stdin/stdout test is a dialogue with it, in a sandbox of its own, and it decides.
    interactor: Interactor | None = None

    def __post_init__(self) -> None:
        check_test_kinds(self.language, self.tests)

    def test_name(self, position: int) -> str:
        """The stable, unique name of the test at ``position``."""
        test = self.tests[position]
        return test.name or f"test_{position}"

    def limit_for(self, test: TestSpec) -> float:
        """The CPU seconds ``test`` may use: its declared limit times the time scale, raised to
        the calibrated limit when calibration measured more."""
        declared = test.time_limit if test.time_limit is not None else self.time_limit
        return max(declared * self.time_scale, self.calibrated_limit or 0.0)

    def time_limits(self) -> list[float]:
        """The distinct limits its tests run under, in test order (for the rewards line)."""
        return list(dict.fromkeys(self.limit_for(test) for test in self.tests))


def positive_number(value: Any, name: str) -> float:
    """Validate a positive, finite number from a record's field ``name``."""
    try:
        return config.positive_number(value, name)
    except config.ConfigError as exc:
        raise CaseError(str(exc).split(": ", 1)[1], field=name) from None


def positive_int(value: Any, name: str) -> int:
    """Validate a positive whole number from a record's field ``name``."""
    try:
        return config.positive_int(value, name)
    except config.ConfigError as exc:
        raise CaseError(str(exc).split(": ", 1)[1], field=name) from None


def text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise CaseError(f"must be a string, got {type(value).__name__}", field=name)
    return value


def check_language(value: Any) -> str:
    """A record's language as a registry name: a name (any case) or CodeContests' numeric code."""
    coded = languages.from_code(value)
    language = coded if coded is not None else text(value, "language").lower()
    if language not in LANGUAGES:
        named = f" ({coded} in CodeContests' codes)" if coded is not None else ""
        raise CaseError(f"unknown language {value!r}{named} (supported: {', '.join(LANGUAGES)})", field="language")
    return language


def check_test_kinds(language: str, tests: tuple[TestSpec, ...]) -> None:
    """Only Python runs call and assertion tests; other languages are judged on stdin/stdout."""
    if languages.is_native(language):
        return
    for test in tests:
        if test.kind != "stdio":
            raise CaseError(f"language {language!r} runs stdin/stdout tests only, but a test is a {test.kind} test "
                            "(call and assertion tests need Python)", field="language")
