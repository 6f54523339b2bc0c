"""The orphan sweep of the local backend's cgroups judges only owners it can see."""

from __future__ import annotations

import os

import pytest

from pytest_codeverify.sandbox.cgroups import Cgroup

pytestmark = pytest.mark.sandbox


def test_the_sweep_spares_cgroups_of_other_pid_namespaces() -> None:
    # A live sandbox started in another PID namespace (a test run under unshare --pid, a
    # container) has a pid that means nothing here; the sweep once removed its cgroup, and its
    # next start failed ("Exception occurred in preexec_fn").
    dead_pid = 4_000_000  # above any pid_max: no process has it in this namespace
    other = Cgroup.create(f"{dead_pid}-1-other-namespace", 16)
    if other is None:
        pytest.skip("this process may not create cgroups (not root, or no cgroup controllers)")
    mine = Cgroup.create(f"{dead_pid}-{Cgroup.owned_name('x').split('-')[1]}-orphan", 16)
    assert mine is not None
    try:
        Cgroup.remove_orphans()
        assert all(path.is_dir() for path in other.dirs.values()), "a cgroup of another namespace was removed"
        assert not any(path.is_dir() for path in mine.dirs.values()), "a dead owner's cgroup was kept"
    finally:
        other.remove()
        mine.remove()


def test_owned_names_carry_pid_and_namespace() -> None:
    pid, namespace, tag = Cgroup.owned_name("tag").split("-", 2)
    assert pid == str(os.getpid())
    assert namespace.isdigit() and tag == "tag"
