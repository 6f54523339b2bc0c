"""The executors' in-order streaming holds a bounded window, however long or heavy the input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pytest_codeverify.cases import Case, StdioTest
from pytest_codeverify.executors.base import WorkItem, case_size, ordered


class Tracker:
    """Counts what the stream has read from its input and handed out, to see what it holds."""

    def __init__(self) -> None:
        self.read = 0
        self.read_chars = 0
        self.done = 0
        self.done_chars = 0
        self.most_held = 0
        self.most_held_chars = 0

    def items(self, count: int, input_chars: int, tests: int = 10) -> Iterator[WorkItem]:
        for index in range(count):
            if index % 7 == 6:  # an unreadable record's finished line rides in the same queue
                item: WorkItem = {"id": f"bad{index}", "reward": None}
                self.read += 1
            else:
                item = Case(id=f"c{index}", problem_id="p", code="print(1)",
                            tests=tuple(StdioTest("x" * input_chars, "1\n") for _ in range(tests)))
                self.read += 1
                self.read_chars += case_size(item)
            self.most_held = max(self.most_held, self.read - self.done)
            self.most_held_chars = max(self.most_held_chars, self.read_chars - self.done_chars)
            yield item

    def run(self, items: Iterator[WorkItem], window: int, window_chars: int) -> list[str]:
        def submit(case: Case) -> Case:
            return case

        def result(case: Case) -> dict[str, Any]:
            self.done_chars += case_size(case)
            return {"id": case.id}

        ids = []
        for line in ordered(items, submit, result, window, window_chars):
            self.done += 1
            ids.append(line["id"])
        return ids


def test_many_records_stream_through_a_window_of_a_few() -> None:
    tracker = Tracker()
    ids = tracker.run(tracker.items(20_000, 4), window=8, window_chars=1 << 30)
    assert len(ids) == 20_000
    assert ids[:7] == ["c0", "c1", "c2", "c3", "c4", "c5", "bad6"]  # input order, bad lines in place
    # Far larger than the window, yet never more than the window (and the item being read) held.
    assert tracker.most_held <= 8 + 1


def test_a_few_huge_records_are_held_by_size_not_only_by_count() -> None:
    tracker = Tracker()
    window_chars = 1 << 20
    huge = 300 * 1024  # each case ~3 MB: over the character window on its own
    ids = tracker.run(tracker.items(60, huge), window=8, window_chars=window_chars)
    assert len(ids) == 60 and ids[-1] == "c59"
    one_case = 10 * (huge + 2) + len("print(1)")
    # One case always goes, however large: at most that one and the one being read are held.
    assert tracker.most_held_chars <= 2 * one_case
    assert tracker.most_held_chars < 8 * one_case  # the count window alone would have held 8


def test_small_cases_fill_the_count_window_under_the_size_window() -> None:
    tracker = Tracker()
    tracker.run(tracker.items(100, 100), window=8, window_chars=1 << 20)
    assert tracker.most_held >= 8  # the size window does not starve workers of small cases
