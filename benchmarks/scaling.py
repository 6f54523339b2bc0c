"""Tests per second of ``codeverify verify`` with 1 and 2 local workers and on a two-node Ray
cluster, on the same generated input, in one run (so the rows can be compared).

The cluster is a head and a second raylet on this machine (``ray.cluster_utils``), one CPU
each, so ``--ray`` runs two actors, each with a warm sandbox. Each configuration is timed on
the full input and on a one-record input; the difference is the steady rate without start-up
(joining the cluster, starting the actors' sandboxes). The fork floor is measured in the same run.

Usage: ``python benchmarks/scaling.py [--records 500] [--tests-per-record 10] [--repeat 1]``.
Prints a markdown table. Needs the ray extra for the cluster row (skipped without it).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from verify_memory import fork_floor, write_many


def timed(command: list[str], out: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run([*command, "-o", str(out)], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def rewards(path: Path) -> list[tuple[str, float | None]]:
    return [(line["id"], line["reward"]) for line in map(json.loads, path.read_text().splitlines())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--tests-per-record", type=int, default=10)
    parser.add_argument("--backend", default="local")
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration (the best is kept)")
    args = parser.parse_args()
    tests = args.records * args.tests_per_record
    floor = fork_floor()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data, small = folder / "data.jsonl", folder / "one.jsonl"
        write_many(data, args.records, args.tests_per_record)
        write_many(small, 1, args.tests_per_record)
        base = [sys.executable, "-m", "pytest_codeverify.cli", "verify", "--backend", args.backend,
                "--progress", "never"]
        configurations: list[tuple[str, list[str]]] = [("verify -j 1", ["-j", "1"]), ("verify -j 2", ["-j", "2"])]
        cluster = None
        try:
            from ray.cluster_utils import Cluster
        except ImportError:
            print("ray is not installed: no cluster row", file=sys.stderr)
        else:
            cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
            cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
            configurations.append(("verify --ray (2 raylets x 1 CPU)", ["--ray", cluster.address]))
        rows = []
        expected = None
        try:
            for name, options in configurations:
                full = min(timed([*base, *options, str(data)], folder / "out.jsonl") for _ in range(args.repeat))
                got = rewards(folder / "out.jsonl")
                expected = expected or got
                assert got == expected, f"{name}: rewards differ from the first configuration's"
                start = min(timed([*base, *options, str(small)], folder / "small.jsonl") for _ in range(args.repeat))
                steady = (tests - args.tests_per_record) / max(full - start, 1e-9)
                rows.append((name, full, tests / full, steady))
        finally:
            if cluster is not None:
                import ray

                ray.shutdown()
                cluster.shutdown()
    print(f"{tests} trivial stdin tests ({args.records} records x {args.tests_per_record}), backend {args.backend}, "
          f"{os.cpu_count()} CPUs; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"fork floor in this run: {floor * 1000:.2f} ms per test = {1 / floor:.0f} tests/s per core")
    print()
    print("| configuration | wall s | tests/s (wall) | tests/s (steady, start-up excluded) | steady vs 1 worker |")
    print("|---|---|---|---|---|")
    for name, full, rate, steady in rows:
        print(f"| {name} | {full:.1f} | {rate:.0f} | {steady:.0f} | {steady / rows[0][3]:.2f}x |")


if __name__ == "__main__":
    main()
