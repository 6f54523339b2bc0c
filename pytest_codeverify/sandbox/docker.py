"""The Docker backend: the job runner as PID 1 of one long-lived, hardened container.

One container per sandbox (so one per pytest worker), created once and kept for the session.
The runner (:mod:`.runner`) is its main process and forks one child per job; jobs and results
travel over the container's attached stdin/stdout, so nothing is ever mounted from the host
and nothing is started per test (``docker run`` costs ~270 ms, ``docker exec`` ~70 ms, a fork
in the warm runner ~4 ms).

Hardening (all on by default): no network, read-only root filesystem, size-capped tmpfs
``/tmp`` and small ``/dev/shm`` (the only writable places), memory limit equal to the
memory+swap limit, a pids limit, one CPU, every capability dropped, ``no-new-privileges``,
uid/gid 65534, ``nofile``/``fsize``/``core`` ulimits, Docker's default seccomp profile, no
log driver, no host mounts, and inside it the runner's own seccomp filter (:mod:`.seccomp`, as on
the local backend). Expected outputs never enter the container.

Memory: a container's memory limit applies to everything in it, so it is set to the job's
limit plus a fixed reserve for the idle runner and is changed (``docker update``) only when a
job asks for a different limit; datasets mostly use one limit, so that is rare. An
out-of-memory kill of the job is read from the container's cgroup ``oom_kill`` counter
(visible from the host), falling back to the daemon's ``oom`` events.

Containers carry labels naming the run and the owning process; they are removed when the
sandbox closes, at interpreter exit, and, for owners that died without cleaning up (a
SIGKILLed worker), by a sweep at the next start on the same host.
"""

from __future__ import annotations

import atexit
import functools
import os
import select
import socket
import struct
import time
import uuid
import weakref
from pathlib import Path
from typing import Any

from ..config import DEFAULT_MEMORY_LIMIT
from ..protocol import Job, RawResult
from . import DEFAULT_IMAGE
from .base import Sandbox, SandboxError, runner_source

#: Memory reserved above the job's own limit for the idle runner (its interpreter and heap).
RUNNER_RESERVE_MB = 48
#: Processes and threads the whole container may have at once.
PIDS_LIMIT = 128
#: Size of the writable /tmp (its pages also count against the memory limit) and /dev/shm.
TMP_MB = 256
SHM_MB = 16
#: Files and directories /tmp may hold (each inode is kernel memory, not bounded by the size).
TMP_INODES = 65536
#: Largest file the candidate may write.
FSIZE_LIMIT = 64 << 20
NOFILE_LIMIT = 256
CPUS = 1.0
USER = "65534:65534"

LABEL = "codeverify"
LABEL_RUN = "codeverify.run"
LABEL_OWNER = "codeverify.owner"  # "<pid>:<process start time>" of the owning process
LABEL_HOST = "codeverify.host"
LABEL_PIDNS = "codeverify.pidns"  # the owner's PID namespace: its pid means nothing elsewhere
_DIAGNOSTICS_MAX = 64 << 10
_MUX_HEADER = struct.Struct(">BxxxL")


def _import_docker() -> Any:
    import docker  # an optional dependency: only this backend needs it

    return docker


@functools.cache
def _client() -> Any:
    """One Docker client per process (connections are pooled inside it)."""
    docker = _import_docker()
    return docker.from_env(timeout=60)


def check(image: str = DEFAULT_IMAGE) -> tuple[bool, str]:
    """Whether this backend can run here with ``image``, and why not."""
    try:
        client = _client()
    except ImportError:
        return False, "the docker Python package is not installed (pip install docker)"
    except Exception as exc:  # docker.errors.DockerException and connection errors
        return False, f"no Docker daemon reachable: {exc}"
    try:
        client.ping()
    except Exception as exc:
        return False, f"no Docker daemon reachable: {exc}"
    try:
        client.images.get(image)
    except Exception as exc:
        if type(exc).__name__ == "ImageNotFound":
            return False, f"image {image} is not present (build it: codeverify image build)"
        return False, f"cannot inspect image {image}: {exc}"
    return True, ""


def usable(image: str = DEFAULT_IMAGE) -> bool:
    """Whether a daemon answers and ``image`` is present."""
    return check(image)[0]


def describe(image: str = DEFAULT_IMAGE) -> str:
    """The header line for this backend's isolation."""
    return (f"docker: image {image}, one container per worker, runner is PID 1; network none, read-only "
            f"rootfs, {TMP_MB} MiB tmpfs /tmp, {SHM_MB} MiB /dev/shm, memory=memory+swap (job limit + "
            f"{RUNNER_RESERVE_MB} MiB), pids {PIDS_LIMIT}, cpus {CPUS:g}, cap_drop ALL, no-new-privileges, "
            f"user {USER}, default seccomp + the runner's own filter (no keyrings, mqueues, new namespaces), "
            f"no host mounts")


def _start_time(pid: int) -> str | None:
    """A process's start time in clock ticks (tells a live owner from a reused pid)."""
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


