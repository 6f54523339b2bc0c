"""Python: run by the sandbox's own interpreter (stdin, call and assertion tests)."""

from __future__ import annotations

import sys

from .base import Language, Toolchain


class Python(Language):
    """CPython, the runner's interpreter: no compile step, every test mode."""

    name = "python"
    aliases = ("python", "py", "python3", "py3")
    install = "the interpreter running codeverify"
    kind = "interpreted"
    debian_packages = ("python3",)
    memory_patterns = ("MemoryError",)
    #: Runs inside the runner's interpreter, not through an argument vector.
    native = True

    def source_name(self, code: str) -> str:
        return "solution.py"

    def find_host(self) -> Toolchain:
        return Toolchain({"python3": sys.executable})

    def version(self, toolchain: Toolchain) -> str:
        return f"Python {sys.version.split()[0]}"


LANGUAGE = Python()
