"""``codeverify languages``: which languages this machine can run, with their toolchains' versions."""

from __future__ import annotations

import argparse
import json

from .. import languages
from ..languages import ToolchainMissing


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = ("List the languages a record may be written in, whether this machine's local "
                          "backend can run them, and the toolchain versions (or how to install them).")
    parser.add_argument("--json", action="store_true", help="one JSON object per language")
    parser.set_defaults(run=run)


def survey() -> list[dict[str, object]]:
    """One entry per language: name, whether available, version or install hint, tools, compiled."""
    rows: list[dict[str, object]] = []
    for name, language in languages.registry().items():
        row: dict[str, object] = {"language": name, "kind": language.kind,
                                  "aliases": sorted(language.aliases)}
        try:
            toolchain = language.find_host()
        except ToolchainMissing as exc:
            row.update(available=False, missing=str(exc), debian_packages=list(language.debian_packages))
        else:
            row.update(available=True, version=language.version(toolchain), tools=toolchain.tools)
        rows.append(row)
    return rows


def run(args: argparse.Namespace) -> int:
    rows = survey()
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    width = max(len(str(row["language"])) for row in rows)
    for row in rows:
        kind = str(row["kind"])
        if row["available"]:
            print(f"{row['language']:<{width}}  yes  {kind:<14}  {row['version']}")
        else:
            print(f"{row['language']:<{width}}  no   {kind:<14}  {row['missing']}")
    return 0
