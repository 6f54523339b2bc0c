"""Programs other than the runner's own Python: compile jobs, the artefact cache, exec mode.

Standard library only: shipped into the sandbox by :mod:`.bundle`. A job of a language other
than Python carries ``argv`` (and ``files`` to write first); the forked child sets itself up as
for any job, then executes ``argv`` instead of running Python source.

A ``compile`` job keeps what the compiler produced (``outputs``) in the artefact cache under
the job's ``key``; a later job naming that ``artefact`` gets a fresh copy of those files in its
work directory. The cache is held by the runner in sealed memory files (``memfd`` with
write, grow and shrink seals), never in a directory: no candidate can reach it (the runner's
file descriptors are closed in every child, and the runner is not dumpable) and no one can
change a cached artefact, so one record's run cannot poison another record's program. What a
run does to its own copy is erased with the work directory after the job.
"""

from __future__ import annotations

import base64
import fcntl
import fnmatch
import os
import signal
from collections import OrderedDict

TYPE_CHECKING = False
if TYPE_CHECKING:  # never at run time: only the standard library exists in the sandbox
    from collections.abc import Callable
    from typing import Any

#: Bytes of artefacts one runner keeps (least recently used ones go first) and the most files
#: and bytes one compile may keep. Sealed memory files count against the sandbox's memory: in a
#: container, against the runner's fixed reserve, so the cache stays well below it (a typical
#: artefact is 20 KiB to 2 MiB, and one record's tests run one after another).
CACHE_MAX_BYTES = 24 << 20
ARTEFACT_MAX_FILES = 512
ARTEFACT_MAX_BYTES = 64 << 20
_SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE

# key -> [(path relative to the work directory, sealed memfd, size, mode)]
_CACHE: OrderedDict[str, list[tuple[str, int, int, int]]] = OrderedDict()


class MissingArtefact(LookupError):
    """A job named an artefact this runner does not hold (it was never compiled here)."""


def is_program(job: dict[str, Any]) -> bool:
    """Whether ``job`` runs a program (compile or exec mode) rather than Python source."""
    return bool(job.get("argv"))


def prepare(job: dict[str, Any], work_dir: str) -> None:
    """Write the job's files into the (empty) work directory: its sources, and the cached
    artefact it names."""
    if not is_program(job):
        return
    key = job.get("artefact")
    if key:
        entry = _CACHE.get(key)
        if entry is None:
            raise MissingArtefact(f"no compiled artefact {key[:12]} on this runner")
        _CACHE.move_to_end(key)
        for relative, memfd, size, mode in entry:
            path = _inside(work_dir, relative)
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode & 0o500 or 0o400)
            try:
                _copy(memfd, out, size)
            finally:
                os.close(out)
    for name, text in (job.get("files") or {}).items():
        path = _inside(work_dir, name)
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(text))


def exec_child(job: dict[str, Any], report: Callable[[dict[str, Any]], None]) -> None:
    """In the forked child, after its setup: become the job's program. Never returns.

    The result channel is closed on exec: the program has nothing to report there. An exec
    that fails (a missing tool) is reported as ``ExecError`` so the harness can tell a broken
    sandbox from a broken program.
    """
    work = os.getcwd()
    for name, value in (job.get("env") or {}).items():
        os.environ[name] = str(value).replace("{work}", work)
    argv = [str(part) for part in job["argv"]]
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # an ignored signal would stay ignored after exec
    os.set_inheritable(3, False)
    try:
        os.execvpe(argv[0], argv, os.environ)
    except OSError as exc:
        report({"status": "exception", "type": "ExecError", "message": f"cannot execute {argv[0]}: {exc.strerror}"})
    os._exit(127)


def finish(job: dict[str, Any], work_dir: str, result: dict[str, Any]) -> dict[str, Any]:
    """After a compile job (its processes swept): keep the outputs of a successful compile."""
    if job.get("mode") != "compile":
        return result
    clean = result.get("exit_code") == 0 and not result.get("killed_for")
    if clean:
        try:
            result["artefact"] = _store(str(job["key"]), work_dir, tuple(job.get("outputs") or ()))
        except ValueError as exc:
            result["artefact_error"] = str(exc)
    result["evicted"] = _evict(keep=str(job.get("key")))
    return result


def _store(key: str, work_dir: str, patterns: tuple[str, ...]) -> dict[str, Any]:
    """Copy the compile's output files into sealed memory files under ``key``."""
    found = []
    total = 0
    for root, dirs, files in os.walk(work_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # build caches (.gocache) stay behind
        for name in files:
            path = os.path.join(root, name)
            relative = os.path.relpath(path, work_dir)
            if not any(fnmatch.fnmatch(relative, pattern) for pattern in patterns):
                continue
            info = os.lstat(path)
            if not (info.st_mode & 0o170000 == 0o100000):
                continue  # regular files only, never a link the compile left
            total += info.st_size
            found.append((relative, path, info.st_size, info.st_mode & 0o777))
    if not found:
        raise ValueError(f"the compiler produced none of {', '.join(patterns)}")
    if len(found) > ARTEFACT_MAX_FILES or total > ARTEFACT_MAX_BYTES:
        raise ValueError(f"the compiler produced {len(found)} files of {total} bytes, over the artefact limit")
    entry = []
    try:
        for relative, path, size, mode in found:
            memfd = os.memfd_create("artefact", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
            entry.append((relative, memfd, size, mode))
            source = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                _copy(source, memfd, size)
            finally:
                os.close(source)
            fcntl.fcntl(memfd, fcntl.F_ADD_SEALS, _SEALS)
    except OSError:
        for _relative, memfd, _size, _mode in entry:
            os.close(memfd)
        raise
    _drop(key)
    _CACHE[key] = entry
    return {"files": len(entry), "bytes": total}


def _drop(key: str) -> None:
    for _relative, memfd, _size, _mode in _CACHE.pop(key, []):
        os.close(memfd)


def _evict(keep: str) -> list[str]:
    """Drop least recently used artefacts until the cache fits; returns the keys dropped."""
    evicted = []
    while sum(size for entry in _CACHE.values() for _r, _f, size, _m in entry) > CACHE_MAX_BYTES:
        oldest = next(iter(_CACHE))
        if oldest == keep:
            break
        _drop(oldest)
        evicted.append(oldest)
    return evicted


def _inside(work_dir: str, relative: str) -> str:
    """``relative`` under ``work_dir``; a name escaping it is a harness bug."""
    path = os.path.normpath(os.path.join(work_dir, relative))
    if not path.startswith(work_dir.rstrip("/") + "/"):
        raise ValueError(f"file name {relative!r} leaves the work directory")
    return path


def _copy(source: int, target: int, size: int) -> None:
    """Copy the first ``size`` bytes of ``source`` to ``target``'s position, in the kernel."""
    copied = 0
    while copied < size:
        sent = os.sendfile(target, source, copied, size - copied)
        if sent == 0:
            break
        copied += sent
