"""Cleanup's proof that a tmpfs work area is untouched since it was emptied (no sandbox)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_codeverify.sandbox.cleanup import EmptyProof, _sysv_ipc_in_use, tmpfs_mounts

SHM = "/dev/shm"
pytestmark = pytest.mark.skipif(SHM not in tmpfs_mounts(), reason="needs /dev/shm on tmpfs, as in the sandbox")


@pytest.fixture
def area() -> Iterator[Path]:
    """A directory on tmpfs holding an empty ``work`` directory, treated as a tmpfs mount root."""
    root = Path(tempfile.mkdtemp(dir=SHM))
    (root / "work").mkdir()
    yield root
    shutil.rmtree(root, ignore_errors=True)


def proven(area: Path) -> EmptyProof:
    proof = EmptyProof({str(area)})
    proof.record(str(area), ("work",))
    return proof


def test_an_untouched_area_is_proven_unchanged(area: Path) -> None:
    proof = proven(area)
    assert proof.unchanged(str(area), ("work",))


@pytest.mark.parametrize("where", ["", "work"])
@pytest.mark.parametrize("kind", ["file", "directory", "symlink", "hard link"])
def test_any_entry_left_anywhere_is_seen(area: Path, where: str, kind: str) -> None:
    proof = proven(area)
    target = area / where / "left"
    if kind == "file":
        target.write_text("x")
    elif kind == "directory":
        target.mkdir()
    elif kind == "symlink":
        target.symlink_to("/etc/passwd")
    else:  # a second name of a file that lives elsewhere on the same file system
        handle, source = tempfile.mkstemp(dir=SHM)
        os.close(handle)
        os.link(source, target)
        os.unlink(source)
    assert not proof.unchanged(str(area), ("work",))
    if target.is_dir() and not target.is_symlink():
        target.rmdir()
    else:
        target.unlink()
    assert proof.unchanged(str(area), ("work",))  # removed again: nothing is left to sweep


def test_a_replaced_work_directory_is_seen(area: Path) -> None:
    proof = proven(area)
    (area / "work").rmdir()
    (area / "work").mkdir()  # same name, same size, another inode
    assert not proof.unchanged(str(area), ("work",))
    (area / "work").rmdir()
    (area / "work").symlink_to("/tmp")
    assert not proof.unchanged(str(area), ("work",))


def test_only_tmpfs_mount_roots_holding_what_is_expected_are_proven(area: Path) -> None:
    elsewhere = EmptyProof(set())
    elsewhere.record(str(area), ("work",))
    assert not elsewhere.unchanged(str(area), ("work",))
    (area / "stuck").write_text("x")
    left = EmptyProof({str(area)})
    left.record(str(area), ("work",))  # something stayed: never proven, always swept
    assert not left.unchanged(str(area), ("work",))


def test_system_v_ipc_objects_are_counted() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    before = _sysv_ipc_in_use()
    segment = libc.shmget(0, 4096, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
    if segment < 0:
        pytest.skip("System V shared memory is not available here")
    try:
        assert _sysv_ipc_in_use()
    finally:
        libc.shmctl(segment, 0, None)  # IPC_RMID
    if not before:
        assert not _sysv_ipc_in_use()
