"""The languages a candidate may be written in: one module per language, found automatically.

Each module of this package (but :mod:`.base`) defines ``LANGUAGE``, an instance of a
:class:`~.base.Language` subclass; adding a language is adding one such module. ``python``
runs in the sandbox runner's own interpreter (stdin, call and assertion tests); every other
language runs as a program (stdin tests), compiled at most once per sandbox worker.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

from .base import Language, Plan, ProgramInputs, Step, Toolchain, ToolchainMissing, trim

#: CodeContests' ``Language`` codes (its ``solutions.language`` field) -> language names.
CODECONTESTS_CODES = {1: "python2", 2: "cpp", 3: "python", 4: "java"}


@functools.cache
def registry() -> dict[str, Language]:
    """Every language by name, in a stable order (python first)."""
    found: dict[str, Language] = {}
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: (m.name != "python", m.name)):
        if module.name == "base":
            continue
        language = getattr(importlib.import_module(f"{__name__}.{module.name}"), "LANGUAGE", None)
        if isinstance(language, Language):
            found[language.name] = language
    return found


def names() -> tuple[str, ...]:
    """The names a record's ``language`` may take."""
    return tuple(registry())


def get(name: str) -> Language:
    """The language called ``name``; :class:`KeyError` naming the supported ones otherwise."""
    try:
        return registry()[name]
    except KeyError:
        raise KeyError(f"unknown language {name!r} (supported: {', '.join(names())})") from None


@functools.cache
def fence_aliases() -> dict[str, set[str]]:
    """Fence tags that name each language in a model's response."""
    return {name: set(language.aliases) | {name} for name, language in registry().items()}


def from_code(value: object) -> str | None:
    """A language name from CodeContests' numeric code (``None`` when the code is not one)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return CODECONTESTS_CODES.get(value, f"code {value}")
    return None


def is_native(name: str) -> bool:
    """Whether ``name`` runs inside the runner's interpreter (Python) instead of as a program."""
    return bool(getattr(get(name), "native", False))


__all__ = ["CODECONTESTS_CODES", "Language", "Plan", "ProgramInputs", "Step", "Toolchain", "ToolchainMissing",
           "fence_aliases", "from_code", "get", "is_native", "names", "registry", "trim"]
