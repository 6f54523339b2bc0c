"""Run every hostile candidate once through the real plugin and collect what happened.

One JSONL file holds all attacks, each followed by a benign record that must still pass in
the same sandbox; one pytest subprocess runs it (inside a fresh PID namespace when
``unshare`` is usable, which attacks that signal -1 require). The outcome is read back from
the rewards file and from the host: the sentinel file and any process that survived.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .attacks import ATTACKS, BENIGN_CODE, SECRET_ENV, Attack

SENTINEL_TEXT = "host sentinel: must stay intact\n"
NEXT_SUFFIX = "--next"


@dataclass
class Run:
    """What one batch run of the attacks produced."""

    backend: str
    attacks: list[Attack]
    rewards: dict[str, dict[str, Any]]
    sentinel_intact: bool
    stray_pids: list[int]
    exit_code: int
    output: str
    pidns: bool


def pidns_available() -> tuple[bool, str]:
    """Whether this process may run a command in a new PID namespace via ``unshare``."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False, "unshare(1) is not installed"
    try:
        probe = subprocess.run([unshare, "--pid", "--fork", "--mount-proc", "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"unshare failed: {exc}"
    if probe.returncode != 0:
        return False, f"unshare --pid is not permitted: {probe.stderr.decode(errors='replace').strip()}"
    return True, ""


def processes_with(marker: str) -> list[int]:
    """Pids (in this /proc) whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def run_attacks(backend: str, work: Path, *, pidns: bool, attacks: list[Attack] | None = None,
                workers: int = 0) -> Run:
    """Run ``attacks`` (default: all that may run here) on ``backend``; files go below ``work``;
    ``workers`` > 0 runs them on that many pytest-xdist workers (one sandbox each)."""
    chosen = [a for a in (attacks or ATTACKS) if pidns or not a.pidns_only]
    marker = f"codeverify-hostile-{uuid.uuid4().hex}"
    secret = uuid.uuid4().hex
    sentinel = work / "sentinel.txt"
    sentinel.write_text(SENTINEL_TEXT)
    lines = []
    for attack in chosen:
        lines.append(attack.record(str(sentinel), marker, secret))
        lines.append({"id": attack.name + NEXT_SUFFIX, "code": BENIGN_CODE,
                      "tests": [{"input": "2 3\n", "output": "5\n"}]})
    data = work / "attacks.jsonl"
    data.write_text("".join(json.dumps(line) + "\n" for line in lines))
    rewards = work / "rewards.jsonl"
    argv = [sys.executable, "-m", "pytest", "--codeverify", str(data), "--codeverify-backend", backend,
            "--codeverify-rewards", str(rewards), "-p", "no:cacheprovider", "-q", "--rootdir", str(work)]
    if workers:
        argv += ["-n", str(workers)]
    if pidns:
        argv = [shutil.which("unshare") or "unshare", "--pid", "--fork", "--mount-proc", *argv]
    env = dict(os.environ, **{SECRET_ENV: secret})
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=900)
    results = {}
    if rewards.exists():
        results = {line["id"]: line for line in map(json.loads, rewards.read_text().splitlines()) if line}
    stray = processes_with(marker)
    for pid in stray:  # leave the machine clean even when the sandbox failed
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    return Run(backend, chosen, results, sentinel.read_text() == SENTINEL_TEXT if sentinel.exists() else False,
               stray, proc.returncode, proc.stdout[-20000:] + proc.stderr[-5000:], pidns)
