"""How pytest-xdist hands records to workers when ``-n`` is given without ``--dist``.

Each record (an item's parent node: ``file::record``) goes whole to one worker, its tests in
order, as with xdist's ``--dist loadscope``: the worker's sandbox then starts each next test
while the last one is judged, and early stop can leave out the rest of a record that failed.

xdist's own ``loadscope`` scheduler recounts every test it ever assigned to a worker whenever any
event arrives (five or more per test), so the controller's work per test grows with the run
(``benchmarks/xdist_scheduling.py``: 0.57 ms of the controller's CPU per test at 7,400 tests,
1.50 ms at 100,000). This one keeps, per worker, the set of tests sent and not finished, so each
event costs the same at any size (0.52 and 0.37 ms there, as ``--dist load``).
Otherwise it behaves as ``loadscope``: the largest records first (unless
``--no-loadscope-reorder``), a worker gets its next record when two or fewer of its tests are
left, and a worker that is not needed is shut down.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from xdist.workermanage import WorkerController

#: A worker asks for its next record when this many of its tests or fewer are still to run (a
#: worker keeps its last test back until it knows the next one, so fewer than two means done).
_REFILL_AT = 2


def _scope(nodeid: str) -> str:
    """The record of an item (``file::record::test_3`` -> ``file::record``), or its module."""
    return nodeid.rsplit("::", 1)[0]


class RecordScheduling:
    """An xdist scheduler (see ``xdist.scheduler.protocol.Scheduling``) giving whole records to
    workers, with constant bookkeeping per finished test."""

    def __init__(self, config: pytest.Config, log: object | None = None) -> None:
        from xdist.workermanage import parse_tx_spec_config

        self.config = config
        self.numnodes = len(parse_tx_spec_config(config))
        self.collection: list[str] | None = None
        #: Records not handed out yet, each as the indices of its tests in collection order.
        self.queue: deque[list[int]] = deque()
        #: Per worker: the indices sent to it and not finished (a dict as an ordered set).
        self.assigned: dict[WorkerController, dict[int, None]] = {}
        self.registered: dict[WorkerController, list[str]] = {}
        self.log: Any = getattr(log, "recordsched", None) if log is not None else None

    # -- the state xdist asks about (after every event) -----------------------------------

    @property
    def nodes(self) -> list[WorkerController]:
        return list(self.assigned)

    @property
    def collection_is_completed(self) -> bool:
        return len(self.registered) >= self.numnodes

    @property
    def tests_finished(self) -> bool:
        if not self.collection_is_completed or self.queue:
            return False
        return all(len(pending) < _REFILL_AT for pending in self.assigned.values())

    @property
    def has_pending(self) -> bool:
        return bool(self.queue) or any(self.assigned.values())

    # -- workers come and go -------------------------------------------------------------

    def add_node(self, node: WorkerController) -> None:
        assert node not in self.assigned
        self.assigned[node] = {}

    def add_node_collection(self, node: WorkerController, collection: Sequence[str]) -> None:
        assert node in self.assigned
        if self.collection_is_completed and self.collection is not None and list(collection) != self.collection:
            # A replacement worker that collected something else gets nothing to run.
            self._log(_difference(self.collection, collection, "the first workers", node))
            return
        self.registered[node] = list(collection)

    def remove_node(self, node: WorkerController) -> str | None:
        """Forget a worker (finished, or crashed); the test it was running when it crashed.

        The crashed test is reported by xdist and not run again; the rest of its records go
        back to the front of the queue, each record's tests together and in order.
        """
        pending = list(self.assigned.pop(node))
        if not pending:
            return None
        assert self.collection is not None
        crashed = self.collection[pending[0]]
        self.queue.extendleft(reversed(self._by_record(pending[1:])))
        for other in self.nodes:
            self._refill(other)
        return crashed

    # -- tests --------------------------------------------------------------------------

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:  # a replacement worker joined: give it work
            for node in self.nodes:
                self._refill(node)
            return
        if not self._same_collections():
            return
        self.collection = next(iter(self.registered.values()))
        if not self.collection:
            return
        units = self._by_record(range(len(self.collection)))
        if getattr(self.config.option, "loadscopereorder", True):
            units.sort(key=len, reverse=True)  # stable: equal sizes keep their order
        self.queue.extend(units)
        for _ in range(len(self.assigned) - len(self.queue)):  # more workers than records
            idle, _pending = self.assigned.popitem()
            idle.shutdown()
        for node in self.nodes:
            self._send(node)
        for node in self.nodes:  # a second record each where there is one, as loadscope does
            self._refill(node)
        if not self.queue:
            for node in self.nodes:
                node.shutdown()

    def mark_test_complete(self, node: WorkerController, item_index: int, duration: float = 0) -> None:
        self.assigned[node].pop(item_index, None)
        self._refill(node)

    # The two below are part of xdist's scheduler protocol for work stealing ("steal" commands,
    # --dist worksteal): xdist calls them only in answer to a steal, and this scheduler never
    # sends one, so a call would be a bug to surface, as with xdist's own loadscope.
    def mark_test_pending(self, item: str) -> None:
        raise NotImplementedError("RecordScheduling never steals tests, so no test goes back to pending")

    def remove_pending_tests_from_node(self, node: WorkerController, indices: Sequence[int]) -> None:
        raise NotImplementedError("RecordScheduling never steals tests from a worker")

    # -- helpers --------------------------------------------------------------------------

    def _by_record(self, indices: Iterable[int]) -> list[list[int]]:
        """``indices`` of the collection grouped by record, records in order of first appearance."""
        assert self.collection is not None
        records: dict[str, list[int]] = {}
        for index in indices:
            records.setdefault(_scope(self.collection[index]), []).append(index)
        return list(records.values())

    def _refill(self, node: WorkerController) -> None:
        if node.shutting_down:
            return
        if not self.queue:
            node.shutdown()  # it ends after what it holds
            return
        if len(self.assigned[node]) <= _REFILL_AT:
            self._send(node)

    def _send(self, node: WorkerController) -> None:
        unit = self.queue.popleft()
        self.assigned[node].update(dict.fromkeys(unit))
        node.send_runtest_some(unit)

    def _same_collections(self) -> bool:
        """Whether every worker collected the same tests; a collection error for each that did not."""
        (first_node, first), *others = self.registered.items()
        same = True
        for node, collection in others:
            if collection != first:
                message = _difference(first, collection, first_node.gateway.id, node)
                self._log(message)
                report = pytest.CollectReport(nodeid=node.gateway.id, outcome="failed", longrepr=message, result=[])
                self.config.hook.pytest_collectreport(report=report)
                same = False
        return same

    def _log(self, message: str) -> None:
        if self.log is not None:
            self.log(message)


def _difference(expected: Sequence[str], found: Sequence[str], reference: str, node: WorkerController) -> str:
    from xdist.report import report_collection_diff

    return report_collection_diff(expected, found, reference, node.gateway.id) or ""
