"""The ``codeverify`` command: one subcommand per module of this package."""

from __future__ import annotations

import argparse
import importlib
import sys

#: subcommand -> "module:function" that adds its arguments to a subparser and returns the
#: function to run with the parsed arguments (imported only when needed).
COMMANDS: dict[str, str] = {
    "verify": "pytest_codeverify.cli.verify:register",
    "serve": "pytest_codeverify.cli.serve:register",
    "image": "pytest_codeverify.cli.image:register",
    "languages": "pytest_codeverify.cli.languages:register",
    "report": "pytest_codeverify.cli.report:register",
}


def main(argv: list[str] | None = None) -> int:
    """Run the ``codeverify`` command line."""
    parser = argparse.ArgumentParser(prog="codeverify", description="Sandboxed verification of generated code.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, target in COMMANDS.items():
        module_name, function_name = target.split(":")
        register = getattr(importlib.import_module(module_name), function_name)
        register(subparsers.add_parser(name))
    args = parser.parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
