"""The xdist scheduler that hands whole records to workers (pure logic, fake workers)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from pytest_codeverify.pytest_plugin.scheduling import RecordScheduling

pytest.importorskip("xdist")


class FakeWorker:
    """What the scheduler uses of xdist's WorkerController: it records what it was sent."""

    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.sent: list[int] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        assert not self.shutting_down
        self.sent += indices

    def shutdown(self) -> None:
        self.shutting_down = True

    def __repr__(self) -> str:
        return str(self.gateway.id)


def collection(sizes: list[int]) -> list[str]:
    return [f"data.jsonl::r{r}::test_{t}" for r, size in enumerate(sizes) for t in range(size)]


def scheduler(workers: int, reorder: bool = True, **hook: Any) -> RecordScheduling:
    config = SimpleNamespace(getvalue=lambda name: [f"{workers}*popen"],
                             option=SimpleNamespace(loadscopereorder=reorder), hook=SimpleNamespace(**hook))
    return RecordScheduling(config, None)  # type: ignore[arg-type]


def start(sched: RecordScheduling, items: list[str], count: int) -> list[FakeWorker]:
    workers = [FakeWorker(f"gw{i}") for i in range(count)]
    for worker in workers:
        sched.add_node(worker)  # type: ignore[arg-type]
    for worker in workers:
        sched.add_node_collection(worker, items)  # type: ignore[arg-type]
    assert sched.collection_is_completed
    sched.schedule()
    return workers


def run_all(sched: RecordScheduling, workers: list[FakeWorker]) -> dict[str, list[int]]:
    """Play the workers: each finishes what it was sent, in order; what each one ran."""
    done: dict[str, list[int]] = {w.gateway.id: [] for w in workers}
    progress = True
    while progress:
        progress = False
        for worker in workers:
            ran = done[worker.gateway.id]
            if len(ran) < len(worker.sent):
                index = worker.sent[len(ran)]
                ran.append(index)
                sched.mark_test_complete(worker, index)  # type: ignore[arg-type]
                progress = True
    return done


def test_records_stay_whole_and_in_order_and_every_test_runs_once() -> None:
    items = collection([3, 1, 5, 2, 4, 4, 1])
    sched = scheduler(2)
    workers = start(sched, items, 2)
    done = run_all(sched, workers)
    assert sorted(i for ran in done.values() for i in ran) == list(range(len(items)))
    for ran in done.values():
        records = [items[i].rsplit("::", 1)[0] for i in ran]
        # a record's tests arrive together and in their order
        for record in set(records):
            positions = [p for p, r in enumerate(records) if r == record]
            assert positions == list(range(positions[0], positions[0] + len(positions)))
            assert [items[ran[p]] for p in positions] == sorted(items[ran[p]] for p in positions)
    assert sched.tests_finished and not sched.has_pending
    assert all(w.shutting_down for w in workers)


def test_largest_records_first_unless_told_not_to_reorder() -> None:
    items = collection([1, 5, 2])
    first = start(scheduler(1), items, 1)[0]
    assert first.sent[:5] == [1, 2, 3, 4, 5]  # r1 (five tests) first
    kept = start(scheduler(1, reorder=False), items, 1)[0]
    assert kept.sent[:1] == [0]


def test_a_worker_gets_more_only_when_two_or_fewer_tests_are_left() -> None:
    items = collection([4, 4, 4, 4])
    sched = scheduler(1)
    (worker,) = start(sched, items, 1)
    assert worker.sent == list(range(4))
    sched.mark_test_complete(worker, 0)  # type: ignore[arg-type]
    assert len(worker.sent) == 4  # three left
    sched.mark_test_complete(worker, 1)  # type: ignore[arg-type]
    assert worker.sent == list(range(8))
    assert not sched.tests_finished


def test_records_of_one_or_two_tests_start_two_at_a_time() -> None:
    (worker,) = start(scheduler(1), collection([1, 1, 1]), 1)
    assert worker.sent == [0, 1]  # a worker needs a next test to run its first


def test_finished_while_each_worker_holds_back_its_last_test() -> None:
    # A worker runs its last test only once told to shut down: xdist asks tests_finished first.
    items = collection([2, 2])
    sched = scheduler(2)
    a, b = start(sched, items, 2)
    sched.mark_test_complete(a, a.sent[0])  # type: ignore[arg-type]
    assert not sched.tests_finished
    sched.mark_test_complete(b, b.sent[0])  # type: ignore[arg-type]
    assert sched.tests_finished and sched.has_pending


def test_more_workers_than_records_shuts_the_extra_ones_down() -> None:
    sched = scheduler(3)
    workers = start(sched, collection([2]), 3)
    assert sum(1 for w in workers if w.sent) == 1
    assert all(w.shutting_down for w in workers)
    assert len(sched.nodes) == 1


def test_a_crashed_worker_reports_its_test_and_its_records_rest_goes_elsewhere() -> None:
    items = collection([3, 3, 3])
    sched = scheduler(2)
    a, b = start(sched, items, 2)
    sched.mark_test_complete(a, a.sent[0])  # type: ignore[arg-type]
    crashed_at = a.sent[1]
    assert sched.remove_node(a) == items[crashed_at]  # type: ignore[arg-type]
    replacement = FakeWorker("gw2")
    sched.add_node(replacement)  # type: ignore[arg-type]
    sched.add_node_collection(replacement, items)  # type: ignore[arg-type]
    sched.schedule()
    done = run_all(sched, [b, replacement])
    ran = sorted(i for r in done.values() for i in r)
    # everything but what the crashed worker finished or crashed in ran once more
    assert ran == sorted(set(range(9)) - {a.sent[0], crashed_at})
    assert sched.tests_finished


def test_a_worker_that_finished_cleanly_is_simply_forgotten() -> None:
    sched = scheduler(1)
    (worker,) = start(sched, collection([1]), 1)
    run_all(sched, [worker])
    assert sched.remove_node(worker) is None  # type: ignore[arg-type]
    assert not sched.nodes


def test_different_collections_are_a_collection_error_and_nothing_runs() -> None:
    reports: list[Any] = []
    sched = scheduler(2, pytest_collectreport=lambda report: reports.append(report))
    a, b = FakeWorker("gw0"), FakeWorker("gw1")
    for worker in (a, b):
        sched.add_node(worker)  # type: ignore[arg-type]
    sched.add_node_collection(a, collection([2]))  # type: ignore[arg-type]
    sched.add_node_collection(b, collection([3]))  # type: ignore[arg-type]
    sched.schedule()
    assert not a.sent and not b.sent
    assert len(reports) == 1 and reports[0].failed and "Different tests were collected" in str(reports[0].longrepr)
