"""The protocol module: value codec, framing, messages. Pure, no sandbox."""

from __future__ import annotations

import json
import math
import os
import struct
from collections import Counter, OrderedDict, namedtuple
from typing import Any

import pytest

from pytest_codeverify.protocol import (
    FRAME_HEADER,
    MAX_FRAME,
    PROTOCOL_VERSION,
    STATUSES,
    FrameReader,
    Job,
    KilledFor,
    Mode,
    ProtocolError,
    RawResult,
    Status,
    UnsupportedValue,
    check_hello,
    decode_body,
    decode_value,
    encode_frame,
    encode_value,
    hello_message,
    read_exact,
    read_frame,
    type_name,
    write_all,
    write_frame,
)

WIDE = 7 ** 6000  # more than 5,000 decimal digits: past str(int)'s default limit

ROUND_TRIP = [
    None, True, False, 0, 1, -1, 2 ** 60, 2 ** 60 + 1, -(2 ** 61), 2 ** 63, -(2 ** 64) - 1,
    WIDE, -WIDE, 10 ** 5000 + 7,
    0.0, 1.5, -2.25, 1e308, 5e-324, 0.1 + 0.2, float("inf"), float("-inf"),
    1j, complex(1.5, -0.0), complex(float("inf"), 2),
    "", "text", "ünïcödé ✓", "\x00\n\t", "\ud800 lone",
    b"", b"\x00\xff\x80bytes",
    [], [1, [2, [3, []]]], (), (1,), (1, (2, 3)), ([], ()),
    {}, {"a": 1}, {(1, 2): "tuple key", 3: [4], None: None, frozenset({1}): b"x"},
    set(), {1, 2, 3}, frozenset(), frozenset({"a", (1, 2)}),
    {"nested": [{"x": (1, {2.5, 3}), "y": {b"k": [None, True]}}]},
    [WIDE, (WIDE, -WIDE), {WIDE: WIDE}],
]


