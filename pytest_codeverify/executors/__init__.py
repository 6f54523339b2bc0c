"""Where cases run: interchangeable executors with one interface, as in ``concurrent.futures``.

An executor turns a stream of work items into a stream of rewards lines in input order, with
a bounded number in flight, so memory stays flat whatever the input's size:

- :class:`~.local.LocalPool`: N warm sandboxes on this machine (threads driving sandbox processes);
- :class:`~.ray.RayPool`: actors on a Ray cluster, each holding a warm sandbox on its node.

A work item is a :class:`~pytest_codeverify.cases.Case` to verify, or an already-made rewards
line (a record that could not be read), which passes through in its place.
"""

from __future__ import annotations

from .base import Executor, WorkItem

__all__ = ["Executor", "WorkItem"]
