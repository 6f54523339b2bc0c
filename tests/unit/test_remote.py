"""The channel between an assertion test's two processes, in one process: no sandbox needed.

A "program" endpoint serves in a thread; the test's endpoint (:class:`AssertingEnd`, which distrusts
the other side) asks. What crosses must be plain data or a handle, whatever the program does.
"""

from __future__ import annotations

import enum
import os
import threading
from collections import Counter, namedtuple
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_codeverify.protocol import ProtocolError, encode_frame
from pytest_codeverify.sandbox.handles import MAX_BATCH, Remote
from pytest_codeverify.sandbox.remote import Endpoint
from pytest_codeverify.sandbox.stubs import AssertingEnd


class Ended(Exception):
    """Raised instead of ending the process when the test's side would report and exit."""

    def __init__(self, outcome: dict[str, Any]) -> None:
        super().__init__(outcome)
        self.outcome = outcome


class QuietTestEnd(AssertingEnd):
    def finish(self, outcome: dict[str, Any], code: int) -> Any:
        self.active = False
        raise Ended(outcome)


class Program(Endpoint):
    """The program's side, serving a namespace."""

    def __init__(self, in_fd: int, out_fd: int, namespace: dict[str, Any]) -> None:
        super().__init__(in_fd, out_fd)
        self.namespace = namespace

    def lookup(self, name: str) -> Any:
        try:
            return self.namespace[name]
        except KeyError:
            raise NameError(name) from None


def _serve(program: Program) -> None:
    try:
        while True:
            program.send(program.serve(program.receive()))
    except (ProtocolError, OSError):
        return


@pytest.fixture
def channel() -> Iterator[tuple[QuietTestEnd, dict[str, Any]]]:
    """The test's endpoint and the program's namespace (fill it before asking)."""
    to_program_r, to_program_w = os.pipe()
    to_test_r, to_test_w = os.pipe()
    namespace: dict[str, Any] = {}
    program = Program(to_program_r, to_test_w, namespace)
    thread = threading.Thread(target=_serve, args=(program,), daemon=True)
    thread.start()
    test = QuietTestEnd(to_test_r, to_program_w, None, report=None)
    yield test, namespace
    os.close(to_program_w)
    thread.join(5)
    for fd in (to_program_r, to_test_r, to_test_w):
        os.close(fd)


def name(test: AssertingEnd, key: str) -> Any:
    return test.ask({"op": "global", "name": key})


class AlwaysEqual:
    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


def test_plain_values_cross_exactly(channel: tuple[QuietTestEnd, dict[str, Any]]) -> None:
    test, namespace = channel
    value = {"t": (1, 2.5, None, True), "s": {3, 4}, "f": frozenset({5}), "b": b"\x00", "c": 1j, "big": 7 ** 9000,
             "l": [float("inf"), -0.0, "\ud800"]}
    namespace["f"] = lambda: value
    got = name(test, "f")()
    assert got == value and type(got["t"]) is tuple and type(got["f"]) is frozenset and got["big"] == 7 ** 9000


def test_subclasses_of_builtins_arrive_as_their_exact_values(channel: tuple[QuietTestEnd, dict[str, Any]]) -> None:
    test, namespace = channel

    class Lying(int):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = int.__hash__

    class Color(enum.IntEnum):
        RED = 1

    pair = namedtuple("pair", "x y")
    namespace.update(values=lambda: [Counter("aab"), Lying(0), Color.RED, pair(1, 2)])
    counter, lying, color, point = name(test, "values")()
    assert (type(counter), type(lying), type(color), type(point)) == (dict, int, int, tuple)
    assert counter == {"a": 2, "b": 1} and lying != 5 and color == 1 and point == (1, 2)


def test_other_objects_are_handles_equal_only_to_themselves(channel: tuple[QuietTestEnd, dict[str, Any]]) -> None:
    test, namespace = channel
    always = AlwaysEqual()
    namespace.update(make=lambda: always)
    first, second = name(test, "make")(), name(test, "make")()
    assert type(first) is Remote and first is second  # the same object, the same handle
    assert first != 5 and not (first == 5) and first not in [5, "5", None] and first == first
    with pytest.raises(TypeError):
        abs(first)
    with pytest.raises(TypeError):
        first < 1  # noqa: B015
    with pytest.raises(TypeError):
        float(first)


def test_iterating_fetches_ahead_but_yields_in_order(channel: tuple[QuietTestEnd, dict[str, Any]]) -> None:
    test, namespace = channel
    namespace["gen"] = lambda n: (i for i in range(n))
    assert list(name(test, "gen")(3 * MAX_BATCH)) == list(range(3 * MAX_BATCH))
    g = name(test, "gen")(10)
    assert (next(g), next(g), next(g)) == (0, 1, 2)
    assert list(g) == list(range(3, 10)) and list(g) == []
    assert 7 in name(test, "gen")(10) and 11 not in name(test, "gen")(10)


def test_exceptions_keep_their_type_and_message(channel: tuple[QuietTestEnd, dict[str, Any]]) -> None:
    test, namespace = channel

    class Refused(ValueError):
        pass

    def refuse(kind: type[BaseException]) -> None:
        raise kind("no")

    namespace.update(refuse=refuse, Refused=Refused)
    with pytest.raises(KeyError) as caught:
        name(test, "refuse")(KeyError)
    assert caught.value._codeverify_remote == "'no'"  # type: ignore[attr-defined]
    made_here = name(test, "Refused")  # the program's class, as a class of the test's side
    assert made_here is not Refused and issubclass(made_here, ValueError)
    with pytest.raises(made_here) as mine:
        name(test, "refuse")(made_here)  # and back to the program as its own class
    assert type(mine.value).__name__ == "Refused"
    with pytest.raises(RuntimeError, match="StopIteration"):  # never ends a loop of the test's
        name(test, "refuse")(StopIteration)


