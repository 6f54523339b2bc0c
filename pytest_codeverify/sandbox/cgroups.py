"""Memory and process-count limits through a cgroup per sandbox (v1 or v2), where permitted.

rlimits cannot limit processes for root and count them per host user otherwise, and an
address-space rlimit is not a memory limit; a cgroup is both exact and cheap (creating,
limiting and removing one costs well under a millisecond). One cgroup holds one sandbox's
runner and everything it forks; as jobs run one at a time, its limit is the job's limit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
GROUP = "codeverify"


def _pid_namespace() -> str:
    """This process's PID namespace as a short token (its inode number)."""
    try:
        return os.readlink("/proc/self/ns/pid").split("[")[-1].rstrip("]")
    except OSError:
        return "0"


class Cgroup:
    """A memory+pids cgroup for one sandbox. Construct with :meth:`create`."""

    def __init__(self, dirs: dict[str, Path], version: int) -> None:
        self.dirs = dirs
        self.version = version
        #: Files read before and after every job, kept open: a ``pread`` costs a fraction of
        #: an open, read and close.
        self._fds: dict[str, int] = {}
        #: The memory limit last written, so an unchanged limit is not written again.
        self._limit: int | None = None

    def _read(self, name: str) -> str:
        fd = self._fds.get(name)
        if fd is None:
            fd = self._fds[name] = os.open(self.dirs["memory"] / name, os.O_RDONLY | os.O_CLOEXEC)
        return os.pread(fd, 65536, 0).decode("ascii", "replace")

    def close_files(self) -> None:
        """Close the files kept open for reading."""
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()

    @classmethod
    def create(cls, name: str, pids_max: int) -> Cgroup | None:
        """Create the cgroup, or return ``None`` where this process may not."""
        if (ROOT / "cgroup.controllers").exists():
            base = ROOT / GROUP
            try:
                base.mkdir(exist_ok=True)
                controllers = (ROOT / "cgroup.controllers").read_text().split()
                if not {"memory", "pids"} <= set(controllers):
                    return None
                (ROOT / "cgroup.subtree_control").write_text("+memory +pids")
                (base / "cgroup.subtree_control").write_text("+memory +pids")
                path = base / name
                path.mkdir()
                (path / "pids.max").write_text(str(pids_max))
                if (path / "memory.swap.max").exists():
                    (path / "memory.swap.max").write_text("0")
            except OSError:
                return None
            return cls({"memory": path, "pids": path}, 2)
        dirs = {}
        try:
            for controller in ("memory", "pids"):
                base = ROOT / controller / GROUP
                base.mkdir(exist_ok=True)
                path = base / name
                path.mkdir()
                dirs[controller] = path
            (dirs["pids"] / "pids.max").write_text(str(pids_max))
        except OSError:
            for path in dirs.values():
                with contextlib.suppress(OSError):
                    path.rmdir()
            return None
        return cls(dirs, 1)

    @staticmethod
    def owned_name(tag: str) -> str:
        """A cgroup name that says who owns it: this process's pid and PID namespace, then ``tag``."""
        return f"{os.getpid()}-{_pid_namespace()}-{tag}"

    @staticmethod
    def remove_orphans() -> None:
        """Remove the cgroups of processes that died without removing their own.

        A name starts with the owner's pid and PID namespace (:meth:`owned_name`). Only owners
        in this PID namespace can be judged: a pid from another namespace means another process
        here, or none, so a live sandbox of another namespace would lose its cgroup. A live
        owner's cgroup may be empty for a moment (created, not yet entered), so only a dead
        owner's is touched.
        """
        namespace = _pid_namespace()
        for base in (ROOT / GROUP, ROOT / "memory" / GROUP, ROOT / "pids" / GROUP):
            if not base.is_dir():
                continue
            for child in base.iterdir():
                owner, _, rest = child.name.partition("-")
                if not rest.startswith(namespace + "-"):
                    continue
                if child.is_dir() and owner.isdigit() and not Path(f"/proc/{owner}").exists():
                    orphan = Cgroup({"memory": child}, 2 if base == ROOT / GROUP else 1)
                    orphan.remove()

    def procs_files(self) -> list[Path]:
        return [path / "cgroup.procs" for path in {*self.dirs.values()}]

    def enter(self) -> None:
        """Move the calling process into the cgroup (called in the child before exec)."""
        for procs in self.procs_files():
            procs.write_text(str(os.getpid()))

    def memory_usage(self) -> int:
        return int(self._read("memory.current" if self.version == 2 else "memory.usage_in_bytes"))

    def set_memory_limit(self, limit: int) -> None:
        """Set the memory limit (and memory+swap, where accounted, to the same: no swapping).

        Raises ``OSError`` when the kernel refuses: a limit silently left as it was would turn
        the next job's verdicts wrong.
        """
        if limit == self._limit:
            return
        self._limit = None  # unknown until every write succeeded
        if self.version == 2:
            (self.dirs["memory"] / "memory.max").write_text(str(limit))
            self._limit = limit
            return
        path = self.dirs["memory"]
        plain = path / "memory.limit_in_bytes"
        memsw = path / "memory.memsw.limit_in_bytes"
        # The kernel keeps memory+swap >= memory at every step: raise memory+swap first when
        # raising, lower it last when lowering.
        order = [memsw, plain] if limit > int(plain.read_text()) else [plain, memsw]
        for target in order:
            if target.exists():
                target.write_text(str(limit))
        self._limit = limit

    def oom_kills(self) -> int:
        """How many processes the kernel killed in this cgroup for memory so far."""
        try:
            text = self._read("memory.events" if self.version == 2 else "memory.oom_control")
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def kill_all(self, spare: int | None = None) -> None:
        """SIGKILL every process in the cgroup (but ``spare``, a pid to leave alive)."""
        for procs in self.procs_files():
            for pid in _pids(procs):
                # 0 stands for a process outside this PID namespace: kill(0) would hit our own group.
                if pid > 0 and pid != spare:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)

    def empty(self, spare: int | None = None, timeout: float = 2.0) -> None:
        """Kill every process but ``spare`` and wait until they are gone (they count as pids)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = [pid for procs in self.procs_files() for pid in _pids(procs) if pid != spare]
            if not left:
                return
            self.kill_all(spare)
            time.sleep(0.002)

    def remove(self) -> None:
        """Kill whatever is left inside and remove the cgroup."""
        self.close_files()
        self.kill_all()
        for path in {*self.dirs.values()}:
            for _ in range(200):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    self.kill_all()
                    time.sleep(0.005)


def _pids(procs: Path) -> list[int]:
    try:
        return [int(pid) for pid in procs.read_text().split()]
    except OSError:
        return []
