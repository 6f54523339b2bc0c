"""PyPy: Python 3 source run by ``pypy3`` (stdin tests)."""

from __future__ import annotations

from .base import Language, Step


class PyPy(Language):
    name = "pypy"
    aliases = ("pypy", "pypy3")
    tools = ("pypy3",)
    install = "Debian: apt-get install pypy3"
    kind = "syntax-checked"
    debian_packages = ("pypy3",)
    memory_patterns = ("MemoryError",)
    error_patterns = (r"^\w*(Error|Exception)\b",)

    def source_name(self, code: str) -> str:
        return "solution.py"

    def compile_step(self, tools: dict[str, str], source: str) -> Step:
        # A syntax check only: a program that does not parse is CE, as with CPython.
        return Step([tools["pypy3"], "-m", "py_compile", source], outputs=(source,))

    def run_step(self, tools: dict[str, str], source: str, code: str, memory_mb: int) -> Step:
        return Step([tools["pypy3"], source])


LANGUAGE = PyPy()
