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

    A real directory at ``keep`` (a direct entry of ``path``) is emptied instead of removed.

    Iterative and streaming, so that no tree can exhaust the runner: one directory file
    descriptor is open at a time (the way back up is ``..``, checked against the inode it must
    lead to), entries are removed while the directory is read rather than listed first, and the
    only state kept is one name per level plus the entries that could not be removed. No
    candidate process is alive during cleanup, so the tree does not change underneath.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return
    keep_name = os.path.basename(keep) if keep and os.path.dirname(keep) == path.rstrip("/") else ""
    #: per level entered: (its name, (st_dev, st_ino) of the directory it was entered from)
    trail: list[tuple[str, tuple[int, int]]] = []
    #: (st_dev, st_ino of the directory, name) of entries that could not be removed: skipped.
    stuck: set[tuple[int, int, str]] = set()
    try:
        while True:
            entered = _remove_entries(fd, stuck, "" if trail else keep_name)
            if entered is not None:
                name, child = entered
                here = os.fstat(fd)
                trail.append((name, (here.st_dev, here.st_ino)))
                os.close(fd)
                fd = child
                continue
            if not trail:
                return
            name, (dev, ino) = trail.pop()
            parent = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = parent
            back = os.fstat(fd)
            if (back.st_dev, back.st_ino) != (dev, ino):
                return  # not where it came from: stop rather than remove anything else
            if trail or name != keep_name:
                try:
                    os.rmdir(name, dir_fd=fd)
                    continue
                except FileNotFoundError:
                    continue
                except OSError:
                    pass
            stuck.add((dev, ino, name))  # the kept work directory (now empty), or a stuck one
    finally:
        os.close(fd)


def _remove_entries(fd: int, stuck: set[tuple[int, int, str]], keep_name: str) -> tuple[str, int] | None:
    """Remove what can be removed in the directory ``fd`` while reading it; on meeting a
    subdirectory that is not empty (or is ``keep_name``), return its name and an open
    descriptor of it, to be emptied first."""
    here = os.fstat(fd)
    with os.scandir(fd) as entries:
        for entry in entries:
            name = entry.name
            key = (here.st_dev, here.st_ino, name)
            if key in stuck:
                continue
            try:
                if not entry.is_dir(follow_symlinks=False):
                    os.unlink(name, dir_fd=fd)
                    continue
                if name != keep_name:
                    try:
                        os.rmdir(name, dir_fd=fd)
                        continue
                    except OSError as exc:
                        if exc.errno in (errno.EBUSY, errno.ENOENT):
                            raise
                try:
                    os.chmod(name, 0o700, dir_fd=fd)  # a directory the candidate locked
                except OSError:
                    pass
                return name, os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                continue
            except OSError:
                stuck.add(key)
    return None
