"""The controller's rewards file comes from what the items and workers report, never from
reading the datasets again: under ``-n 2`` the controller does not open them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import read_jsonl, write_jsonl

pytestmark = pytest.mark.sandbox

#: Loaded by the controller and by each worker of the pytester run: on the controller only, it
#: records every opening of a file named ``*.jsonl`` / ``*.jsonl.gz`` whose name starts with
#: ``data`` (the datasets; the rewards file is named otherwise) into ``opened.txt``.
COUNTING_CONFTEST = '''
import builtins, io, os

_real_open = builtins.open  # gzip.open goes through builtins.open, pathlib through io.open
_seen = []


def _note(file):
    name = os.path.basename(os.fspath(file)) if isinstance(file, (str, bytes, os.PathLike)) else ""
    if isinstance(name, bytes):
        name = name.decode()
    if name.startswith("data") and name.endswith((".jsonl", ".jsonl.gz")):
        _seen.append(name)


def _counting_open(file, *args, **kwargs):
    _note(file)
    return _real_open(file, *args, **kwargs)


def pytest_configure(config):
    if not hasattr(config, "workerinput"):
        builtins.open = io.open = _counting_open


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput"):
        builtins.open = io.open = _real_open
        with _real_open(os.path.join(str(config.rootpath), "opened.txt"), "w") as out:
            out.write("\\n".join(_seen))
'''

RECORDS: list[dict | str] = [
    {"id": "add", "code": "a, b = map(int, input().split())\nprint(a + b)",
     "tests": [{"name": "one", "input": "1 2\n", "output": "3\n"}, {"name": "two", "input": "2 2\n", "output": "4\n"}]},
    '{"id": "broken", ',
    {"id": "sub", "problem_id": "add", "code": "a, b = map(int, input().split())\nprint(a - b)",
     "tests": [{"input": "1 2\n", "output": "3\n"}, {"input": "2 0\n", "output": "2\n"}], "time_limit": 3},
    {"id": "add", "code": "print(1)", "tests": [{"input": "", "output": "1\n"}]},
    {"id": "crash", "code": "raise SystemExit(3)", "tests": [{"input": "", "output": "x\n"}]},
]


def without_times(lines: list[dict]) -> list[dict]:
    for line in lines:
        for test in line["tests"]:
            test.pop("time_s", None)
    return lines


def test_the_xdist_controller_never_reads_the_dataset(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makeconftest(COUNTING_CONFTEST)
    data = write_jsonl(pytester.path / "data.jsonl", RECORDS)
    gz = pytester.path / "data2.jsonl.gz"
    import gzip

    with gzip.open(gz, "wt") as handle:
        handle.write(json.dumps({"id": "gz", "code": "print(2)", "tests": [{"input": "", "output": "2\n"}]}) + "\n")
    common = ["--codeverify", "--codeverify-backend", "local", "-p", "no:cacheprovider", str(data), str(gz)]
    serial = pytester.runpytest_subprocess(*common, "--codeverify-rewards", "serial.out")
    serial_opened = (pytester.path / "opened.txt").read_text().split()
    spread = pytester.runpytest_subprocess(*common, "-n", "2", "--codeverify-rewards", "spread.out")
    spread_opened = (pytester.path / "opened.txt").read_text().split()

    assert serial.ret == spread.ret == 1, spread.stdout.str()[-3000:]
    # A serial run collects in this process (reading each file once), then reports from its items.
    assert sorted(serial_opened) == ["data.jsonl", "data2.jsonl.gz"]
    # Under xdist the workers collect; the controller opens neither dataset.
    assert spread_opened == []
    lines = without_times(read_jsonl(pytester.path / "spread.out"))
    assert lines == without_times(read_jsonl(pytester.path / "serial.out"))
    assert [(x["id"], x["reward"], x["verdict"]) for x in lines] == [
        ("add", 1.0, "AC"), ("2", None, None), ("sub", 0.5, "WA"), ("add", None, None), ("crash", 0.0, "RE"),
        ("gz", 1.0, "AC")]
    assert "not valid JSON" in lines[1]["error"] and lines[1]["line"] == 2
    assert "duplicate id 'add'" in lines[3]["error"] and lines[3]["line"] == 4
    assert lines[2]["time_limit"] == 3.0
    assert "format: data.jsonl: native (detected)" in spread.stdout.str()


def test_a_test_without_a_report_is_SE_in_its_place(pytester: pytest.Pytester) -> None:
    """A test that never reported (its worker died) still has its line, as SE, from the head."""
    pytest.importorskip("xdist")
    pytester.makeconftest('''
import os

def pytest_runtest_setup(item):
    if item.nodeid.endswith("sub::test_1") and hasattr(item.config, "workerinput"):
        os._exit(1)  # the worker dies mid-run, without reporting this test
''')
    data = write_jsonl(pytester.path / "data.jsonl", [RECORDS[0], RECORDS[2]])
    result = pytester.runpytest_subprocess("--codeverify", "--codeverify-backend", "local", "-p", "no:cacheprovider",
                                           str(data), "-n", "2", "--codeverify-rewards", "out.jsonl")
    lines = read_jsonl(Path(pytester.path / "out.jsonl"))
    assert [line["id"] for line in lines] == ["add", "sub"], result.stdout.str()[-2000:]
    sub = lines[1]
    assert [t["name"] for t in sub["tests"]] == ["test_0", "test_1"]
    assert sub["tests"][1]["verdict"] == "SE" and sub["reward"] is None


def test_items_share_their_case_and_make_empty_containers_on_use(pytester: pytest.Pytester) -> None:
    """What an item holds: no per-item timeout mark when its case's tests share one, and no
    empty containers until used (they would be most of 100,000 items' memory)."""
    data = write_jsonl(pytester.path / "data.jsonl", [RECORDS[0], {**RECORDS[2], "tests": [
        {"input": "1 2\n", "output": "3\n", "time_limit": 1}, {"input": "2 0\n", "output": "2\n"}]}])
    config = pytester.parseconfigure("--codeverify", "-p", "no:cacheprovider", str(data))
    session = pytest.Session.from_config(config)
    config.hook.pytest_sessionstart(session=session)
    items = session.perform_collect()
    first, second, third, _fourth = items
    assert first.case is second.case  # type: ignore[attr-defined]
    # Both tests of "add" share a limit: one mark, on their collector, found from each item.
    assert first.get_closest_marker("timeout") is second.get_closest_marker("timeout") is not None
    assert first.parent is not None and first.parent.own_markers and not first.__dict__.get("_lazy_own_markers")
    # "sub" has two limits: each item carries its own, different backstop.
    assert third.get_closest_marker("timeout").args != _fourth.get_closest_marker("timeout").args  # type: ignore[union-attr]
    assert "_lazy_user_properties" not in first.__dict__
    first.user_properties.append(("verdict", "AC"))  # made on first use, then kept
    assert first.user_properties == [("verdict", "AC")]
    assert "_lazy_user_properties" not in second.__dict__ and second.user_properties == []
    config._ensure_unconfigure()


def test_cases_no_worker_described_are_read_from_the_file(pytester: pytest.Pytester) -> None:
    """When no worker delivers the cases' heads (all lost), the controller reads the file for them."""
    pytest.importorskip("xdist")
    pytester.makeconftest('''
import pytest

@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output.pop("codeverify_heads", None)  # as if every worker was lost before its end
''')
    data = write_jsonl(pytester.path / "data.jsonl", RECORDS)
    common = ["--codeverify", "--codeverify-backend", "local", "-p", "no:cacheprovider", str(data)]
    spread = pytester.runpytest_subprocess(*common, "-n", "2", "--codeverify-rewards", "spread.out")
    serial = pytester.runpytest_subprocess(*common, "--codeverify-rewards", "serial.out")
    assert spread.ret == serial.ret == 1
    lines = without_times(read_jsonl(pytester.path / "spread.out"))
    assert lines == without_times(read_jsonl(pytester.path / "serial.out"))
    assert [x["id"] for x in lines] == ["add", "2", "sub", "add", "crash"]
