"""Go, built with ``go build`` (module mode off: one file, standard library only)."""

from __future__ import annotations

import subprocess

from .base import Language, Step


class Go(Language):
    name = "go"
    aliases = ("go", "golang")
    tools = ("go",)
    install = "Debian: apt-get install golang-go (or a go.dev release in /usr/local/go)"
    debian_packages = ("golang-go",)
    # No -trimpath: it would rebuild the whole standard library (~8 s of CPU) for every program.
    flags = ("-ldflags=-s -w",)
    reserves_address_space = True
    # Go 1.20+ ships no compiled standard library: every build compiles the packages it imports
    # (~8 s of CPU for fmt and its dependencies) since no build cache may outlive a compile.
    compile_cpu_s = 30.0
    memory_patterns = ("runtime: out of memory", "fatal error: out of memory")
    error_patterns = (r"^panic: ", r"^fatal error: ")

    def source_name(self, code: str) -> str:
        return "main.go"

    def compile_step(self, tools: dict[str, str], source: str) -> Step:
        # The build cache lives in the work directory, which is emptied after the compile:
        # nothing a build leaves there can reach another program's build.
        env = {"GOCACHE": "{work}/.gocache", "GOPATH": "{work}/.gopath", "GO111MODULE": "off",
               "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": "", "GOMAXPROCS": "2"}
        return Step([tools["go"], "build", *self.flags, "-o", "main", source], env=env, outputs=("main",))

    def run_step(self, tools: dict[str, str], source: str, code: str, memory_mb: int) -> Step:
        return Step(["./main"], env={"GOMAXPROCS": "2"})

    def version_of(self, path: str) -> str:
        try:
            return subprocess.run([path, "version"], capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""


LANGUAGE = Go()
