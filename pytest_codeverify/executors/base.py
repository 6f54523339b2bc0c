"""The executor interface and the in-order, bounded streaming both executors share."""

from __future__ import annotations

import abc
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from ..cases import AssertTest, Case, StdioTest

#: A case to verify, or a finished rewards line that keeps its place in the output.
WorkItem = Case | dict[str, Any]
T = TypeVar("T")


class Executor(abc.ABC):
    """Verifies cases somewhere; yields one rewards line per work item, in input order."""

    #: How many items may be in flight at once, per worker: enough to keep every worker busy,
    #: few enough that memory does not grow with the input.
    WINDOW_PER_WORKER = 4
    #: And at most this many characters of cases (code, inputs, outputs) in flight: a few huge
    #: records must not fill memory the way many small ones cannot. One case always goes,
    #: however large.
    WINDOW_CHARS = 16 << 20

    @property
    @abc.abstractmethod
    def workers(self) -> int:
        """How many cases run at the same time."""

    @abc.abstractmethod
    def map(self, items: Iterable[WorkItem]) -> Iterator[dict[str, Any]]:
        """A rewards line per item, in the order of ``items``."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop every sandbox this executor started."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def case_size(case: Case) -> int:
    """Roughly how many characters ``case`` holds (its code, stdio and assertion text): what it
    weighs in memory while in flight, in proportion."""
    size = len(case.code or "") + len(case.setup_code) + len(case.extracted or "") + len(case.reference or "")
    for test in case.tests:
        if isinstance(test, StdioTest):
            size += len(test.input) + len(test.output) + sum(len(a) for a in test.accepted)
        elif isinstance(test, AssertTest):
            size += len(test.code)
        else:  # call arguments: counted as a small constant; their JSON size would cost a copy
            size += 64
    return size


def ordered(items: Iterable[WorkItem], submit: Callable[[Case], T], result: Callable[[T], dict[str, Any]],
            window: int, window_chars: int = Executor.WINDOW_CHARS) -> Iterator[dict[str, Any]]:
    """Submit cases as room frees up and yield their lines in input order, at most ``window``
    items and ``window_chars`` characters of cases in flight (but always one); finished lines
    (unreadable records) wait their turn in the same queue."""
    pending: deque[tuple[bool, Any, int]] = deque()
    chars = 0
    for item in items:
        if isinstance(item, Case):
            size = case_size(item)
            # Make room before reading the case in: the one being submitted counts too.
            while pending and (len(pending) >= window or chars + size > window_chars):
                chars -= pending[0][2]
                yield _finish(pending.popleft(), result)
            pending.append((True, submit(item), size))
            chars += size
        else:
            while len(pending) >= window:
                chars -= pending[0][2]
                yield _finish(pending.popleft(), result)
            pending.append((False, item, 0))
    while pending:
        yield _finish(pending.popleft(), result)


def _finish(entry: tuple[bool, Any, int], result: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    submitted, value, _size = entry
    return result(value) if submitted else value
