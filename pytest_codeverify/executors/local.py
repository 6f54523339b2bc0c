"""N warm sandboxes on this machine, each driven by its own thread.

The candidates run in sandbox processes, so threads are enough: the trusted side only sends
jobs, waits, and judges.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..api import Sandbox
from ..cases import Case
from ..config import DEFAULT_IMAGE
from .base import Executor, WorkItem, ordered


class LocalPool(Executor):
    """``workers`` warm sandboxes of ``backend``, started on first use."""

    def __init__(self, workers: int, *, backend: str = "auto", image: str = DEFAULT_IMAGE,
                 reward_mode: str = "fraction", **sandbox_options: Any) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._workers = workers
        self._options = dict(backend=backend, image=image, reward_mode=reward_mode, **sandbox_options)
        Sandbox(**self._options)  # an unknown backend or a bad limit is an error now, not in a thread
        self._local = threading.local()
        self._sandboxes: list[Sandbox] = []
        self._lock = threading.Lock()
        self._threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="codeverify")

    @property
    def workers(self) -> int:
        return self._workers

    def _sandbox(self) -> Sandbox:
        sandbox: Sandbox | None = getattr(self._local, "sandbox", None)
        if sandbox is None:
            sandbox = Sandbox(**self._options)
            self._local.sandbox = sandbox
            with self._lock:
                self._sandboxes.append(sandbox)
        return sandbox

    def _verify(self, case: Case) -> dict[str, Any]:
        return self._sandbox().verify_case(case).to_dict()

    def map(self, items: Iterable[WorkItem]) -> Iterator[dict[str, Any]]:
        def submit(case: Case) -> Future[dict[str, Any]]:
            return self._threads.submit(self._verify, case)

        return ordered(items, submit, lambda future: future.result(), self._workers * self.WINDOW_PER_WORKER)

    def close(self) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for sandbox in self._sandboxes:
                sandbox.close()
            self._sandboxes.clear()