def owner_token(pid: int | None = None) -> str:
    """The owner label of containers made by ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}:{_start_time(pid) or '?'}"


def _owner_alive(token: str) -> bool:
    pid_text, _, started = token.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    return _start_time(pid) == started


def run_id() -> str:
    """This run's id: ``CODEVERIFY_RUN_ID`` when set, else shared by an xdist controller and its
    workers, else per process."""
    return os.environ.get("CODEVERIFY_RUN_ID") or os.environ.get("PYTEST_XDIST_TESTRUNUID") or _process_run_id()


@functools.cache
def _process_run_id() -> str:
    return uuid.uuid4().hex


def sweep_orphans(client: Any | None = None) -> list[str]:
    """Remove this host's sandbox containers whose owning process is gone; returns their ids."""
    client = client or _client()
    removed = []
    # sparse: one listing call, no inspection per container, which would fail for a container
    # another worker removes between the listing and its inspection.
    containers = client.containers.list(all=True, sparse=True, filters={"label": [
        LABEL, f"{LABEL_HOST}={socket.gethostname()}", f"{LABEL_PIDNS}={_pid_namespace()}"]})
    for container in containers:
        if _owner_alive((container.attrs.get("Labels") or {}).get(LABEL_OWNER, "")):
            continue
        try:
            container.remove(force=True)
            removed.append(container.id)
        except Exception:
            pass  # already gone, or being removed by another worker's sweep
    return removed


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return "?"


@functools.cache
def _sweep_once() -> None:
    try:
        sweep_orphans()
    except Exception:  # best effort: leftovers of dead runs must never fail a live run
        pass


class _Demux:
    """Splits Docker's multiplexed attach stream (8-byte headers) into stdout and stderr."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.diagnostics = bytearray()

    def feed(self, data: bytes) -> bytes:
        """Add raw bytes; return the stdout payload now complete."""
        self._buffer += data
        out = bytearray()
        while len(self._buffer) >= _MUX_HEADER.size:
            stream, size = _MUX_HEADER.unpack_from(self._buffer)
            if len(self._buffer) < _MUX_HEADER.size + size:
                break
            payload = self._buffer[_MUX_HEADER.size:_MUX_HEADER.size + size]
            del self._buffer[:_MUX_HEADER.size + size]
            if stream == 1:
                out += payload
            else:
                self.diagnostics += payload
                del self.diagnostics[:-_DIAGNOSTICS_MAX]
        return bytes(out)


def _container_cgroup(container_id: str, parent: str = "") -> Path | None:
    """The container's memory cgroup directory on the host (v1 or v2), when visible here.

    Found by the container's id rather than through ``/proc/<pid>``: in another PID namespace
    (a run under ``unshare --pid``) the daemon's pid names some other process.
    """
    root = Path("/sys/fs/cgroup")
    parents = [parent.strip("/")] if parent else []
    names = [f"{p}/{container_id}" for p in [*parents, "docker"]]
    names += [f"{p}/docker-{container_id}.scope" for p in [*parents, "system.slice"]]
    for name in names:
        for directory, marker in ((root / "memory" / name, "memory.oom_control"), (root / name, "memory.events")):
            if (directory / marker).exists():
                return directory
    return None


def _is_container_process(pid: int, container_id: str) -> bool:
    try:
        return container_id in Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return False


def _oom_kills(directory: Path) -> int:
    for name in ("memory.oom_control", "memory.events"):
        try:
            text = (directory / name).read_text()
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
    return 0


_LIVE: weakref.WeakSet[DockerSandbox] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """Remove this process's containers at exit, whatever path the exit took."""
    for sandbox in list(_LIVE):
        sandbox.close()


