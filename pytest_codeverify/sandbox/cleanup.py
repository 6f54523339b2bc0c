"""Cleaning up after a job inside the sandbox. Standard library only.

Whatever a job leaves behind (files, directories, IPC objects) must not reach the next job.
"""

from __future__ import annotations

import errno
import os

#: /proc/sysvipc file -> the libc function that removes one of its objects.
_SYSV_IPC = (("shm", "shmctl"), ("sem", "semctl"), ("msg", "msgctl"))
_IPC_RMID = 0


def _remove_sysv_ipc() -> None:
    """Remove every System V shared memory segment, semaphore set and message queue in reach."""
    for kind, function in _SYSV_IPC:
        try:
            with open(f"/proc/sysvipc/{kind}") as table:
                ids = [int(line.split()[1]) for line in table.readlines()[1:] if line.strip()]
        except (OSError, ValueError, IndexError):
            continue
        if not ids:
            continue
        try:
            import ctypes

            remove = getattr(ctypes.CDLL(None), function)
        except (OSError, AttributeError):
            continue
        for ipc_id in ids:
            if function == "semctl":
                remove(ipc_id, 0, _IPC_RMID)
            else:
                remove(ipc_id, _IPC_RMID, None)


def _empty_dir(path: str, keep: str = "") -> None:
    """Remove everything below ``path``, including trees the candidate made unreadable.

    A real directory at ``keep`` is emptied instead of removed.
    """
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.path == keep and entry.is_dir(follow_symlinks=False):
                os.chmod(entry.path, 0o700)
                _empty_dir(entry.path)
            elif entry.is_dir(follow_symlinks=False):
                try:
                    os.chmod(entry.path, 0o700)
                except OSError:
                    pass
                _empty_dir(entry.path)
                os.rmdir(entry.path)
            else:
                os.unlink(entry.path)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.EBUSY):
                pass
