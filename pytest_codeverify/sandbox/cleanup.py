"""Cleaning up after a job inside the sandbox. Standard library only.

Whatever a job leaves behind (files, directories, IPC objects) must not reach the next job.
Most jobs leave nothing, and proving that is cheaper than sweeping: see :class:`EmptyProof`
and :func:`_sysv_ipc_in_use`.
"""

from __future__ import annotations

import errno
import os
import stat

#: /proc/sysvipc file -> the libc function that removes one of its objects.
_SYSV_IPC = (("shm", "shmctl"), ("sem", "semctl"), ("msg", "msgctl"))
_IPC_RMID = 0


#: ``*ctl`` commands that count the objects in use: SHM_INFO, SEM_INFO, MSG_INFO; and where
#: the count is in the structure each fills (an int's offset).
_IPC_COUNTS = (("shmctl", 14, 0), ("semctl", 19, 28), ("msgctl", 12, 0))
_LIBC: list[object] = []


def _sysv_ipc_in_use() -> bool:
    """Whether any System V IPC object exists in this IPC namespace (``True`` when unsure).

    Three system calls, against three reads of /proc/sysvipc: the common case of a job that
    made none is answered without opening a file.
    """
    try:
        import ctypes

        if not _LIBC:
            _LIBC.append(ctypes.CDLL(None, use_errno=True))
        libc: object = _LIBC[0]
        for function, command, offset in _IPC_COUNTS:
            info = ctypes.create_string_buffer(128)
            call = getattr(libc, function)
            result = call(0, 0, command, info) if function == "semctl" else call(0, command, info)
            if result < 0:
                return True
            if int.from_bytes(info.raw[offset:offset + 4], "little", signed=True) != 0:
                return True
        return False
    except Exception:
        return True


def _remove_sysv_ipc() -> None:
    """Remove every System V shared memory segment, semaphore set and message queue in reach."""
    if not _sysv_ipc_in_use():
        return
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


def tmpfs_mounts() -> set[str]:
    """Mount points of tmpfs file systems, as this process sees them."""
    found = set()
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as table:
            for line in table:
                fields = line.split()
                if " - " in line and len(fields) > 4:
                    fs_type = line.split(" - ", 1)[1].split()[0]
                    if fs_type == "tmpfs":
                        found.add(fields[4].replace("\\040", " "))
    except OSError:
        pass
    return found


class EmptyProof:
    """Proves a directory still holds exactly what it held when last emptied, by a ``lstat``.

    On tmpfs a directory's size counts its entries (every name adds a fixed amount and removing
    it takes that back), and the kernel keeps it: no process can fake it. So when a directory is
    the same inode with the same size as right after a cleanup that left it holding only
    ``expected`` (names of real, empty subdirectories proven the same way), nothing was added
    and the sweep can be skipped. Only tmpfs directories are ever proven; anything else, and any
    doubt, means sweeping.
    """

    def __init__(self, tmpfs: set[str]) -> None:
        self.tmpfs = tmpfs
        self.known: dict[str, tuple[int, int, int]] = {}

    def _on_tmpfs(self, path: str) -> bool:
        return path in self.tmpfs

    def record(self, path: str, expected: tuple[str, ...] = ()) -> None:
        """Remember ``path`` as emptied, if it is a tmpfs mount root holding only ``expected``."""
        self.known.pop(path, None)
        if not self._on_tmpfs(path):
            return
        try:
            if sorted(os.listdir(path)) != sorted(expected):
                return
            for name in expected:
                inner = os.path.join(path, name)
                info = os.lstat(inner)
                if not stat.S_ISDIR(info.st_mode) or os.listdir(inner):
                    return
                self.known[inner] = (info.st_dev, info.st_ino, info.st_size)
            info = os.lstat(path)
        except OSError:
            return
        self.known[path] = (info.st_dev, info.st_ino, info.st_size)

    def unchanged(self, path: str, expected: tuple[str, ...] = ()) -> bool:
        """Whether ``path`` (and its ``expected`` subdirectories) are as last recorded."""
        for where in (path, *(os.path.join(path, name) for name in expected)):
            seen = self.known.get(where)
            if seen is None:
                return False
            try:
                info = os.lstat(where)
            except OSError:
                return False
            if not stat.S_ISDIR(info.st_mode) or (info.st_dev, info.st_ino, info.st_size) != seen:
                return False
        return True