def same(a: Any, b: Any) -> bool:
    """Equal values of identical types all the way down (floats by representation)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b)
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


@pytest.mark.parametrize("value", ROUND_TRIP, ids=lambda v: type(v).__name__)
def test_value_round_trips_exactly(value: Any) -> None:
    encoded = encode_value(value)
    assert same(decode_value(encoded), value)
    # and survives JSON, which is how it travels
    assert same(decode_value(json.loads(json.dumps(encoded))), value)


@pytest.mark.parametrize("value", [float("nan"), -0.0, complex(float("nan"), -0.0)], ids=repr)
def test_special_floats_keep_their_representation(value: Any) -> None:
    assert repr(decode_value(json.loads(json.dumps(encode_value(value))))) == repr(value)


def test_negative_zero_keeps_its_sign() -> None:
    decoded = decode_value(encode_value(-0.0))
    assert isinstance(decoded, float) and math.copysign(1.0, decoded) == -1.0


def test_wide_int_travels_as_hex_text() -> None:
    encoded = encode_value(WIDE)
    assert isinstance(encoded, dict) and set(encoded) == {"int"}
    assert json.loads(json.dumps(encoded)) == encoded  # no int-to-str digit limit on the way
    assert decode_value(encoded) == WIDE


def test_narrow_int_stays_a_json_number() -> None:
    assert encode_value(2 ** 60 - 1) == 2 ** 60 - 1
    assert encode_value(-(2 ** 60 - 1)) == -(2 ** 60 - 1)
    assert isinstance(encode_value(2 ** 60), dict)


def test_bool_is_not_an_int() -> None:
    assert decode_value(encode_value(True)) is True
    assert decode_value(encode_value([1, True])) == [1, True]
    assert type(decode_value(encode_value([1, True]))[1]) is bool  # type: ignore[index]


def test_tuple_list_set_frozenset_are_told_apart() -> None:
    values = decode_value(encode_value([(1,), [1], {1}, frozenset({1})]))
    assert [type(v) for v in values] == [tuple, list, set, frozenset]  # type: ignore[union-attr]


class MyInt(int):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = int.__hash__


class MyStr(str):
    pass


Point = namedtuple("Point", "x y")


@pytest.mark.parametrize("value", [
    MyInt(3), MyStr("s"), Counter("aab"), OrderedDict(a=1), Point(1, 2), bytearray(b"x"),
    object(), len, [1, MyInt(2)], {"k": Point(1, 2)}, (1, {MyStr("x")}), range(3),
], ids=lambda v: type(v).__name__)
def test_subclasses_and_other_types_are_refused(value: Any) -> None:
    with pytest.raises(UnsupportedValue):
        encode_value(value)


def test_refusal_names_the_type() -> None:
    with pytest.raises(UnsupportedValue, match=r"collections\.Counter"):
        encode_value(Counter())
    assert type_name(int) == "int"
    assert type_name(Counter) == "collections.Counter"


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def test_depth_limit() -> None:
    assert decode_value(encode_value(nested(150))) == nested(150)
    with pytest.raises(UnsupportedValue, match="deeply"):
        encode_value(nested(1000))
    with pytest.raises(ProtocolError, match="deeply"):
        decode_value(nested(1000))


@pytest.mark.parametrize("data", [
    1.5,  # a bare float is never produced: floats travel tagged
    {},
    {"a": 1, "b": 2},
    {"unknown": 1},
    {"int": 5},
    {"int": "zz"},
    {"float": 1.5},
    {"float": "abc"},
    {"tuple": "not a list"},
    {"set": [[1]]},  # unhashable element
    {"frozenset": [{"dict": []}]},
    {"dict": [[[1], 2]]},  # unhashable key
    {"dict": [[1, 2, 3]]},
    {"dict": ["ab"]},  # a two-letter string is no [key, value] pair
    {"dict": [{"x": 1, "y": 2}]},
    {"dict": "x"},
    {"bytes": "!!!"},
    {"bytes": 5},
    {"complex": ["1"]},
    {"complex": ["1", 2]},
    {"complex": "1+2j"},
    [1, {"float": None}],
], ids=repr)
def test_malformed_encoded_data_is_a_protocol_error(data: Any) -> None:
    with pytest.raises(ProtocolError):
        decode_value(data)


# --- framing -----------------------------------------------------------------------------


def test_frame_round_trip_with_lone_surrogate() -> None:
    message = {"type": "x", "text": "a\ud800b\udfff", "n": [1, 2]}
    frame = encode_frame(message)
    frame.decode("ascii")  # ASCII on the wire, whatever the strings hold
    reader = FrameReader()
    reader.feed(frame)
    assert reader.next_frame() == message
    assert reader.next_frame() is None


@pytest.mark.parametrize("cut", [1, 3, 4, 5, 10])
def test_frames_split_across_feeds(cut: int) -> None:
    first, second = {"type": "a", "v": "x" * 20}, {"type": "b"}
    stream = encode_frame(first) + encode_frame(second)
    reader = FrameReader()
    got = []
    for start in range(0, len(stream), cut):
        reader.feed(stream[start:start + cut])
        while (frame := reader.next_frame()) is not None:
            got.append(frame)
    assert got == [first, second]


def test_header_is_big_endian_length() -> None:
    frame = encode_frame({"a": 1})
    (size,) = struct.unpack(">I", frame[:4])
    assert size == len(frame) - 4 == FRAME_HEADER.size + len(frame) - 8


def test_oversized_frame_is_refused_from_its_header() -> None:
    reader = FrameReader()
    reader.feed(FRAME_HEADER.pack(MAX_FRAME + 1))
    with pytest.raises(ProtocolError, match="oversized"):
        reader.next_frame()


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"3", b"null", b"{not json", b"\xff\xfe", b""])
def test_frame_body_must_be_a_json_object(body: bytes) -> None:
    reader = FrameReader()
    reader.feed(FRAME_HEADER.pack(len(body)) + body)
    with pytest.raises(ProtocolError):
        reader.next_frame()
    with pytest.raises(ProtocolError):
        decode_body(body)


# --- messages ----------------------------------------------------------------------------


def result_message(**changes: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "result", "id": 1, "exit_code": 0, "signal": None, "stdout": "aGk=", "stderr": "",
        "stdout_truncated": False, "stderr_truncated": False, "cpu_s": 0.25, "wall_s": 0.5,
        "killed_for": None, "outcome": {"status": "ok", "value": 3}, "max_rss_kb": 1024,
    }
    message.update(changes)
    return message


def test_raw_result_from_a_valid_message() -> None:
    raw = RawResult.from_message(result_message(), oom_killed=True)
    assert raw.stdout == b"hi" and raw.stderr == b""
    assert raw.cpu_s == 0.25 and raw.wall_s == 0.5 and raw.max_rss_kb == 1024
    assert raw.oom_killed and raw.killed_for is None
    assert raw.status is Status.OK


@pytest.mark.parametrize("killed_for", [k.value for k in KilledFor])
def test_raw_result_accepts_each_kill_reason(killed_for: str) -> None:
    assert RawResult.from_message(result_message(killed_for=killed_for)).killed_for == killed_for


def test_raw_result_without_outcome_has_no_status() -> None:
    raw = RawResult.from_message(result_message(outcome=None, max_rss_kb=None))
    assert raw.status is None and raw.max_rss_kb == 0


def test_raw_result_of_a_signalled_run() -> None:
    raw = RawResult.from_message(result_message(exit_code=None, signal=9, stdout_truncated=True))
    assert (raw.exit_code, raw.signal, raw.stdout_truncated) == (None, 9, True)


@pytest.mark.parametrize("changes", [
    {"killed_for": "boredom"},
    {"outcome": {"status": "great"}},
    {"outcome": {"value": 1}},
    {"outcome": ["ok"]},
    {"outcome": {"status": ["ok"]}},
    {"stdout": "a"},  # bad base64 padding
    {"cpu_s": None},
    {"wall_s": "fast"},
    {"max_rss_kb": "lots"},
    {"exit_code": "0"},  # the judge compares exit codes and signals with ints
    {"exit_code": 0.0},
    {"exit_code": True},
    {"signal": [9]},
    {"signal": "9"},
    {"stdout_truncated": "false"},  # a non-empty string would read as true
    {"stderr_truncated": 0},
], ids=repr)
def test_raw_result_from_a_malformed_message(changes: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        RawResult.from_message(result_message(**changes))


@pytest.mark.parametrize("key", ["exit_code", "signal", "stdout", "stderr", "stdout_truncated", "cpu_s",
                                 "wall_s", "killed_for"])
def test_raw_result_missing_field(key: str) -> None:
    message = result_message()
    del message[key]
    with pytest.raises(ProtocolError, match=key):
        RawResult.from_message(message)


def test_statuses_are_every_status_value() -> None:
    assert {Status(s) for s in STATUSES} == set(Status)


def test_hello_round_trip() -> None:
    check_hello(hello_message(init=True, python="3.11"))


@pytest.mark.parametrize("message", [
    {"type": "hello", "protocol": PROTOCOL_VERSION - 1},
    {"type": "hello", "protocol": str(PROTOCOL_VERSION)},
    {"type": "hello"},
    {"type": "result", "protocol": PROTOCOL_VERSION},
    {},
], ids=repr)
def test_hello_mismatch_is_refused(message: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        check_hello(message)


def test_job_message_stdin_mode() -> None:
    message = Job("print(1)", stdin=b"\x00in").to_message(7)
    assert message["type"] == "job" and message["id"] == 7 and message["mode"] == Mode.STDIN.value
    assert message["stdin"] == "AGlu"
    assert not {"entry_point", "args", "kwargs", "setup", "assert"} & set(message)
    assert {"cpu_limit", "wall_limit", "output_limit"} <= set(message)
    assert "expected" not in json.dumps(message)


def test_job_message_call_mode() -> None:
    job = Job("def f(x): return x", mode=Mode.CALL.value, entry_point="f", args=[1], kwargs={"dict": []})
    message = job.to_message(1)
    assert (message["entry_point"], message["args"], message["kwargs"]) == ("f", [1], {"dict": []})
    assert "args_source" not in message and "assert" not in message
    with_source = Job("", mode=Mode.CALL.value, entry_point="f", args_source="{1, 2}").to_message(2)
    assert with_source["args_source"] == "{1, 2}"


def test_job_message_assert_mode_and_extra() -> None:
    """The test code of an assertion job is not in its job frame but in a frame of its own,
    which the runner passes on unread to the test's process."""
    job = Job("def f(): pass", mode=Mode.ASSERT.value, setup="import math", assert_code="assert f() is None",
              entry_point="f")
    message = job.to_message(3, extra={"trace": True})
    assert "setup" not in message and "assert" not in message and message["test_frame"] is True
    assert message["trace"] is True and message["entry_point"] == "f"
    reader = FrameReader()
    reader.feed(job.to_frames(3, extra={"trace": True}))
    assert reader.next_frame() == message
    assert reader.next_frame() == {"type": "test", "setup": "import math", "assert": "assert f() is None"}