class DockerSandbox(Sandbox):
    """A warm job runner as PID 1 of a hardened container, reached over its attached stdio."""

    name = "docker"
    start_timeout = 60.0  # the first container after a daemon start can take ~10 s

    def __init__(self, image: str = DEFAULT_IMAGE) -> None:
        super().__init__()
        self.image = image
        self.container: Any = None
        self._socket: Any = None  # the docker-py response socket (kept to close it)
        self._raw: socket.socket | None = None
        self._demux = _Demux()
        self._memory_mb = 0
        self._cgroup: Path | None = None
        self._oom_before = 0
        #: Whether the runner's oom_score_adj is -1000 (needs root with CAP_SYS_RESOURCE).
        self.oom_protected = False
        self._job_started = 0.0
        self.update_count = 0
        _LIVE.add(self)

    @property
    def description(self) -> str:
        return describe(self.image)

    def _start(self) -> None:
        try:
            docker = _import_docker()
            client = _client()
            _sweep_once()
        except ImportError as exc:
            raise SandboxError("the docker Python package is not installed (pip install docker)") from exc
        except Exception as exc:
            raise SandboxError(f"no Docker daemon reachable: {exc}") from exc
        self._demux = _Demux()
        self._memory_mb = self._memory_mb or DEFAULT_MEMORY_LIMIT
        limit = f"{self._memory_mb + RUNNER_RESERVE_MB}m"
        ulimits = [docker.types.Ulimit(name="nofile", soft=NOFILE_LIMIT, hard=NOFILE_LIMIT),
                   docker.types.Ulimit(name="fsize", soft=FSIZE_LIMIT, hard=FSIZE_LIMIT),
                   docker.types.Ulimit(name="core", soft=0, hard=0)]
        try:
            self.container = client.containers.create(
                self.image,
                ["python3", "-I", "-S", "-c", runner_source(), "--work-root", "/tmp", "--isolated"],
                stdin_open=True, tty=False, detach=True,
                labels={LABEL: "1", LABEL_RUN: run_id(), LABEL_OWNER: owner_token(),
                        LABEL_HOST: socket.gethostname(), LABEL_PIDNS: _pid_namespace()},
                network_mode="none", read_only=True,
                # exec: compiled candidates run from the work area, as in the local backend.
                tmpfs={"/tmp": f"rw,exec,nosuid,nodev,size={TMP_MB}m,nr_inodes={TMP_INODES},mode=1777"},
                shm_size=f"{SHM_MB}m",
                mem_limit=limit, memswap_limit=limit, pids_limit=PIDS_LIMIT, nano_cpus=int(CPUS * 1e9),
                cap_drop=["ALL"], security_opt=["no-new-privileges"], user=USER, ulimits=ulimits,
                log_config=docker.types.LogConfig(type="none"),
                hostname="sandbox", working_dir="/tmp", environment={"LANG": "C.UTF-8"},
            )
            self._socket = self.container.attach_socket(
                params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            self._raw = getattr(self._socket, "_sock", self._socket)
            self.container.start()
            self.container.reload()
        except Exception as exc:
            self._stop()
            raise SandboxError(f"cannot start the sandbox container ({self.image}): {exc}") from exc
        self._cgroup = _container_cgroup(self.container.id, self.container.attrs["HostConfig"].get("CgroupParent", ""))
        host_pid = int(self.container.attrs["State"].get("Pid") or 0)
        if host_pid and os.geteuid() == 0 and _is_container_process(host_pid, self.container.id):
            # The kernel's OOM killer must pick the job, never the runner.
            try:
                Path(f"/proc/{host_pid}/oom_score_adj").write_text("-1000")
                self.oom_protected = True
            except OSError:
                pass  # no CAP_SYS_RESOURCE here; each job raises its own score to the maximum

    def _send(self, data: bytes) -> None:
        if self._raw is None:
            raise SandboxError("the sandbox container is not running")
        try:
            self._raw.sendall(data)
        except OSError as exc:
            raise SandboxError(f"cannot send to the runner: {exc}" + self._death_note()) from exc

    def _recv(self, timeout: float) -> bytes:
        if self._raw is None:
            return b""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._raw], [], [], max(remaining, 0))
            if not ready:
                raise SandboxError("the runner did not answer in time")
            try:
                data = self._raw.recv(1 << 20)
            except OSError:
                return b""
            if not data:
                return b""
            out = self._demux.feed(data)
            if out:
                return out

    def _stop(self) -> None:
        sock, self._socket, self._raw = self._socket, None, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
        container, self.container = self.container, None
        self._cgroup = None
        if container is not None:
            try:
                container.remove(force=True)
            except Exception:
                pass  # already removed (or the daemon is gone: the next run's sweep removes it)

    def _death_note(self) -> str:
        notes = []
        if self.container is not None:
            try:
                self.container.reload()
                state = self.container.attrs["State"]
                notes.append(f"container {state.get('Status')}, exit code {state.get('ExitCode')}"
                             + (", OOM-killed" if state.get("OOMKilled") else ""))
            except Exception:
                notes.append("container gone")
        tail = bytes(self._demux.diagnostics[-600:]).decode(errors="replace").strip()
        if tail:
            notes.append(tail)
        return f" ({'; '.join(notes)})" if notes else ""

    def run(self, job: Job, follow: Job | None = None) -> RawResult:
        if self.container is None:
            # Create the container with this job's limit, so a single-limit run never updates it.
            self._memory_mb = job.memory_limit_mb
        return super().run(job, follow)

    def _before_job(self, job: Job) -> dict[str, Any]:
        if job.memory_limit_mb != self._memory_mb:
            self._set_memory(job.memory_limit_mb)
        self._job_started = time.time()
        if self._cgroup is not None:
            self._oom_before = _oom_kills(self._cgroup)
        return {}

    def _set_memory(self, memory_mb: int) -> None:
        limit = (memory_mb + RUNNER_RESERVE_MB) << 20
        try:
            self.container.update(mem_limit=limit, memswap_limit=limit)
        except Exception as exc:
            raise SandboxError(f"cannot set the container's memory limit: {exc}") from exc
        self._memory_mb = memory_mb
        self.update_count += 1

    def _after_job(self, job: Job) -> bool:
        if self._cgroup is not None:
            return _oom_kills(self._cgroup) > self._oom_before
        try:  # no cgroup view (remote daemon): ask the daemon for this job's OOM events
            events = _client().events(since=int(self._job_started), until=int(time.time()) + 1, decode=True,
                                      filters={"container": self.container.id, "event": "oom"})
            return any(True for _ in events)
        except Exception:
            return False
