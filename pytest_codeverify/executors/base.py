"""The executor interface and the in-order, bounded streaming both executors share."""

from __future__ import annotations

import abc
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from ..cases import Case

#: A case to verify, or a finished rewards line that keeps its place in the output.
WorkItem = Case | dict[str, Any]
T = TypeVar("T")


class Executor(abc.ABC):
    """Verifies cases somewhere; yields one rewards line per work item, in input order."""

    #: How many items may be in flight at once, per worker: enough to keep every worker busy,
    #: few enough that memory does not grow with the input.
    WINDOW_PER_WORKER = 4

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


def ordered(items: Iterable[WorkItem], submit: Callable[[Case], T], result: Callable[[T], dict[str, Any]],
            window: int) -> Iterator[dict[str, Any]]:
    """Submit cases as room frees up and yield their lines in input order, at most ``window``
    in flight; finished lines (unreadable records) wait their turn in the same queue."""
    pending: deque[tuple[bool, Any]] = deque()
    for item in items:
        if isinstance(item, Case):
            pending.append((True, submit(item)))
        else:
            pending.append((False, item))
        while len(pending) >= window:
            yield _finish(pending.popleft(), result)
    while pending:
        yield _finish(pending.popleft(), result)


def _finish(entry: tuple[bool, Any], result: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    submitted, value = entry
    return result(value) if submitted else value
