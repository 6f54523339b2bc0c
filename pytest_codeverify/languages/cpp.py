"""C++, compiled with G++."""

from __future__ import annotations

from .base import Language, Step


class Cpp(Language):
    name = "cpp"
    aliases = ("cpp", "c++", "cxx", "cc", "hpp")
    tools = ("g++",)
    install = "Debian: apt-get install g++"
    debian_packages = ("g++",)
    flags = ("-O2", "-std=gnu++17", "-pipe")
    memory_patterns = ("std::bad_alloc",)
    error_patterns = (r"^terminate called",)

    def source_name(self, code: str) -> str:
        return "main.cpp"

    def compile_step(self, tools: dict[str, str], source: str) -> Step:
        return Step([tools["g++"], *self.flags, source, "-o", "main"], outputs=("main",))

    def run_step(self, tools: dict[str, str], source: str, code: str, memory_mb: int) -> Step:
        return Step(["./main"])


LANGUAGE = Cpp()
