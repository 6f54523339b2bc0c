"""JavaScript, run by Node.js."""

from __future__ import annotations

from .base import Language, Step


class JavaScript(Language):
    name = "javascript"
    aliases = ("javascript", "js", "node", "nodejs")
    tools = ("node",)
    install = "Debian: apt-get install nodejs"
    kind = "syntax-checked"
    debian_packages = ("nodejs",)
    reserves_address_space = True
    memory_patterns = ("JavaScript heap out of memory", "Reached heap limit")
    error_patterns = (r"^\w*Error\b", r"^Uncaught ")

    def source_name(self, code: str) -> str:
        return "solution.js"

    def compile_step(self, tools: dict[str, str], source: str) -> Step:
        # A syntax check only: a program that does not parse is CE, as in compiled languages.
        return Step([tools["node"], "--check", source], outputs=(source,))

    def run_step(self, tools: dict[str, str], source: str, code: str, memory_mb: int) -> Step:
        # V8's old-space cap from the memory limit (its young generation and code live
        # outside it), so running out of heap is V8's own report, judged MLE.
        heap = max(16, memory_mb * 3 // 4)
        return Step([tools["node"], f"--max-old-space-size={heap}", "--stack-size=65500", source])


LANGUAGE = JavaScript()
