"""The runner's writable places, mounted by the runner itself, and its last capabilities given up.
Standard library only.

bubblewrap can cap a tmpfs's size but not its number of inodes, and files and hard links cost no
data pages: without a cgroup charging their kernel memory (an unprivileged harness) a job could
create millions of them, and the cleanup after it would outlast any deadline. So the runner
starts with ``CAP_SYS_ADMIN`` in the sandbox's own mount namespace, mounts its tmpfs areas with
both caps (:func:`mount_tmpfs`), and gives up every capability (:func:`drop_capabilities`) before
the first job.
"""

from __future__ import annotations

import ctypes
import os

_MS_NOSUID = 2
_MS_NODEV = 4
_MS_REC = 0x4000
_MS_PRIVATE = 0x40000
_CLONE_NEWNS = 0x00020000
_PR_CAPBSET_DROP = 24
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAPABILITY_VERSION_3 = 0x20080522


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def private_mounts() -> None:
    """Enter a mount namespace of the runner's own: without root, bubblewrap runs the runner in
    a user namespace nested in the one that owns the sandbox's mounts, where its capability
    would not reach them. Mounts made here propagate nowhere."""
    libc = _libc()
    if libc.unshare(_CLONE_NEWNS) != 0 or libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"private mount namespace: {os.strerror(number)}")


def mount_tmpfs(path: str, size: int, inodes: int, mode: int = 0o1777) -> None:
    """Mount a fresh tmpfs of at most ``size`` bytes and ``inodes`` inodes (hard links count
    too) over ``path``. Raises OSError when the kernel refuses."""
    libc = _libc()
    options = f"size={size},nr_inodes={inodes},mode={mode:o}".encode()
    if libc.mount(b"tmpfs", path.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, options) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"mount tmpfs on {path}: {os.strerror(number)}")


def drop_bounding_set() -> None:
    """Empty the capability bounding set (needs CAP_SETPCAP; without it, a no-op)."""
    libc = _libc()
    for cap in range(64):
        libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the last capability


def drop_capabilities() -> None:
    """Give up every capability: bounding set (where still allowed), ambient, and the effective,
    permitted and inheritable sets. Raises OSError when the capability sets cannot be cleared."""
    libc = _libc()
    drop_bounding_set()
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header = Header(_CAPABILITY_VERSION_3, 0)
    data = (Data * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"capset: {os.strerror(number)}")


def _status_mask(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1], 16)
    return 0


def capabilities_left() -> int:
    """The effective and permitted capabilities of this process (0 once dropped)."""
    return _status_mask("CapEff") | _status_mask("CapPrm")


def bounding_set() -> int:
    """The capability bounding set of this process (0 once dropped)."""
    return _status_mask("CapBnd")
