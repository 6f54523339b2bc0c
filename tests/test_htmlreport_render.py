"""The report page: self-contained, every record shown, untrusted text inert, the command."""

from __future__ import annotations

import json
import re
import sys
import warnings
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pytest_codeverify.cli import main
from pytest_codeverify.htmlreport.data import load_runs
from pytest_codeverify.htmlreport.escape import clean, esc

pytest.importorskip("matplotlib", reason="the report extra (matplotlib) is not installed")

from pytest_codeverify.htmlreport import render as render_module
from pytest_codeverify.htmlreport.render import diff_block, render

HOSTILE = ("</script><script>alert(1)</script><img src=x onerror=alert(2)>"
           "\x1b[31mred\x1b[0m\x1b]8;;http://evil/\x07link\x1b]8;;\x07 \ud800 \u202eevil $x^2$ \x00")


def write(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def record(record_id: str, verdict: str, **test: str) -> dict:
    passed = verdict == "AC"
    return {"id": record_id, "problem_id": record_id, "reward": 1.0 if passed else 0.0, "passed": int(passed),
            "total": 1, "verdict": verdict, "tests": [{"name": "t0", "verdict": verdict, "time_s": 0.02, **test}]}


class Page(HTMLParser):
    """What a browser would build: elements, their attributes, scripts and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.in_script = False
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self.in_script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self.in_script else self.text).append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def test_escaping_makes_hostile_text_inert() -> None:
    shown = esc(HOSTILE)
    assert "<" not in shown and ">" not in shown and "\x1b" not in shown
    assert "&lt;/script&gt;" in shown and "red" in shown and "link" in shown
    assert not re.search("[\ud800-\udfff\x00\u202e]", shown)
    shown.encode("utf-8")  # lone surrogates are gone
    assert clean("a\r\nb\tc") == "a\nb\tc"


def test_hostile_output_renders_as_text_only(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [record(HOSTILE, "WA", input=HOSTILE, expected="3\n", got=HOSTILE,
                                               stderr=HOSTILE, message=HOSTILE)])
    html = render(load_runs([str(path)]), title=HOSTILE)
    html.encode("utf-8")
    page = parse(html)
    assert len(page.scripts) == 1  # only the page's own script
    assert "alert" not in page.scripts[0]
    assert not any(tag == "img" and (attrs.get("src") or "").startswith("x") for tag, attrs in page.tags)
    assert not any("onerror" in attrs for _, attrs in page.tags)
    assert "</script><script>alert(1)</script>" in "".join(page.text)  # shown, as text
    assert "\x1b" not in html and not re.search("[\ud800-\udfff]", html)


def test_page_is_self_contained_and_lists_every_record(tmp_path: Path) -> None:
    lines = [record(f"r{i}", v) for i, v in enumerate(["AC", "WA", "TLE", "AC", "RE"])]
    html = render(load_runs([str(write(tmp_path / "r.jsonl", lines))]))
    page = parse(html)
    for tag, attrs in page.tags:  # nothing is fetched: every image is inline, nothing links out
        assert tag not in ("link", "iframe", "object", "embed")
        if tag in ("img", "script"):
            assert (attrs.get("src") or "data:").startswith("data:")
    assert sum(1 for tag, _ in page.tags if tag == "img") == 5
    rows = [attrs["data-key"] for tag, attrs in page.tags if tag == "tr" and attrs.get("class") == "rec"]
    assert rows == [f"r{i}" for i in range(5)]
    counts = re.findall(r'data-verdict="(\w+)"><span class="v v-\w+">\w+</span>&nbsp;<b>(\d+)</b>', html)
    assert counts[:4] == [("AC", "2"), ("WA", "1"), ("TLE", "1"), ("RE", "1")]


def test_failing_test_detail_shows_input_expected_got_diff_stderr(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [record("a", "WA", input="1 2\n", expected="3\n4\n", got="3\n5\n",
                                               stderr="Traceback...\nValueError: x\n", message="line 2 differs")])
    html = render(load_runs([str(path)]), plots=False)
    detail = html[html.index('class="detail"'):]
    for text in ("<b>input</b><pre>1 2\n</pre>", "<b>expected</b><pre>3\n4\n</pre>", "<b>got</b><pre>3\n5\n</pre>",
                 '<span class="del">-4</span><span class="add">+5</span>', "ValueError: x", "line 2 differs"):
        assert text in detail


def test_diff_notes_whitespace_only_differences() -> None:
    assert "whitespace" in diff_block("3\n", "3")
    assert diff_block("3\n", "3\n") == ""


def test_two_files_are_compared_side_by_side(tmp_path: Path) -> None:
    first = write(tmp_path / "a.jsonl", [record("x", "AC"), record("y", "WA")])
    second = write(tmp_path / "b.jsonl", [record("x", "TLE"), record("y", "WA"), record("z", "AC")])
    html = render(load_runs([str(first), str(second)]), plots=False)
    page = parse(html)
    changes = [attrs["data-key"] for tag, attrs in page.tags if tag == "tr" and attrs.get("class") == "change"]
    assert changes == ["x"]
    runs = [attrs["data-run"] for tag, attrs in page.tags if tag == "tr" and attrs.get("class") == "rec"]
    assert runs == ["0", "0", "1", "1", "1"]
    assert re.findall(r'data-run="(\d)" data-stat="records">(\d+)<', html) == [("0", "2"), ("1", "3")]


def test_cli_writes_the_report_and_warns_about_bad_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(record("a", "AC")) + "\n{oops\n", encoding="utf-8")
    out = tmp_path / "report.html"
    assert main(["report", str(path), "-o", str(out)]) == 0
    assert 'data-key="a"' in out.read_text(encoding="utf-8")
    assert f"{path}:2: not JSON" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing.jsonl"), "-o", str(out)]) == 2
    assert "missing.jsonl: cannot read" in capsys.readouterr().err


def test_cli_names_the_extra_when_matplotlib_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    path = write(tmp_path / "r.jsonl", [record("a", "AC")])
    assert main(["report", str(path), "-o", str(tmp_path / "out.html")]) == 2
    assert 'pip install "pytest-codeverify[report]"' in capsys.readouterr().err
    assert not (tmp_path / "out.html").exists()


def test_empty_and_untimed_runs_render_without_warnings(tmp_path: Path) -> None:
    timed = write(tmp_path / "timed.jsonl", [record("a", "AC")])
    unreadable = tmp_path / "unreadable.jsonl"
    unreadable.write_text('{"id": "x", "reward": null, "verdict": null, "tests": [], "error": "bad line"}\n')
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        both = render(load_runs([str(timed), str(unreadable)]))
        nothing = render(load_runs([str(empty)]))
    assert 'data-key="x"' in both and "bad line" in both
    assert nothing.count('<p class="empty">') == 5  # every plot says why it is empty


def test_details_past_the_page_budget_point_at_the_rewards_line(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_module, "DETAIL_BUDGET", 1)
    path = write(tmp_path / "r.jsonl", [record("a", "WA", got="first"), record("b", "WA", got="second")])
    html = render(load_runs([str(path)]), plots=False)
    assert "<pre>first</pre>" in html and "second" not in html
    assert f"see line 2 of {path}" in html
