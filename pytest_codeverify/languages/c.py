"""C, compiled with GCC."""

from __future__ import annotations

from .base import Language, Step


class C(Language):
    name = "c"
    aliases = ("c", "h")
    tools = ("gcc",)
    install = "Debian: apt-get install gcc libc6-dev"
    debian_packages = ("gcc", "libc6-dev")
    flags = ("-O2", "-std=gnu17", "-pipe")
    # The C library's malloc returns NULL rather than printing; a cgroup kill is the usual MLE.
    memory_patterns = ()

    def source_name(self, code: str) -> str:
        return "main.c"

    def compile_step(self, tools: dict[str, str], source: str) -> Step:
        return Step([tools["gcc"], *self.flags, source, "-o", "main", "-lm"], outputs=("main",))

    def run_step(self, tools: dict[str, str], source: str, code: str, memory_mb: int) -> Step:
        return Step(["./main"])


LANGUAGE = C()
