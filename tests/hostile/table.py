"""Print the README's attack table: every hostile candidate and the verdict it gets.

``python tests/hostile/table.py`` runs every attack on the local backend (in a new PID
namespace when ``unshare`` allows, as attacks that signal -1 require), checks that each one
got the verdict it is defined with and that the benign test after it still passed, and prints
the Markdown table; it exits 1, printing the differences instead, when the run disagrees.
``--no-run`` prints the table from the definitions alone (the README check uses this).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hostile.attacks import ATTACKS, Attack
from hostile.harness import NEXT_SUFFIX, Run, pidns_available, run_attacks

START = "<!-- hostile-table:start -->"
END = "<!-- hostile-table:end -->"
_MODES = {"input": "stdin/stdout", "args": "call", "assert": "assertion"}


def _kind(attack: Attack) -> str:
    first = attack.spec["tests"][0]
    return next(label for key, label in _MODES.items() if key in first)


def render_table(attacks: list[Attack]) -> str:
    """The Markdown table of ``attacks`` (without the surrounding markers)."""
    rows = ["| attack | test kind | what the candidate does | verdict | prevented |", "|---|---|---|---|---|"]
    for attack in attacks:
        held = "yes" if attack.held else "**no** (see below)"
        rows.append(f"| `{attack.name}` | {_kind(attack)} | {attack.description} | {attack.verdict} | {held} |")
    return "\n".join(rows) + "\n"


def disagreements(run: Run) -> list[str]:
    """How the run differs from the definitions (empty when it agrees everywhere)."""
    problems = []
    for attack in run.attacks:
        got = run.rewards.get(attack.name, {}).get("verdict")
        after = run.rewards.get(attack.name + NEXT_SUFFIX, {}).get("verdict")
        if got != attack.verdict:
            problems.append(f"{attack.name}: expected {attack.verdict}, got {got}")
        if after != "AC":
            problems.append(f"{attack.name}: the benign test after it got {after}")
    if not run.sentinel_intact:
        problems.append("the sentinel file outside the sandbox was changed")
    if run.stray_pids:
        problems.append(f"processes survived the run: {run.stray_pids}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-run", action="store_true", help="print the table from the definitions only")
    parser.add_argument("--backend", default="local")
    args = parser.parse_args(argv)
    if not args.no_run:
        pidns, why = pidns_available()
        if not pidns:
            print(f"note: attacks that signal -1 are skipped: {why}", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="codeverify-hostile-") as work:
            run = run_attacks(args.backend, Path(work), pidns=pidns)
        problems = disagreements(run)
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 1
    sys.stdout.write(render_table(ATTACKS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
