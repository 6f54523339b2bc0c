"""pytest-html extras: each codeverify test's verdict, input, expected, got and stderr in its row."""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import read_jsonl, write_jsonl
from pytest_codeverify.htmlreport.pytest_html_extras import PLUGIN_NAME, extras_html

RECORDS = [
    {"id": "add", "code": "a, b = map(int, input().split())\nprint(a + b)",
     "tests": [{"name": "one", "input": "1 2\n", "output": "3\n"}]},
    {"id": "hostile", "code": "import sys\nprint('</script><b>x</b>')\nsys.stderr.write('\\x1b[31mboom\\n')",
     "tests": [{"name": "t", "input": "1\n", "output": "2\n"}]},
]


def test_extras_block_is_escaped() -> None:
    block = extras_html("WA", 0.5, {"input": "<i>", "got": "</script>\x1b[1m", "stderr": "x" * 10_000})
    assert "&lt;i&gt;" in block and "&lt;/script&gt;" in block and "\x1b" not in block
    assert "<i>" not in block and "characters not shown" in block


def _report_tests(path: Path) -> dict[str, list[dict]]:
    blob = re.search(r'data-jsonblob="([^"]*)"', path.read_text(encoding="utf-8"))
    assert blob is not None, "pytest-html wrote no data blob"
    return json.loads(html.unescape(blob.group(1)))["tests"]  # type: ignore[no-any-return]


@pytest.mark.sandbox
@pytest.mark.slow
@pytest.mark.parametrize("workers", [[], ["-n", "1"]], ids=["serial", "xdist"])
def test_html_report_shows_each_tests_evidence(pytester: pytest.Pytester, workers: list[str]) -> None:
    pytest.importorskip("pytest_html", reason="pytest-html is not installed")
    data = write_jsonl(pytester.path / "data.jsonl", RECORDS)
    result = pytester.runpytest_subprocess("--codeverify", "-p", "no:cacheprovider", str(data), "--codeverify-backend",
                                           "local", "--html=report.html", "--self-contained-html", *workers)
    result.assert_outcomes(passed=1, failed=1)
    tests = _report_tests(pytester.path / "report.html")
    passed = [e["content"] for r in tests["data.jsonl::add::one"] for e in r["extras"]]
    assert len(passed) == 1
    assert "<b>verdict</b> AC" in passed[0] and "<pre>1 2\n</pre>" in passed[0] and "<pre>3\n</pre>" in passed[0]
    failed = [e["content"] for r in tests["data.jsonl::hostile::t"] for e in r["extras"]]
    assert len(failed) == 1
    block = failed[0]
    assert "<b>verdict</b> WA" in block and "<b>expected</b></p><pre>2\n</pre>" in block
    assert "&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;" in block and "<b>stderr</b></p><pre>boom\n</pre>" in block
    return_in_browser(pytester.path / "report.html", pytester.path / "profile")


def return_in_browser(page: Path, profile: Path) -> None:
    """Where Chromium is installed, the extras are also in the page it renders (pytest-html builds rows by script)."""
    from test_htmlreport_browser import QUIET, chromium

    try:
        browser = chromium()
    except pytest.skip.Exception:
        return
    dom = subprocess.run([browser, *QUIET, f"--user-data-dir={profile}", "--virtual-time-budget=3000",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    assert dom.count('<div class="codeverify">') == 2


@pytest.mark.sandbox
def test_rewards_file_carries_failing_tests_evidence(pytester: pytest.Pytester) -> None:
    data = write_jsonl(pytester.path / "data.jsonl", RECORDS)
    pytester.runpytest_subprocess("--codeverify", "-p", "no:cacheprovider", str(data), "--codeverify-backend",
                                  "local", "--codeverify-rewards", "r.jsonl").assert_outcomes(passed=1, failed=1)
    lines = read_jsonl(pytester.path / "r.jsonl")
    assert lines[0]["tests"] == [{"name": "one", "verdict": "AC", "time_s": lines[0]["tests"][0]["time_s"]}]
    (failing,) = lines[1]["tests"]
    assert (failing["verdict"], failing["input"], failing["expected"]) == ("WA", "1\n", "2\n")
    assert failing["got"] == "</script><b>x</b>\n" and failing["stderr"] == "\x1b[31mboom\n"
    assert failing["message"].startswith("token 1: expected '2'")


def test_extras_are_registered_only_for_an_html_report(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_html", reason="pytest-html is not installed")
    assert not pytester.parseconfigure("--codeverify").pluginmanager.has_plugin(PLUGIN_NAME)
    assert pytester.parseconfigure("--codeverify", "--html=r.html").pluginmanager.has_plugin(PLUGIN_NAME)
