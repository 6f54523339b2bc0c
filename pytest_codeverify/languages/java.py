"""Java, compiled with ``javac`` and run on the JVM; the file is named after the main class."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from .base import Language, Step, Toolchain

_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.DOTALL)
_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.MULTILINE)
_KIND = r"(?:class|enum|record|interface)"
_PUBLIC_CLASS = re.compile(r"\bpublic\s+(?:(?:final|abstract|static|strictfp)\s+)*" + _KIND + r"\s+(\w+)")
_CLASS = re.compile(r"\b(?:class|enum|record|interface)\s+(\w+)")
_MAIN = re.compile(r"\bstatic\s+(?:public\s+|final\s+)*void\s+main\s*\("
                   r"|\bpublic\s+static\s+(?:final\s+)?void\s+main\s*\(")


def _strip(code: str) -> str:
    """The source without comments and string literals (they may mention ``class``)."""
    return _COMMENTS.sub(lambda m: " " if m.group(0).startswith("/") else '""', code)


def main_class(code: str) -> tuple[str, str]:
    """``(package, class)`` of the program: its public top-level class, else the class whose
    body holds ``main`` (the last class declared before it), else ``Main``."""
    text = _strip(code)
    package_match = _PACKAGE.search(text)
    package = package_match.group(1) if package_match else ""
    public = _PUBLIC_CLASS.search(text)
    if public:
        return package, public.group(1)
    main = _MAIN.search(text)
    before = _CLASS.findall(text[:main.start()]) if main else []
    if before:
        return package, before[-1]
    names = _CLASS.findall(text)
    return package, names[0] if names else "Main"


class Java(Language):
    name = "java"
    aliases = ("java",)
    tools = ("javac", "java")
    install = "Debian: apt-get install default-jdk-headless"
    debian_packages = ("default-jdk-headless",)
    flags = ("-encoding", "UTF-8")
    reserves_address_space = True
    memory_patterns = ("java.lang.OutOfMemoryError",)
    error_patterns = (r"^Exception in thread", r"^Caused by: ")
    #: JVM options of compiler and program alike: one GC thread, no shared perf-data file.
    JVM = ("-XX:+UseSerialGC", "-XX:-UsePerfData", "-XX:TieredStopAtLevel=1")

    def source_name(self, code: str) -> str:
        return main_class(code)[1] + ".java"

    def find_host(self) -> Toolchain:
        """Debian's JDK links its configuration to ``/etc/java-N-openjdk``: bind that too."""
        found = super().find_host()
        config = tuple((str(path), str(path)) for path in sorted(Path("/etc").glob("java-*")))
        return replace(found, binds=(*found.binds, *config))

    def compile_step(self, tools: dict[str, str], source: str) -> Step:
        options = [f"-J{option}" for option in self.JVM]
        return Step([tools["javac"], *options, *self.flags, "-d", ".", source], outputs=("*.class",))

    def run_step(self, tools: dict[str, str], source: str, code: str, memory_mb: int) -> Step:
        package, name = main_class(code)
        # The heap is sized from the memory limit, leaving room for the JVM's own memory
        # (metaspace, code cache, thread stacks): a full heap is OutOfMemoryError, judged MLE.
        heap = max(16, memory_mb - min(160, memory_mb // 3))
        main = f"{package}.{name}" if package else name
        return Step([tools["java"], *self.JVM[:2], f"-Xmx{heap}m", "-Xss64m", "-cp", ".", main])


LANGUAGE = Java()
