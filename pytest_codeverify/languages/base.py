"""What a language is to the harness: how to compile it, how to run it, how its failures look.

A :class:`Language` only describes programs; nothing here runs them. The sandbox side
(:mod:`pytest_codeverify.sandbox.programs`) executes the argument vectors built here inside the
isolation boundary, and the judge asks :meth:`Language.failure` what a failed run means.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

#: Compile limits (every compiled language, unless its module says otherwise): CPU seconds,
#: memory in MiB, and the cap on diagnostics kept in a ``CE`` message (characters).
COMPILE_CPU_S = 10.0
COMPILE_MEMORY_MB = 1024
DIAGNOSTIC_CHARS = 1500
#: Where toolchains outside the system's PATH usually live (rustup, go.dev tarballs, ...).
EXTRA_PATHS = ("~/.cargo/bin", "/usr/local/go/bin", "~/go/bin", "~/.local/bin")
#: Where a local sandbox mounts toolchain prefixes that live outside ``/usr``.
SANDBOX_TOOLCHAINS = "/opt/codeverify-toolchains"


class ToolchainMissing(LookupError):
    """The toolchain a language needs is not on this machine; the message says how to install it."""


@dataclass(frozen=True)
class Toolchain:
    """A language's tools: ``tools`` maps a tool's name to the path (or, in a container image,
    the name) to execute; ``binds`` are ``(host directory, path in the sandbox)`` pairs, the
    installation prefixes outside ``/usr`` that a local sandbox mounts read-only. A prefix under
    a home directory is mounted under :data:`SANDBOX_TOOLCHAINS` instead of its own path, so the
    sandbox shows no part of the home directory."""

    tools: dict[str, str]
    binds: tuple[tuple[str, str], ...] = ()

    def inside(self) -> Toolchain:
        """The same tools at the paths the binds give them inside a local sandbox."""
        tools = {}
        for tool, path in self.tools.items():
            for host, target in self.binds:
                if path == host or path.startswith(host.rstrip("/") + "/"):
                    path = target + path[len(host.rstrip("/")):]
                    break
            tools[tool] = path
        return Toolchain(tools, self.binds)


@dataclass(frozen=True)
class Step:
    """One program execution inside the sandbox: write ``files`` to the work directory, run
    ``argv`` there with ``env``; for a compile step, keep the files matching ``outputs``."""

    argv: list[str]
    files: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """How one program runs: an optional compile step (its artefact cached under ``key``) and
    the run step that executes once per test."""

    key: str
    run: Step
    compile: Step | None = None


@dataclass(frozen=True)
class ProgramInputs:
    """What a program gets beyond its source and stdin (a checker program's setting).

    ``sources`` are compiled with it (``testlib.h``) and belong to its artefact's key;
    ``files`` are written to the work directory of this one run; ``args`` follow its command.
    """

    sources: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()


class Language:
    """Base of every language module. Subclasses set the class attributes and the steps."""

    #: Registry name (a record's ``language``) and the fence tags that name it in a response.
    name: str = ""
    aliases: tuple[str, ...] = ()
    #: Tools the language needs, by command name; the first one's ``--version`` is reported.
    tools: tuple[str, ...] = ()
    #: How to install the tools (shown when they are missing) and the Debian packages for images.
    install: str = ""
    debian_packages: tuple[str, ...] = ()
    #: Compiler flags (part of the artefact cache key).
    flags: tuple[str, ...] = ()
    #: What the compile step is, as ``codeverify languages`` shows it.
    kind: str = "compiled"
    compile_cpu_s: float = COMPILE_CPU_S
    compile_memory_mb: int = COMPILE_MEMORY_MB
    #: Whether the runtime reserves address space far beyond what it uses (JVM, Go, V8): then
    #: memory can only be limited by a cgroup, never by ``RLIMIT_AS``.
    reserves_address_space: bool = False
    #: stderr patterns meaning the program ran out of memory (judged ``MLE``, not ``RE``).
    memory_patterns: tuple[str, ...] = ()
    #: stderr patterns whose first matching line explains a runtime error.
    error_patterns: tuple[str, ...] = ()

    def source_name(self, code: str) -> str:
        """The file name the source is written to (every language defines its own)."""
        raise NotImplementedError(f"language {self.name!r} does not name its source file")

    def compile_step(self, tools: dict[str, str], source: str) -> Step | None:
        """The compile step for a source file (``None`` for interpreted languages)."""
        return None

    def run_step(self, tools: dict[str, str], source: str, code: str, memory_mb: int) -> Step:
        """The run step of one test; ``memory_mb`` sizes runtime heaps (``-Xmx`` and alike).

        Every language run through an argument vector defines it; a ``native`` one (the
        runner's own Python) runs inside the runner instead and has none."""
        raise NotImplementedError(f"language {self.name!r} has no run step: it runs inside the runner")

    def plan(self, code: str, toolchain: Toolchain, memory_mb: int, files: dict[str, str] | None = None) -> Plan:
        """The compile (if any) and run steps of ``code`` with these tools.

        ``files`` are more sources beside the program (a checker's ``testlib.h``, a helper
        module): written with it before the compile, kept in the artefact when the program
        runs from its sources (an interpreted language), and part of the artefact's key.
        """
        files = dict(files or {})
        source = self.source_name(code)
        build = self.compile_step(toolchain.tools, source)
        if build is not None:
            # Sources a syntax-checked program reads at run time travel in its artefact.
            kept = build.outputs + tuple(glob.escape(name) for name in files) if self.kind != "compiled" \
                else build.outputs
            build = Step(build.argv, {**files, source: code}, build.env, kept)
        run = self.run_step(toolchain.tools, source, code, memory_mb)
        if build is None:
            run = Step(run.argv, {**files, source: code, **run.files}, run.env)
        # No toolchain version: an artefact lives only as long as the runner that compiled it.
        identity: list[object] = [self.name, list(self.flags), build.argv if build else run.argv[:1], code]
        if files:
            identity.append(sorted(files.items()))
        key = hashlib.sha256(json.dumps(identity).encode("utf-8", "surrogatepass")).hexdigest()
        return Plan(key, run, build)

    # -- failures ------------------------------------------------------------------------

    def out_of_memory(self, stderr: str) -> bool:
        """Whether a failed run's stderr says it ran out of memory."""
        return any(pattern in stderr for pattern in self.memory_patterns)

    def error_line(self, stderr: str) -> str:
        """The line of a failed run's stderr that explains it (empty when none does)."""
        for line in stderr.splitlines():
            if any(re.search(pattern, line) for pattern in self.error_patterns):
                return line.strip()[:300]
        return ""

    # -- toolchains on this machine --------------------------------------------------------

    def find_host(self) -> Toolchain:
        """This machine's toolchain (for the local backend), found without running it (this is
        on the path of every local sandbox's start). Raises :class:`ToolchainMissing`."""
        found: dict[str, str] = {}
        for tool in self.tools:
            path = which(tool)
            if path is None:
                raise ToolchainMissing(self.missing_message(tool))
            found[tool] = path
        return self.bound(found)

    def bound(self, tools: dict[str, str]) -> Toolchain:
        """``tools`` (host paths) with the binds their prefixes outside ``/usr`` need."""
        resolved: dict[str, str] = {}
        prefixes: list[str] = []
        for tool, path in tools.items():
            prefix = outside_usr(path)
            if prefix is None:
                resolved[tool] = path  # /usr/bin/javac -> /etc/alternatives -> /usr/lib/jvm: all visible
            else:
                resolved[tool] = os.path.realpath(path)  # a proxy or link outside /usr may not be
                prefixes.append(prefix)
        unique = list(dict.fromkeys(prefixes))
        binds = tuple((prefix, f"{SANDBOX_TOOLCHAINS}/{self.name}" + (f"-{n}" if n else ""))
                      for n, prefix in enumerate(unique))
        return Toolchain(resolved, binds)

    def in_image(self) -> Toolchain:
        """The toolchain inside a container image built with :attr:`debian_packages` (on its PATH)."""
        return Toolchain({tool: tool for tool in self.tools})

    def missing_message(self, tool: str) -> str:
        return f"language {self.name!r} needs {tool}, which is not on this machine: install it ({self.install})"

    def version(self, toolchain: Toolchain) -> str:
        """The version of this machine's toolchain, as its first tool reports it."""
        return self.version_of(toolchain.tools[self.tools[0]])

    def version_of(self, path: str) -> str:
        """The tool's version line (first non-empty line of ``--version``), or ``""``."""
        try:
            done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return ""
        for line in (done.stdout + "\n" + done.stderr).splitlines():
            if line.strip():
                return line.strip()
        return ""


def which(tool: str) -> str | None:
    """``tool`` on PATH or in :data:`EXTRA_PATHS`, as an absolute path."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *(os.path.expanduser(p) for p in EXTRA_PATHS)])
    return shutil.which(tool, path=search)


def outside_usr(path: str) -> str | None:
    """The installation prefix (``<prefix>/bin/tool``) of a tool outside ``/usr``, else ``None``."""
    real = Path(os.path.realpath(path))
    if real.is_relative_to("/usr") or real.is_relative_to("/bin"):
        return None
    return str(real.parent.parent)


def trim(text: str, limit: int = DIAGNOSTIC_CHARS) -> str:
    """A diagnostic cut to ``limit`` characters (its head, where the first error is)."""
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rstrip() + f"\n... ({len(text) - limit} more characters)"
