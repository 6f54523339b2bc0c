"""Checkers in a real sandbox, on each backend: verdicts, partial credit, and checkers that fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import read_jsonl, write_jsonl
from pytest_codeverify.api import Sandbox
from pytest_codeverify.config import DEFAULT_IMAGE

pytestmark = pytest.mark.sandbox

#: "Print any two numbers that sum to N."
PAIR = "def check(input, output, expected):\n" \
       "    a, b = map(int, output.split())\n" \
       "    return a + b == int(input)\n"
PARTIAL = "def check(input, output, expected):\n    return 0.5 if output.strip() == 'close' else output == expected\n"
#: A testlib-style checker program: argv paths, verdict by exit code, points on stdout.
PROGRAM = """import sys
from helper import numbers
given, got, want = (numbers(path) for path in sys.argv[1:4])
if got == want:
    sys.exit(0)
if got and got[0] == -1:
    print("points 0.25")
    sys.exit(7)
if got and got[0] == -3:
    print("checker cannot judge this", file=sys.stderr)
    sys.exit(3)
print("wrong answer: expected", want, "found", got, file=sys.stderr)
sys.exit(1)
"""
HELPER = "def numbers(path):\n    with open(path) as f:\n        return [int(t) for t in f.read().split()]\n"
PROGRAM_CHECKER = {"language": "python", "code": PROGRAM, "files": {"helper.py": HELPER}}

#: id -> (record fields, expected verdict, expected reward)
MATRIX: dict[str, tuple[dict[str, Any], str, float | None]] = {
    "pair-ac": ({"code": "n = int(input())\nprint(1, n - 1)", "checker": PAIR}, "AC", 1.0),
    "pair-other-ac": ({"code": "n = int(input())\nprint(n, 0)", "checker": PAIR}, "AC", 1.0),
    "pair-wa": ({"code": "print(1, 1)", "checker": PAIR}, "WA", 0.0),
    "partial": ({"code": "print('close')", "checker": PARTIAL}, "WA", 0.5),
    "candidate-tle-first": ({"code": "while True: pass", "checker": PAIR, "time_limit": 0.3}, "TLE", 0.0),
    "checker-raises": ({"code": "print('x y')", "checker": PAIR}, "SE", None),
    "checker-hangs": ({"code": "print(1, 9)", "checker": "def check(i, o, e):\n    while True: pass\n",
                       "checker_time_limit": 0.3}, "SE", None),
    "checker-memory": ({"code": "print(1, 9)", "checker": "def check(i, o, e):\n    x = [0] * (300 << 20)\n",
                        "checker_memory_limit": 64}, "SE", None),
    "checker-returns-text": ({"code": "print(1, 9)", "checker": "def check(i, o, e):\n    return 'yes'\n"}, "SE",
                             None),
    "program-ac": ({"code": "print(10)", "checker": PROGRAM_CHECKER}, "AC", 1.0),
    "program-wa": ({"code": "print(11)", "checker": PROGRAM_CHECKER}, "WA", 0.0),
    "program-points": ({"code": "print(-1)", "checker": PROGRAM_CHECKER}, "WA", 0.25),
    "program-fail": ({"code": "print(-3)", "checker": PROGRAM_CHECKER}, "SE", None),
    "program-crash": ({"code": "print('x')", "checker": PROGRAM_CHECKER}, "SE", None),
    "listed-outputs": ({"code": "print(2, 8)", "tests": [{"input": "10\n", "outputs": ["1 9", "2 8"]}]}, "AC", 1.0),
    # A process the candidate leaves behind, trying to rewrite the output the checker reads:
    # it must be gone before the checker's job starts.
    "forger": ({"code": "import os, time\nif os.fork() == 0:\n    os.setsid()\n    end = time.time() + 4\n"
                        "    while time.time() < end:\n"
                        "        for name in ('checker_output.txt', 'checker_answer.txt'):\n"
                        "            try:\n                open(name, 'w').write('10')\n"
                        "            except OSError:\n                pass\n    os._exit(0)\nprint(11)",
                "checker": PROGRAM_CHECKER}, "WA", 0.0),
}


def _record(name: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"id": name, "tests": [{"input": "10\n", "output": "10\n"}], **fields}


@pytest.mark.slow
def test_checker_verdicts(backend: str) -> None:
    got = {}
    with Sandbox(backend) as sandbox:
        for name, (fields, _, _) in MATRIX.items():
            report = sandbox.verify(_record(name, fields))
            got[name] = (report.verdict.value, report.reward)
    assert got == {name: (verdict, reward) for name, (_, verdict, reward) in MATRIX.items()}


def test_plugin_reports_checker_scores_and_failures(pytester: pytest.Pytester, tmp_path: Path) -> None:
    chosen = ("pair-ac", "partial", "checker-raises")
    data = write_jsonl(tmp_path / "d.jsonl", [_record(name, MATRIX[name][0]) for name in chosen])
    rewards = tmp_path / "rewards.jsonl"
    pytester.runpytest_subprocess("--codeverify", str(data), "--codeverify-backend", "local",
                                  "--codeverify-rewards", str(rewards), "-p", "no:cacheprovider")
    lines = {line["id"]: line for line in read_jsonl(rewards)}
    assert {name: (lines[name]["verdict"], lines[name]["reward"]) for name in chosen} == \
        {name: MATRIX[name][1:] for name in chosen}
    assert lines["partial"]["tests"][0]["score"] == 0.5
    assert "the checker failed" in lines["checker-raises"]["tests"][0]["error"]


def test_server_verify_uses_the_checker_and_time_scale() -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from pytest_codeverify.formats import Defaults
    from pytest_codeverify.server import ServerConfig, create_app

    app = create_app(ServerConfig(backend="local", workers=1, defaults=Defaults(time_scale=3.0)))
    with TestClient(app) as client:
        answer = client.post("/verify", json=_record("pair", MATRIX["pair-other-ac"][0])).json()
        slow = client.post("/verify", json={"id": "slow", "time_limit": 0.1, "code": "print(1)",
                                            "tests": [{"input": "", "output": "1"}]}).json()
    assert (answer["verdict"], answer["reward"]) == ("AC", 1.0)
    assert slow["time_limit"] == pytest.approx(0.3)


CPP_PAIR = ("#include <cstdio>\n"
            "int main() { long n; std::scanf(\"%ld\", &n); std::printf(\"%ld %ld\\n\", n - 3, 3L); }\n")
CPP_WRONG = "#include <cstdio>\nint main() { std::printf(\"1 1\\n\"); }\n"


@pytest.mark.slow
def test_checkers_judge_compiled_candidates(backend: str) -> None:
    """A checker judges what a compiled program printed exactly as it judges a Python one."""
    from test_languages_sandbox import LANGUAGES_IMAGE, require_language

    require_language(backend, "cpp")
    image = LANGUAGES_IMAGE if backend == "docker" else DEFAULT_IMAGE
    with Sandbox(backend, image=image) as sandbox:
        right = sandbox.verify({"id": "cpp-pair", "language": "cpp", "code": CPP_PAIR, "checker": PAIR,
                                "tests": [{"input": "10\n", "output": "5 5\n"}, {"input": "7\n", "output": "0 7\n"}]})
        wrong = sandbox.verify({"id": "cpp-wrong", "language": "cpp", "code": CPP_WRONG, "checker": PROGRAM_CHECKER,
                                "tests": [{"input": "10\n", "output": "10\n"}]})
    assert (right.verdict.value, right.reward) == ("AC", 1.0), right.explain()
    assert (wrong.verdict.value, wrong.reward) == ("WA", 0.0), wrong.explain()
