"""``codeverify doctor``: what this machine offers the sandbox, and the command that fixes what is wrong."""

from __future__ import annotations

import argparse

from ..config import DEFAULT_IMAGE
from ..doctor import FAIL, OK, Finding, run_checks


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Check bubblewrap, user namespaces, cgroups, Docker and toolchains, run a tiny job on "
                          "each backend, and print what is wrong with the command that fixes it.")
    parser.add_argument("--image", default=DEFAULT_IMAGE, help="the docker backend's image")
    parser.add_argument("--backend", action="append", choices=("local", "docker"),
                        help="run the job check on this backend only (repeatable; default: both)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    def show(finding: Finding) -> None:
        for line in finding.lines():
            print(line, flush=True)

    findings = run_checks(args.image, tuple(args.backend or ("local", "docker")), progress=show)
    jobs = [f for f in findings if f.name.endswith("backend job")]
    working = [f.name.split()[0] for f in jobs if f.status == OK]
    print()
    if working:
        print(f"usable backends: {', '.join(working)}")
    else:
        print("no backend ran a job cleanly: every test would be SE (see the fixes above)")
    return 1 if not working or any(f.status == FAIL for f in jobs) else 0
