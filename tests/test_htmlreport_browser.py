"""The report in a real browser: headless Chromium renders it from a file, script and all."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pytest_codeverify.cli import main

pytestmark = pytest.mark.slow

# No background traffic, no profile reuse: the page alone decides what the browser does.
QUIET = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def chromium() -> str:
    """The browser's path; a skip with the reason where it is missing (CI installs it, so there it fails)."""
    pytest.importorskip("matplotlib", reason="the report extra (matplotlib) is not installed")
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("chromium must be installed in CI (.ci/run installs Debian's chromium)")
    pytest.skip("headless Chromium is not installed (apt-get install chromium)")


def browse(page: Path, profile: Path, *args: str, view: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium(), *QUIET, f"--user-data-dir={profile}", *args, page.as_uri() + view],
                          capture_output=True, text=True, timeout=120, check=True)


class Dom(HTMLParser):
    """Record rows, summary counts and the script-written record count of a dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, str, str]] = []  # (run, key, verdict)
        self.hidden: set[str] = set()  # keys of records the filters hide
        self.opened: list[str] = []  # keys of records whose details are shown
        self.counts: dict[tuple[str, str, str], int] = {}  # (run, stat, verdict) -> count
        self.shown = ""
        self._cell: tuple[str, str] | None = None
        self._count: str | None = None
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "tr" and a.get("class", "").startswith("rec"):
            self.records.append((a["data-run"], a["data-key"], a["data-verdict"]))
            if "hidden" in a:
                self.hidden.add(a["data-key"])
        elif tag == "tr" and a.get("class") == "detail" and "hidden" not in a:
            self.opened.append(self.records[-1][1])
        elif tag == "td" and "data-stat" in a:
            self._cell = (a["data-run"], a["data-stat"])
        elif tag == "span" and a.get("class") == "count":
            self._count = a["data-verdict"]
        elif tag == "b" and self._count is not None:
            self._in = "count"
        elif tag == "span" and a.get("id") == "shown":
            self._in = "shown"

    def handle_data(self, data: str) -> None:
        if self._in == "count" and self._cell is not None and self._count is not None:
            self.counts[(*self._cell, self._count)] = int(data)
            self._count = None
        elif self._in == "shown":
            self.shown += data
        self._in = None


def write(path: Path, verdicts: dict[str, list[str]]) -> Path:
    lines = []
    for record_id, tests in verdicts.items():
        verdict = next((v for v in tests if v != "AC"), "AC")
        lines.append({"id": record_id, "problem_id": record_id.split("-")[0], "reward": tests.count("AC") / len(tests),
                      "passed": tests.count("AC"), "total": len(tests), "verdict": verdict,
                      "tests": [{"name": f"t{i}", "verdict": v, "time_s": 0.01 * (i + 1), "input": "1\n",
                                 "expected": "2\n", "got": "</script><b>3</b>\n"} for i, v in enumerate(tests)]})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


FIRST = {"sum-0": ["AC", "AC"], "sum-1": ["AC", "WA"], "fib-0": ["TLE"], "io-0": ["RE", "AC"], "io-1": ["CE"]}
SECOND = {"sum-0": ["AC", "AC"], "sum-1": ["AC", "AC"], "fib-0": ["AC"], "io-0": ["RE", "AC"], "new-0": ["MLE"]}


def dump(page: Path, profile: Path, view: str = "") -> Dom:
    dom = Dom()
    dom.feed(browse(page, profile, "--virtual-time-budget=3000", "--dump-dom", view=view).stdout)
    return dom


def render_in_browser(tmp_path: Path, *files: Path) -> Dom:
    page = tmp_path / "report.html"
    assert main(["report", *map(str, files), "-o", str(page)]) == 0
    dom = dump(page, tmp_path / "profile")
    assert dom.hidden == set() and dom.opened == []
    shot = tmp_path / "shot.png"
    browse(page, tmp_path / "profile2", "--window-size=1200,1600", f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000  # a page was drawn, not a blank
    return dom


def test_one_file_renders_every_record_and_the_verdict_counts(tmp_path: Path) -> None:
    dom = render_in_browser(tmp_path, write(tmp_path / "run.jsonl", FIRST))
    assert dom.records == [("0", key, next((v for v in tests if v != "AC"), "AC")) for key, tests in FIRST.items()]
    assert dom.shown == f"showing {len(FIRST)} of {len(FIRST)} records"  # the page's script ran
    assert {v: n for (run, stat, v), n in dom.counts.items() if stat == "record-verdicts"} == {
        "AC": 1, "WA": 1, "TLE": 1, "RE": 1, "CE": 1}
    assert {v: n for (run, stat, v), n in dom.counts.items() if stat == "test-verdicts"} == {
        "AC": 4, "WA": 1, "TLE": 1, "RE": 1, "CE": 1}


def test_two_files_render_side_by_side_with_changed_verdicts(tmp_path: Path) -> None:
    dom = render_in_browser(tmp_path, write(tmp_path / "before.jsonl", FIRST), write(tmp_path / "after.jsonl", SECOND))
    assert [(run, key) for run, key, _ in dom.records] == (
        [("0", key) for key in FIRST] + [("1", key) for key in SECOND])
    assert dom.shown == f"showing {len(FIRST) + len(SECOND)} of {len(FIRST) + len(SECOND)} records"
    after = {v: n for (run, stat, v), n in dom.counts.items() if run == "1" and stat == "record-verdicts"}
    assert after == {"AC": 3, "RE": 1, "MLE": 1}
    before = {v: n for (run, stat, v), n in dom.counts.items() if run == "0" and stat == "record-verdicts"}
    assert before == {"AC": 1, "WA": 1, "TLE": 1, "RE": 1, "CE": 1}
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    changed = page[page.index('id="changes"'):page.index('id="records"')]
    assert changed.count('class="change"') == 2 and 'data-key="sum-1"' in changed and 'data-key="fib-0"' in changed


def test_a_link_filters_the_table_and_opens_a_record(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    assert main(["report", str(write(tmp_path / "run.jsonl", FIRST)), "-o", str(page)]) == 0
    dom = dump(page, tmp_path / "profile", "#verdict=!AC&open=sum-1")
    assert dom.shown == "showing 4 of 5 records"
    assert dom.hidden == {"sum-0"} and dom.opened == ["sum-1"]
    dom = dump(page, tmp_path / "profile", "#q=io-")
    assert dom.shown == "showing 2 of 5 records" and dom.hidden == {"sum-0", "sum-1", "fib-0"}