def test_job_message_is_a_valid_frame() -> None:
    message = Job("print('\ud800')", stdin=b"x").to_message(1)
    reader = FrameReader()
    reader.feed(encode_frame(message))
    assert reader.next_frame() == message


# --- blocking fds ----------------------------------------------------------------------------


def test_frames_over_a_pipe() -> None:
    read_fd, write_fd = os.pipe()
    try:
        write_frame(write_fd, {"type": "a", "s": "\ud800"})
        write_frame(write_fd, {"type": "b"})
        os.close(write_fd)
        write_fd = -1
        assert read_frame(read_fd) == {"type": "a", "s": "\ud800"}
        assert read_frame(read_fd) == {"type": "b"}
        assert read_frame(read_fd) is None  # end of stream
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)


@pytest.mark.parametrize("cut", [2, 6], ids=["in-header", "in-body"])
def test_end_of_stream_inside_a_frame_is_none(cut: int) -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, encode_frame({"type": "a"})[:cut])
    os.close(write_fd)
    try:
        assert read_frame(read_fd) is None
    finally:
        os.close(read_fd)


def test_read_frame_refuses_an_oversized_header() -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, FRAME_HEADER.pack(MAX_FRAME + 1))
    os.close(write_fd)
    try:
        with pytest.raises(ProtocolError, match="oversized"):
            read_frame(read_fd)
    finally:
        os.close(read_fd)


def test_write_all_retries_partial_and_interrupted_writes() -> None:
    written: list[bytes] = []
    calls = {"n": 0}

    def trickle(fd: int, view: memoryview) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise InterruptedError
        written.append(bytes(view[:3]))
        return min(3, len(view))

    write_all(1, b"0123456789", _write=trickle)
    assert b"".join(written) == b"0123456789"


def test_read_exact_collects_short_reads() -> None:
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, b"ab")
        os.write(write_fd, b"cd")
        assert read_exact(read_fd, 4) == b"abcd"
        os.close(write_fd)
        write_fd = -1
        assert read_exact(read_fd, 1) is None
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
