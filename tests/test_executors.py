"""Executors: ``codeverify verify -j N`` gives the lines of a serial run, in input order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, read_jsonl, write_jsonl

pytestmark = pytest.mark.sandbox


def records(count: int) -> list[dict | str]:
    """A mix of right, wrong, crashing and unreadable records."""
    out: list[dict | str] = []
    for i in range(count):
        kind = i % 4
        if kind == 3:
            out.append('{"id": "broken", ')  # not JSON: its own line, in its place
            continue
        code = ["print(sum(map(int, input().split())))", "print(0)", "raise SystemExit(2)"][kind]
        out.append({"id": f"r{i}", "code": code,
                    "tests": [{"input": f"{i} 1\n", "output": f"{i + 1}\n"}, {"input": "2 2\n", "output": "4\n"}]})
    return out


def verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_codeverify.cli", "verify", "--backend", "local", *args],
                          capture_output=True, text=True, timeout=600)


def without_times(lines: list[dict]) -> list[dict]:
    for line in lines:
        for test in line["tests"]:
            test.pop("time_s")
    return lines


def test_parallel_run_matches_the_serial_one_in_order(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "data.jsonl", records(40))
    serial = verify(str(data), "-j", "1", "-o", str(tmp_path / "serial.jsonl"))
    parallel = verify(str(data), "-j", "3", "-o", str(tmp_path / "parallel.jsonl"))
    assert serial.returncode == parallel.returncode == 0, serial.stderr + parallel.stderr
    lines = read_jsonl(tmp_path / "parallel.jsonl")
    assert len(lines) == 40  # one line per record, broken ones included
    assert without_times(lines) == without_times(read_jsonl(tmp_path / "serial.jsonl"))
    assert [line["verdict"] for line in lines[:4]] == ["AC", "WA", "RE", None]
    assert lines[3]["reward"] is None and "not valid JSON" in lines[3]["error"]
    assert "data.jsonl:4: not valid JSON" in parallel.stderr


def test_bad_jobs_value_is_named() -> None:
    result = verify(str(ROOT / "data" / "example.jsonl"), "-j", "0")
    assert result.returncode == 2
    assert "--jobs: must be a positive whole number" in result.stderr


def test_lines_stream_out_before_the_input_is_read(tmp_path: Path) -> None:
    """Results are written while later records are still being read (bounded memory)."""
    from pytest_codeverify.executors.local import LocalPool

    seen: list[str] = []

    def items():  # type: ignore[no-untyped-def]
        from pytest_codeverify.formats import load_file

        for record in load_file(write_jsonl(tmp_path / "d.jsonl", records(30))):
            seen.append(record.id)
            if record.error is None:
                yield from record.cases
            else:
                yield {"id": record.id, "reward": None}

    with LocalPool(2, backend="local") as pool:
        first = next(iter(pool.map(items())))
        assert first["id"] == "r0"
        assert len(seen) < 30  # the first line came out before the last record was read
        rest = list(pool.map([]))
    assert rest == []
    json.dumps(first)


def test_an_input_far_larger_than_the_window_holds_only_the_window(tmp_path: Path) -> None:
    """Records are read only as results go out: never more in flight than the pool's window."""
    from pytest_codeverify.executors.local import LocalPool
    from pytest_codeverify.formats import load_file

    data = write_jsonl(tmp_path / "d.jsonl", records(600))
    read = 0
    written = 0
    most_held = 0

    def items():  # type: ignore[no-untyped-def]
        nonlocal read, most_held
        for record in load_file(data):
            read += 1
            most_held = max(most_held, read - written)
            if record.error is None:
                yield from record.cases
            else:
                yield {"id": record.id, "reward": None}

    with LocalPool(2, backend="local") as pool:
        window = pool.workers * pool.WINDOW_PER_WORKER
        ids = []
        for line in pool.map(items()):
            written += 1
            ids.append(line["id"])
    assert len(ids) == 600 and ids[:3] == ["r0", "r1", "r2"]
    assert most_held <= window + 1  # the window, and the record being read
