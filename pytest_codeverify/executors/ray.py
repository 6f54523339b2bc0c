"""Scale-out on a Ray cluster: actors that each hold a warm sandbox on their node.

Needs the ``ray`` extra (``pip install "pytest-codeverify[ray]"``) on this machine and on every
node of the cluster. Cases travel to actors as tasks and their rewards lines come back in input
order. When a node dies mid-run, its actors' in-flight cases are sent again to actors on the
nodes that are left; a case whose retries are exhausted gets ``SE`` on every test (reward
``null``: a lost machine is never the candidate's fault).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import count
from typing import Any

from ..cases import Case
from ..config import DEFAULT_IMAGE
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

    def close(self) -> None:
        self._sandbox.close()

    def node_id(self) -> str:
        import ray

        return str(ray.get_runtime_context().get_node_id())


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

    def map(self, items: Iterable[WorkItem]) -> Iterator[dict[str, Any]]:
        turn = count()

        def live() -> list[Any]:
            return [actor for actor in self._actors if id(actor) not in self._dead]

        def submit(case: Case) -> tuple[Case, Any, Any]:
            actors = live()
            if not actors:
                return case, None, None
            actor = actors[next(turn) % len(actors)]
            return case, actor, actor.verify.remote(case)

        def result(submitted: tuple[Case, Any, Any]) -> dict[str, Any]:
            case, actor, ref = submitted
            error = "no live actor is left on the cluster"
            for _attempt in range(TASK_RETRIES + 1):
                if ref is None:
                    break
                try:
                    return dict(self._ray.get(ref))
                except self._ray.exceptions.RayActorError as exc:
                    # Its node (or process) is gone: run the case again on an actor that is left.
                    self._dead.add(id(actor))
                    error = f"lost on the cluster: {type(exc).__name__}"
                    _case, actor, ref = submit(case)
                except self._ray.exceptions.RayError as exc:
                    error = f"the cluster failed the case: {type(exc).__name__}: {str(exc)[:200]}"
                    break
            return lost_line(case, self._reward_mode, error)

        return ordered(items, submit, result, self.workers * self.WINDOW_PER_WORKER)

    def close(self) -> None:
        try:  # stop the sandboxes first: killing an actor would leave a container to the sweep
            self._ray.get([actor.close.remote() for actor in self._actors], timeout=30)
        except self._ray.exceptions.RayError:
            pass
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []
