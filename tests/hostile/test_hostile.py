"""Every hostile candidate gets its verdict on every backend, and the host is unaffected.

All attacks of a backend run in one pytest subprocess (see :mod:`hostile.harness`); the tests
below assert on its rewards file and on the host afterwards.
"""

from __future__ import annotations

import os
import re
import signal
import threading

import pytest

from conftest import ROOT, require_backend
from hostile.attacks import ATTACKS, Attack
from hostile.harness import NEXT_SUFFIX, Run, pidns_available, run_attacks, run_attacks_through_server
from hostile.table import END, START, render_table

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


#: Every attack runs on every backend three ways: one pytest worker, two xdist workers (two
#: sandboxes at once), and through the HTTP server's /verify.
MODES = ("serial", "two workers", "server")


@pytest.fixture(scope="module", params=[(b, m) for b in ("local", "docker") for m in MODES], ids="-".join)
def hostile_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One batch run of all attacks on a backend, one way (skipped as the ``backend`` fixture skips)."""
    backend, mode = request.param
    name = require_backend(backend)
    pidns, _ = pidns_available()
    work = tmp_path_factory.mktemp(f"hostile-{name}-{mode.replace(' ', '-')}")
    if mode == "server":
        return run_attacks_through_server(name, work, pidns=pidns)
    return run_attacks(name, work, pidns=pidns, workers=2 if mode == "two workers" else 0)


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_attack_verdict(hostile_run: Run, attack: Attack) -> None:
    if attack not in hostile_run.attacks:
        pytest.skip(f"{attack.name} signals -1 and runs only in a PID namespace: {pidns_available()[1]}")
    line = hostile_run.rewards.get(attack.name)
    assert line is not None, hostile_run.output
    assert line["verdict"] == attack.verdict, line
    assert line["reward"] == (1.0 if attack.verdict == "AC" else 0.0)
    after = hostile_run.rewards[attack.name + NEXT_SUFFIX]
    assert (after["verdict"], after["reward"]) == ("AC", 1.0), f"the test after {attack.name}: {after}"


def test_host_unaffected(hostile_run: Run, request: pytest.FixtureRequest) -> None:
    assert hostile_run.sentinel_intact
    assert hostile_run.stray_pids == []
    # Exactly one result per record, none lost, whatever the attacks did.
    assert len(hostile_run.rewards) == 2 * len(hostile_run.attacks), hostile_run.output
    if request.node.callspec.params["hostile_run"][1] == "server":
        assert hostile_run.exit_code == 0, "the server no longer answered /health with ok: " + hostile_run.output
        return
    assert hostile_run.exit_code == 1, hostile_run.output  # tests failed; pytest itself did not crash
    assert re.search(rf"codeverify: {2 * len(hostile_run.attacks)} record\(s\)", hostile_run.output)


def test_runner_killed_from_outside_is_se_not_zero() -> None:
    """A sandbox that dies mid-job yields SE and a null reward; the next test runs normally."""
    from pytest_codeverify.cases import Case, StdioTest
    from pytest_codeverify.engine import verify_case
    from pytest_codeverify.judge import Verdict
    from pytest_codeverify.sandbox import LocalSandbox

    sleeper = Case("sleeper", "sleeper", (StdioTest("", "5\n"),), "import time\ntime.sleep(30)\n", time_limit=10)
    benign = Case("benign", "benign", (StdioTest("2 3\n", "5\n"),), "print(sum(map(int, input().split())))\n")
    with LocalSandbox() as sandbox:
        sandbox.start()
        runner = sandbox.runner_pids()[-1]  # the job runner itself, PID 1 of its namespace
        killer = threading.Timer(0.5, os.kill, (runner, signal.SIGKILL))
        killer.start()
        try:
            report = verify_case(sandbox, sleeper)
        finally:
            killer.cancel()
        assert report.tests[0].outcome.verdict is Verdict.SE
        assert report.reward is None and report.to_dict()["reward"] is None
        after = verify_case(sandbox, benign)
        assert (after.verdict, after.reward) == (Verdict.AC, 1.0)


def test_readme_table_is_up_to_date() -> None:
    readme = (ROOT / "README.md").read_text()
    assert START in readme and END in readme, "README lacks the attack table markers"
    table = readme.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    assert table == render_table(ATTACKS), "regenerate it with: python tests/hostile/table.py"
