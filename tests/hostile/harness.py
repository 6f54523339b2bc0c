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
import signal
import socket
import subprocess
import sys
import time
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


@dataclass
class Batch:
    """The records of one run of the attacks, each followed by its benign record."""

    attacks: list[Attack]
    lines: list[dict[str, Any]]
    marker: str
    secret: str
    sentinel: Path


def prepare(work: Path, attacks: list[Attack] | None, pidns: bool) -> Batch:
    """Attacks that may run here (signalling -1 needs a PID namespace), their records and the sentinel."""
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
    return Batch(chosen, lines, marker, secret, sentinel)


def in_pid_namespace(argv: list[str], pidns: bool) -> list[str]:
    """``argv`` run in a fresh PID namespace where one may be made."""
    if not pidns:
        return argv
    # --kill-child: a signal that ends unshare reaches the command too, instead of orphaning it.
    return [shutil.which("unshare") or "unshare", "--pid", "--fork", "--mount-proc", "--kill-child=SIGTERM", *argv]


def finish(batch: Batch, backend: str, results: dict[str, dict[str, Any]], exit_code: int, output: str,
           pidns: bool) -> Run:
    """The run's outcome, read from the host too; whatever survived is killed."""
    stray = processes_with(batch.marker)
    for pid in stray:  # leave the machine clean even when the sandbox failed
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    intact = batch.sentinel.read_text() == SENTINEL_TEXT if batch.sentinel.exists() else False
    return Run(backend, batch.attacks, results, intact, stray, exit_code, output, pidns)


def run_attacks(backend: str, work: Path, *, pidns: bool, attacks: list[Attack] | None = None,
                workers: int = 0) -> Run:
    """Run ``attacks`` (default: all that may run here) on ``backend``; files go below ``work``;
    ``workers`` > 0 runs them on that many pytest-xdist workers (one sandbox each)."""
    batch = prepare(work, attacks, pidns)
    data = work / "attacks.jsonl"
    data.write_text("".join(json.dumps(line) + "\n" for line in batch.lines))
    rewards = work / "rewards.jsonl"
    argv = [sys.executable, "-m", "pytest", "--codeverify", str(data), "--codeverify-backend", backend,
            "--codeverify-rewards", str(rewards), "-p", "no:cacheprovider", "-q", "--rootdir", str(work)]
    if workers:
        argv += ["-n", str(workers)]
    argv = in_pid_namespace(argv, pidns)
    env = dict(os.environ, **{SECRET_ENV: batch.secret})
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=900)
    results = {}
    if rewards.exists():
        results = {line["id"]: line for line in map(json.loads, rewards.read_text().splitlines()) if line}
    return finish(batch, backend, results, proc.returncode, proc.stdout[-20000:] + proc.stderr[-5000:], pidns)


def run_attacks_through_server(backend: str, work: Path, *, pidns: bool) -> Run:
    """Every attack through ``codeverify serve``'s ``/verify``, one record after another on one
    sandbox, the server itself in a fresh PID namespace where one may be made. ``exit_code`` is
    0 when the server still answers ``/health`` with ``ok`` afterwards."""
    import httpx

    batch = prepare(work, None, pidns)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = in_pid_namespace([sys.executable, "-m", "pytest_codeverify.cli", "serve", "--port", str(port),
                             "--backend", backend, "--workers", "1"], pidns)
    env = dict(os.environ, **{SECRET_ENV: batch.secret})
    # Its own process group, so that a server that will not stop can be killed whole.
    server = subprocess.Popen(argv, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    results: dict[str, dict[str, Any]] = {}
    healthy = False
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            for line in batch.lines:
                answer = client.post("/verify", json=line)
                results[line["id"]] = answer.json() if answer.status_code == 200 else {"status": answer.status_code}
            healthy = client.get("/health").json().get("status") == "ok"
    except httpx.HTTPError as exc:
        results.setdefault("error", {"error": repr(exc)})
    finally:
        server.terminate()  # unshare passes it on to the server (--kill-child)
        try:
            _, errors = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            _, errors = server.communicate()
    return finish(batch, backend, results, 0 if healthy else 1, (errors or "")[-5000:], pidns)