def test_a_call_changes_list_dict_and_set_arguments_in_place(channel: tuple[QuietTestEnd, dict[str, Any]]) -> None:
    test, namespace = channel

    def change(items: list[Any], table: dict[str, Any], seen: set[int]) -> None:
        items[1].append("x")
        items.append([0])
        table["k"] = 1
        seen.add(3)

    namespace.update(change=change, order=lambda items: items.sort())
    inner = [1]
    items, table, seen = [[2], inner], {}, {1}
    name(test, "change")(items, table=table, seen=seen)
    assert items == [[2], [1, "x"], [0]] and items[1] is inner and table == {"k": 1} and seen == {1, 3}
    name(test, "order")(items)
    assert items == [[0], [1, "x"], [2]]  # values as the program left them (moved inner lists are copies)


def test_the_program_calls_back_and_reads_only_the_tests_own_objects(
        channel: tuple[QuietTestEnd, dict[str, Any]]) -> None:
    test, namespace = channel
    node = type("Node", (), {"__module__": "__main__"})()
    node.value, node._hidden = 3, "secret"
    namespace.update(apply=lambda f, x: f(x), read=lambda obj, attr: getattr(obj, attr),
                     peek=lambda f, attr: getattr(f, attr))
    assert name(test, "apply")(lambda v: v * 2, 21) == 42
    assert name(test, "apply")(len, "abc") == 3  # built-ins cross by name
    assert name(test, "read")(node, "value") == 3
    with pytest.raises(AttributeError):
        name(test, "read")(node, "_hidden")
    with pytest.raises(AttributeError):  # a function's code and globals are never reachable
        name(test, "peek")(lambda: None, "__globals__")
    with pytest.raises(AttributeError):
        name(test, "peek")(iter([1]), "gi_frame")


def test_the_program_may_not_look_up_the_tests_names() -> None:
    end = QuietTestEnd(-1, -1, None, report=None)
    with pytest.raises(NameError):
        end.lookup("expected")


@pytest.mark.parametrize("data", [
    {"global": ["os", "system"]},  # the test's side accepts no standard-library names
    {"builtin": "nope"}, {"builtin": "__debug__"}, {"module": "site"}, {"module": "os; rm"},
    {"float": 1.5}, {"int": "zz"}, {"yours": 99}, {"mine": -1}, {"exc": ["E", "ValueError", "1"]},
    {"tuple": [1], "extra": 2}, 1.5, {"range": [1, 2, "3"]},
])
def test_malformed_data_from_the_program_is_refused(data: Any) -> None:
    end = QuietTestEnd(-1, -1, None, report=None)
    with pytest.raises(ProtocolError):
        end.decode(data)


@pytest.mark.parametrize(("sent", "status", "text"), [
    (encode_frame({"ok": {"global": ["os", "system"]}}), "exception", "global"),
    (encode_frame({"no": "result"}), "exception", "without a result"),
    (b"\x00\x00\x00\x03{[}", "exception", "unreadable"),
    (b"\xff\xff\xff\xff", "exception", "oversized"),
    (b"", "exited", "ended before"),
])
def test_a_bad_or_missing_reply_ends_the_test(sent: bytes, status: str, text: str) -> None:
    to_test_r, to_test_w = os.pipe()
    sink = os.open(os.devnull, os.O_WRONLY)
    end = QuietTestEnd(to_test_r, sink, None, report=None)
    os.write(to_test_w, sent)
    os.close(to_test_w)
    with pytest.raises(Ended) as ended:
        end.ask({"op": "global", "name": "x"})
    assert ended.value.outcome["status"] == status and text in ended.value.outcome["message"]
    os.close(to_test_r)
    os.close(sink)


def test_the_test_code_travels_in_its_own_frame_passed_on_unread() -> None:
    from pytest_codeverify.protocol import Job, decode_body, read_frame
    from pytest_codeverify.sandbox.assertion import pass_test_frame

    job = Job(code="def f(): pass", mode="assert", setup="import math", assert_code="assert f() == 'expected-7f3a'",
              entry_point="f")
    frames = job.to_frames(7) + job.to_frames(8)
    stream_r, stream_w = os.pipe()
    os.write(stream_w, frames)
    first = read_frame(stream_r)
    assert first is not None and first["test_frame"] is True and first["entry_point"] == "f"
    assert "expected-7f3a" not in repr(first)
    test_r, test_w = os.pipe()
    pass_test_frame(stream_r, test_w)  # closes test_w
    assert decode_body(os.read(test_r, 1 << 16)) == {"type": "test", "setup": "import math",
                                                     "assert": "assert f() == 'expected-7f3a'"}
    # Discarded (no test process), or to a test process that is gone: the stream stays in step.
    assert read_frame(stream_r)["id"] == 8  # type: ignore[index]
    gone_r, gone_w = os.pipe()
    os.close(gone_r)
    pass_test_frame(stream_r, gone_w)
    os.write(stream_w, Job(code="pass").to_frames(9))
    assert read_frame(stream_r)["id"] == 9  # type: ignore[index]
    for fd in (stream_r, stream_w, test_r):
        os.close(fd)
