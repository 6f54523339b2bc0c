"""A bounded pool of warm sandboxes for the HTTP server.

Sandboxes are blocking objects (``Sandbox.run(job)`` waits for the job), so each one is owned
by one thread that takes work from a shared FIFO queue. Work is submitted as a function of a
sandbox and comes back as a :class:`concurrent.futures.Future`; a future cancelled before its
thread picks it up is dropped without running. A job already running is left to finish: it
is bounded by its own limits, and the runner cleans every process it left after each job.

Admission is counted per request, separately from the work queue: at most
``workers + max_queue`` requests are in the server at once, and one more is refused straight
away (the server answers 429) instead of waiting for a timeout.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from ..sandbox import Sandbox, open_sandbox

_STOP = object()


@dataclass
class _Work:
    fn: Callable[[Sandbox], Any]
    future: Future[Any]


class PoolFull(RuntimeError):
    """The pool already holds as many requests as it may queue."""


class SandboxPool:
    """``workers`` sandboxes of ``backend``, each served by its own thread."""

    def __init__(self, backend: str = "auto", workers: int = 1, max_queue: int = 64,
                 factory: Callable[[str], Sandbox] = open_sandbox) -> None:
        if workers < 1:
            raise ValueError("the pool needs at least one worker")
        if max_queue < 0:
            raise ValueError("max_queue cannot be negative")
        self.backend = backend
        self.workers = workers
        self.max_queue = max_queue
        self._work: queue.SimpleQueue[_Work | object] = queue.SimpleQueue()
        self._sandboxes = [factory(backend) for _ in range(workers)]
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._admitted = 0
        self._pending = 0
        self._busy = 0
        self._closed = False
        #: Requests served elsewhere at once (a Ray cluster's actors), admitted beside the workers.
        self.elsewhere = 0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker threads (each warms its sandbox before taking work)."""
        for number, sandbox in enumerate(self._sandboxes):
            thread = threading.Thread(target=self._serve, args=(sandbox,), name=f"sandbox-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        """Drop queued work, let running jobs finish, and stop every sandbox."""
        with self._lock:
            self._closed = True
        for _ in self._threads:
            self._work.put(_STOP)
        for thread in self._threads:
            thread.join()
        # Anything still queued behind the stop markers never runs.
        while True:
            try:
                item = self._work.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Work):
                item.future.cancel()

    # -- admission ------------------------------------------------------------------------

    def admit(self) -> None:
        """Count one more request in, or raise :class:`PoolFull` when there is no room."""
        with self._lock:
            if self._closed or self._admitted >= self.workers + self.elsewhere + self.max_queue:
                raise PoolFull(f"{self._admitted} request(s) in progress; the queue holds {self.max_queue}")
            self._admitted += 1

    def release(self) -> None:
        """A request admitted by :meth:`admit` has finished (answered, failed or abandoned)."""
        with self._lock:
            self._admitted -= 1

    # -- work -----------------------------------------------------------------------------

    def submit(self, fn: Callable[[Sandbox], Any]) -> Future[Any]:
        """Queue ``fn(sandbox)`` for the next free sandbox."""
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise PoolFull("the server is shutting down")
            self._pending += 1
        self._work.put(_Work(fn, future))
        return future

    def _serve(self, sandbox: Sandbox) -> None:
        try:
            sandbox.start()
        except Exception:  # run() retries the start and reports the failure as SE
            pass
        try:
            while True:
                item = self._work.get()
                if not isinstance(item, _Work):
                    return
                with self._lock:
                    self._pending -= 1
                # False when the request that wanted it was abandoned: skip it.
                if not item.future.set_running_or_notify_cancel():
                    continue
                with self._lock:
                    self._busy += 1
                try:
                    item.future.set_result(item.fn(sandbox))
                except BaseException as exc:  # handed to the waiting request
                    item.future.set_exception(exc)
                finally:
                    with self._lock:
                        self._busy -= 1
        finally:
            sandbox.close()

    # -- state ----------------------------------------------------------------------------

    @property
    def queue_depth(self) -> int:
        """Jobs waiting for a sandbox."""
        return self._pending

    @property
    def busy(self) -> int:
        """Sandboxes running a job now."""
        return self._busy

    @property
    def in_flight(self) -> int:
        """Requests admitted and not yet finished."""
        return self._admitted

    @property
    def restarts(self) -> int:
        """Sandbox restarts so far (a runner that died or misbehaved is replaced)."""
        return sum(sandbox.restarts for sandbox in self._sandboxes)

    @property
    def description(self) -> str:
        """The backend and the isolation in force, in one line."""
        return self._sandboxes[0].description

    @property
    def isolated(self) -> bool:
        """Whether candidate code runs behind an isolation boundary (namespaces or a container)."""
        sandbox = self._sandboxes[0]
        flag = getattr(sandbox, "isolated", None)
        if isinstance(flag, bool):
            return flag
        return "NO namespace isolation" not in sandbox.description
