"""Scale-out on a Ray cluster: actors that each hold a warm sandbox on their node.

Needs the ``ray`` extra (``pip install "pytest-codeverify[ray]"``) on this machine and on every
node of the cluster. Cases travel to actors as tasks and their rewards lines come back in input
order. When a node dies mid-run, its actors' in-flight cases are sent again to actors on the
nodes that are left; a case whose retries are exhausted gets ``SE`` on every test (reward
``null``: a lost machine is never the candidate's fault).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from itertools import count
from typing import Any

from ..cases import Case
from ..config import DEFAULT_IMAGE
from ..judge import Outcome
from ..protocol import Verdict
from ..rewards import case_line, test_entry
from .base import Executor, WorkItem, ordered

#: How often a case whose actor died (its node lost) is sent again before it gets SE.
TASK_RETRIES = 3


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise RuntimeError('the Ray executor needs the ray extra: pip install "pytest-codeverify[ray]"') from exc
    return ray


class _Verifier:
    """A Ray actor: one warm sandbox on its node, verifying the cases it is sent."""

    def __init__(self, options: dict[str, Any]) -> None:
        from ..api import Sandbox

        self._sandbox = Sandbox(**options)

    def verify(self, case: Case) -> dict[str, Any]:
        return self._sandbox.verify_case(case).to_dict()

    def outcomes(self, case: Case) -> list[Outcome]:
        """Each test's outcome, for callers that build their own answer (the HTTP server)."""
        try:  # fraction mode: every test runs (no early stop), as on the server's own pool
            report = self._sandbox.verify_case(case, reward_mode="fraction")
            return [test.outcome if test.outcome is not None else Outcome(Verdict.SE, "the test did not run")
                    for test in report.tests]
        except Exception as exc:  # an infrastructure failure is SE, never a wrong answer
            return [Outcome(Verdict.SE, f"internal error: {type(exc).__name__}: {exc}") for _ in case.tests]

    def close(self) -> None:
        self._sandbox.close()

    def node_id(self) -> str:
        import ray

        return str(ray.get_runtime_context().get_node_id())


def lost_outcomes(case: Case, error: str) -> list[Outcome]:
    """The outcomes of a case the cluster could not run: ``SE`` on every test."""
    return [Outcome(Verdict.SE, error) for _ in case.tests]


def lost_line(case: Case, reward_mode: str, error: str) -> dict[str, Any]:
    """The rewards line of a case the cluster could not run: ``SE`` on every test."""
    tests = [test_entry(case.test_name(i), Verdict.SE, 0.0, error) for i in range(len(case.tests))]
    return case_line(case, tests, reward_mode)


class RayPool(Executor):
    """``workers`` actors (default: one per CPU of the cluster) on the cluster at ``address``."""

    def __init__(self, address: str, workers: int | None = None, *, backend: str = "auto",
                 image: str = DEFAULT_IMAGE, reward_mode: str = "fraction", **sandbox_options: Any) -> None:
        ray = _import_ray()
        self._ray = ray
        if not ray.is_initialized():
            ray.init(address=address, log_to_driver=False, include_dashboard=False)
        if workers is None:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._reward_mode = reward_mode
        options = dict(backend=backend, image=image, reward_mode=reward_mode, **sandbox_options)
        # One CPU each, spread over the nodes. Not restarted by Ray: an actor whose node died
        # would wait for a free CPU that the survivors hold; its cases move to them instead.
        actor = ray.remote(num_cpus=1, max_restarts=0, scheduling_strategy="SPREAD")(_Verifier)
        self._actors = [actor.remote(options) for _ in range(workers)]
        self._dead: set[int] = set()
        # Retries run in Ray's callback thread while the caller submits: both pick actors.
        self._lock = threading.Lock()
        self._turn = count()

    @property
    def workers(self) -> int:
        return max(1, len(self._actors) - len(self._dead))

    @property
    def lost(self) -> int:
        """How many actors were lost (with their node) during this pool's runs."""
        return len(self._dead)

    def nodes(self) -> list[str]:
        """The node each actor runs on (for tests and the scaling benchmark)."""
        return list(self._ray.get([a.node_id.remote() for a in self._actors]))

    def submit(self, case: Case, method: str = "verify",
               lost: Callable[[Case, str], Any] | None = None) -> Future[Any]:
        """Run ``method`` of an actor on ``case`` (``verify``: its rewards line; ``outcomes``: its
        tests' outcomes) and return a future of the answer, never of an exception: when an actor
        is lost with its node the case is sent to another, and when retries run out (or no actor
        is left) the answer is ``lost(case, error)``, SE on every test by default."""
        answer: Future[Any] = Future()
        give_up = lost or (lambda c, error: lost_line(c, self._reward_mode, error))
        self._attempt(case, method, give_up, answer, TASK_RETRIES)
        return answer

    def _attempt(self, case: Case, method: str, give_up: Callable[[Case, str], Any], answer: Future[Any],
                 retries: int, error: str = "no live actor is left on the cluster") -> None:
        actor = self._next_actor()
        if actor is None:
            answer.set_result(give_up(case, error))
            return
        ref = getattr(actor, method).remote(case)

        def done(future: Future[Any]) -> None:
            try:
                answer.set_result(future.result())
            except self._ray.exceptions.RayActorError as exc:
                # Its node (or process) is gone: run the case again on an actor that is left.
                with self._lock:
                    self._dead.add(id(actor))
                why = f"lost on the cluster: {type(exc).__name__}"
                if retries > 0:
                    self._attempt(case, method, give_up, answer, retries - 1, why)
                else:
                    answer.set_result(give_up(case, why))
            except self._ray.exceptions.RayError as exc:
                answer.set_result(give_up(case, f"the cluster failed the case: {type(exc).__name__}: "
                                                 f"{str(exc)[:200]}"))
            except BaseException as exc:  # whatever else: the waiting caller must hear of it
                answer.set_exception(exc)

        ref.future().add_done_callback(done)

    def _next_actor(self) -> Any:
        with self._lock:
            actors = [actor for actor in self._actors if id(actor) not in self._dead]
            return actors[next(self._turn) % len(actors)] if actors else None

    def map(self, items: Iterable[WorkItem]) -> Iterator[dict[str, Any]]:
        return ordered(items, self.submit, lambda future: dict(future.result()),
                       self.workers * self.WINDOW_PER_WORKER)

    def close(self) -> None:
        try:  # stop the sandboxes first: killing an actor would leave a container to the sweep
            self._ray.get([actor.close.remote() for actor in self._actors], timeout=30)
        except self._ray.exceptions.RayError:
            pass
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []
