"""Rust, compiled with ``rustc`` (one file, standard library only)."""

from __future__ import annotations

import os
import subprocess

from .base import Language, Step, Toolchain, ToolchainMissing, which


class Rust(Language):
    name = "rust"
    aliases = ("rust", "rs")
    tools = ("rustc", "cc")
    install = "Debian: apt-get install rustc (or rustup from rustup.rs)"
    debian_packages = ("rustc",)
    flags = ("-O", "--edition", "2021", "-C", "strip=symbols")
    memory_patterns = ("memory allocation of",)
    error_patterns = (r"panicked at", r"^thread '")

    def source_name(self, code: str) -> str:
        return "main.rs"

    def compile_step(self, tools: dict[str, str], source: str) -> Step:
        return Step([tools["rustc"], *self.flags, "-C", f"linker={tools['cc']}", source, "-o", "main"],
                    outputs=("main",))

    def run_step(self, tools: dict[str, str], source: str, code: str, memory_mb: int) -> Step:
        return Step(["./main"])

    def find_host(self) -> Toolchain:
        """rustup installs a proxy that needs ``~/.rustup``: use the toolchain's own rustc instead."""
        found = {tool: which(tool) for tool in self.tools}
        for tool, path in found.items():
            if path is None:
                raise ToolchainMissing(self.missing_message(tool))
        try:
            sysroot = subprocess.run([str(found["rustc"]), "--print", "sysroot"], capture_output=True,
                                     text=True, timeout=60).stdout.strip()
        except (OSError, subprocess.SubprocessError) as exc:
            raise ToolchainMissing(f"rustc does not answer ({exc}): {self.install}") from exc
        rustc = os.path.join(sysroot, "bin", "rustc")
        if not sysroot or not os.path.isfile(rustc):
            raise ToolchainMissing(f"rustc has no usable sysroot ({sysroot!r}): {self.install}")
        # rustc finds its libraries beside itself, so the toolchain may be mounted elsewhere.
        return self.bound({"rustc": rustc, "cc": str(found["cc"])})


LANGUAGE = Rust()
