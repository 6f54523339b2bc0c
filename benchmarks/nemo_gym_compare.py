"""Side by side with NeMo Gym's code_gen grader on its own data, in one sitting.

NeMo Gym's ``resources_servers/code_gen`` grades a rollout by extracting the last code block
(its ``extract_code``) and calling its ``check_correctness`` (LiveCodeBench's runner: the tests
run inside one unsandboxed process, stopping at the first failure) with the configured
``unit_test_timeout_secs``; its reward is 1.0 when every test passed. This script calls those
functions unmodified from a checkout of NeMo Gym, serially and with a pool of N concurrent
checks (its server bounds them with a semaphore the same way), on NeMo Gym's five example
rollouts repeated ``--copies`` times, and runs pytest-codeverify on the same rollouts:

- ``pytest --codeverify --codeverify-reward all`` serially and with ``-n N``,
- ``codeverify verify --reward all`` with ``-j 1`` and ``-j N``,

each test isolated in its own process in the sandbox (``--backend``), stopping a record at its
first failing test (early stop, on by default with the all-or-nothing reward).

The NeMo Gym checkout is not part of this project: get one with
``git clone https://github.com/NVIDIA-NeMo/Gym`` and pass its path with ``--gym``. Its
``lcb_integration`` needs numpy, ray and tqdm.

Usage: ``python benchmarks/nemo_gym_compare.py --gym PATH [--copies 40] [--workers 2]``.
Prints a markdown table: seconds, tests run, and the rewards each grader gave the five rollouts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "datasets" / "nemo-gym-code-gen"

#: Run in a process of its own, with NeMo Gym's code_gen directory first on the path: grades
#: every rollout as NeMo Gym's /verify does and prints what it found as JSON.
GYM_DRIVER = r"""
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
from lcb_integration.compute_code_generation_metrics import check_correctness
from lcb_integration.extraction_utils import LMStyle, extract_code

rollouts_path, problems_path, workers, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
problems = {}
for line in open(problems_path):
    record = json.loads(line)
    problems[record["responses_create_params"]["input"][0]["content"]] = record["verifier_metadata"]["unit_tests"]
jobs = []
for line in open(rollouts_path):
    rollout = json.loads(line)
    tests = problems[rollout["responses_create_params"]["input"][0]["content"]]
    text = "".join(part["text"] for item in rollout["response"]["output"] if item.get("type") == "message"
                   for part in item["content"] if part.get("type") == "output_text")
    jobs.append((tests, text))

def verify(job):
    tests, text = job
    code = extract_code(text, LMStyle.OpenAIChat)
    if not code:
        return 0.0, 0
    result, _ = check_correctness({"input_output": json.dumps(tests)}, code, timeout, False)
    return (1.0 if all(r == True for r in result) else 0.0), len(result)

started = time.perf_counter()
if workers == 1:
    graded = [verify(job) for job in jobs]
else:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        graded = list(pool.map(verify, jobs))
print(json.dumps({"seconds": time.perf_counter() - started, "rewards": [g[0] for g in graded],
                  "tests": sum(g[1] for g in graded)}))
"""


def write_rollouts(data: Path, copies: int, target: Path) -> int:
    lines = (data / "example_rollouts.jsonl").read_text(encoding="utf-8").splitlines()
    with target.open("w", encoding="utf-8") as handle:
        for _ in range(copies):
            for line in lines:
                handle.write(line + "\n")
    return len(lines)


def gym(gym_root: Path, rollouts: Path, problems: Path, workers: int, timeout: int) -> dict[str, object]:
    code_gen = gym_root / "resources_servers" / "code_gen"
    env = {**os.environ, "PYTHONPATH": str(code_gen)}
    done = subprocess.run([sys.executable, "-c", GYM_DRIVER, str(rollouts), str(problems), str(workers), str(timeout)],
                          cwd=code_gen, env=env, capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def ours(command: list[str], rewards: Path, cwd: Path) -> dict[str, object]:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    lines = [json.loads(line) for line in rewards.read_text(encoding="utf-8").splitlines()]
    return {"seconds": seconds, "rewards": [line["reward"] for line in lines],
            "tests": sum(line["total"] - line.get("not_run", 0) for line in lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gym", type=Path, required=True, help="a checkout of NeMo Gym")
    parser.add_argument("--data", type=Path, default=DATA, help="NeMo Gym's code_gen example data")
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=10, help="NeMo Gym's unit_test_timeout_secs")
    parser.add_argument("--backend", default="local")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rollouts, problems = work / "rollouts.jsonl", work / "problems.jsonl"
        distinct = write_rollouts(args.data, args.copies, rollouts)
        problems.write_text((args.data / "example.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
        out = work / "rewards.jsonl"
        pytest = [sys.executable, "-m", "pytest", "--codeverify", str(rollouts), "--codeverify-problems", str(problems),
                  "--codeverify-reward", "all", "--codeverify-backend", args.backend, "--codeverify-rewards",
                  str(out), "-q", "-p", "no:cacheprovider"]
        cli = [sys.executable, "-m", "pytest_codeverify.cli", "verify", str(rollouts), "--problems", str(problems),
               "--reward", "all", "--backend", args.backend, "-o", str(out), "--progress", "never"]
        rows = [
            ("NeMo Gym code_gen, serial", gym(args.gym, rollouts, problems, 1, args.timeout)),
            (f"NeMo Gym code_gen, {args.workers} concurrent", gym(args.gym, rollouts, problems, args.workers,
                                                                  args.timeout)),
            ("pytest --codeverify, serial", ours(pytest, out, work)),
            (f"pytest --codeverify -n {args.workers}", ours([*pytest, "-n", str(args.workers)], out, work)),
            ("codeverify verify -j 1", ours([*cli, "-j", "1"], out, work)),
            (f"codeverify verify -j {args.workers}", ours([*cli, "-j", str(args.workers)], out, work)),
        ]
    serial, pooled = rows[0][1]["seconds"], rows[1][1]["seconds"]
    print(f"{distinct} rollouts x {args.copies}, {os.cpu_count()} CPUs, backend {args.backend}, one sitting\n")
    print("| grader | seconds | vs NeMo Gym | tests run | ms per test run | rewards of the distinct rollouts |")
    print("|---|---|---|---|---|---|")
    for index, (label, found) in enumerate(rows):
        base = serial if index in (0, 2, 4) else pooled
        seconds = float(str(found["seconds"]))
        rewards = list(found["rewards"])[:distinct]  # type: ignore[call-overload]
        per_test = seconds * 1000 / max(int(str(found["tests"])), 1)
        print(f"| {label} | {seconds:.1f} | {seconds / float(str(base)):.2f} | {found['tests']} | {per_test:.2f} "
              f"| {rewards} |")


if __name__ == "__main__":
    main()
