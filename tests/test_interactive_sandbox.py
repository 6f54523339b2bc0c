"""Interactive problems in real sandboxes, on each backend: a guessing game ("guess the number"
with ``?`` queries and a final ``!``), judged by its interactor in a sandbox of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import read_jsonl, write_jsonl
from pytest_codeverify.api import Sandbox
from pytest_codeverify.config import DEFAULT_IMAGE

pytestmark = pytest.mark.sandbox

#: The interactor: the test's input is "N SECRET MAX_QUERIES"; it tells the candidate N, answers
#: "? x" with 1 when SECRET <= x (else 0), and judges "! x".
INTERACTOR = """import sys
n, secret, limit = map(int, open(sys.argv[1]).read().split())
print(n)
queries = 0
for line in sys.stdin:
    words = line.split()
    if len(words) != 2 or words[0] not in ("?", "!") or not words[1].isdigit():
        print(f"not a query: {line[:40]!r}", file=sys.stderr)
        sys.exit(2)  # testlib's presentation error: the candidate's fault, never the interactor's
    kind, value = words
    if kind == "?":
        queries += 1
        if queries > limit:
            print(f"more than {limit} queries", file=sys.stderr)
            sys.exit(1)
        print(1 if secret <= int(value) else 0)
    elif kind == "!":
        if int(value) == secret:
            sys.exit(0)
        print(f"guessed {value}, the number was {secret}", file=sys.stderr)
        sys.exit(1)
print("the program ended without guessing", file=sys.stderr)
sys.exit(1)
"""
#: A right candidate: binary search, flushing every query.
GUESSER = """n = int(input())
lo, hi = 1, n
while lo < hi:
    mid = (lo + hi) // 2
    print("?", mid, flush=True)
    if input() == "1":
        hi = mid
    else:
        lo = mid + 1
print("!", lo, flush=True)
"""
INTERACTOR_CPP = {"language": "cpp", "code": r"""#include <cstdio>
#include "rules.h"
int main(int argc, char** argv) {
    FILE* in = std::fopen(argv[1], "r");
    long n, secret, limit;
    if (!in || std::fscanf(in, "%ld %ld %ld", &n, &secret, &limit) != 3) return 3;
    std::printf("%ld\n", n); std::fflush(stdout);
    long queries = 0; char kind[8]; long value;
    while (std::scanf("%7s %ld", kind, &value) == 2) {
        if (kind[0] == '?') {
            if (++queries > limit) { std::fprintf(stderr, "more than %ld queries\n", limit); return 1; }
            std::printf("%d\n", answer(secret, value)); std::fflush(stdout);
        } else {
            if (value == secret) return 0;
            std::fprintf(stderr, "guessed %ld, the number was %ld\n", value, secret); return 1;
        }
    }
    std::fprintf(stderr, "the program ended without guessing\n");
    return 1;
}
""",
                  "files": {"rules.h": "inline int answer(long secret, long x) { return secret <= x ? 1 : 0; }\n"}}
GUESSER_CPP = """#include <iostream>
int main() {
    long n; std::cin >> n;
    long lo = 1, hi = n;
    while (lo < hi) {
        long mid = (lo + hi) / 2;
        std::cout << "? " << mid << std::endl;
        int r; std::cin >> r;
        if (r == 1) hi = mid; else lo = mid + 1;
    }
    std::cout << "! " << lo << std::endl;
}
"""

#: id -> (record fields, expected verdict, expected reward); every test's input is "1000 500 20".
MATRIX: dict[str, tuple[dict[str, Any], str, float | None]] = {
    "right": ({"code": GUESSER}, "AC", 1.0),
    "wrong-guess": ({"code": "n = int(input())\nprint('!', 3, flush=True)\n"}, "WA", 0.0),
    # A linear search asks more than the 20 queries the interactor allows: it stops with WA,
    # and the candidate still asking is stopped, not charged with a TLE.
    "too-many-queries": ({"code": "n = int(input())\nfor x in range(1, n + 1):\n"
                                  "    print('?', x, flush=True)\n    if input() == '1':\n"
                                  "        print('!', x, flush=True)\n        break\n"}, "WA", 0.0),
    # The interactor quits at the first query while the candidate is still writing lines (then
    # would wait for answers): the interactor's WA, not a TLE.
    "writes-after-interactor-quits": ({"code": "import sys\nn = input()\nfor i in range(50000):\n"
                                               "    sys.stdout.write('? 1\\n')\nsys.stdout.flush()\ninput()\n",
                                       "interactor": "import sys\nprint(1000, flush=True)\n"
                                                     "sys.stdin.readline()\nsys.exit(1)\n"}, "WA", 0.0),
    # Both sides wait for each other: seen as idle, long before any clock would end it.
    "never-answers": ({"code": "n = int(input())\nsecond = input()\n"}, "TLE", 0.0),
    "does-not-flush": ({"code": "import sys\nn = int(sys.stdin.readline())\nprint('?', 5)\n"
                                "sys.stdin.readline()\n"}, "TLE", 0.0),
    # A short pause is no idleness; a program that starts slowly neither.
    "pauses": ({"code": "import time\ntime.sleep(0.1)\n" + GUESSER.replace("    if input()", "    time.sleep(0.01)\n"
                                                                            "    if input()")}, "AC", 1.0),
    "spins": ({"code": "n = int(input())\nwhile True:\n    pass\n", "time_limit": 0.5}, "TLE", 0.0),
    # The interactor computes (2 s of CPU) before its first line, longer than the candidate's
    # own wall-clock backstop (1.4 s): waiting for it is not the candidate's fault.
    "slow-interactor": ({"code": GUESSER, "time_limit": 0.2, "interactor_time_limit": 4,
                         "interactor": "import time\nwhile time.process_time() < 2:\n"
                                       "    sum(range(100000))\n" + INTERACTOR}, "AC", 1.0),
    # Closes its stdin unread: what the interactor says next has nowhere to go, and is dropped.
    "closes-stdin": ({"code": "import os\nos.close(0)\nprint('!', 500, flush=True)\n"}, "AC", 1.0),
    "garbage": ({"code": "input()\nprint('hello world!', flush=True)\ninput()\n"}, "WA", 0.0),
    "crashes": ({"code": "n = int(input())\nprint('?', 1, flush=True)\n1 / 0\n"}, "RE", 0.0),
    # An interactor that answers every query, however many: the candidate's output cap stops it.
    "floods": ({"code": "import sys\nwhile True:\n    sys.stdout.write('? 1\\n' * 1000)\n",
                "tests": [{"input": "1000 5 1000000000"}]}, "OLE", 0.0),
    "interactor-crashes": ({"code": GUESSER, "interactor": "import sys\nprint(1000, flush=True)\n"
                                                        "sys.stdin.readline()\n1 / 0\n"}, "SE", None),
    "interactor-exit-3": ({"code": GUESSER, "interactor": "import sys\nsys.exit(3)\n"}, "SE", None),
    "interactor-spins": ({"code": GUESSER, "interactor": "while True:\n    pass\n",
                          "interactor_time_limit": 0.5}, "SE", None),
    "interactor-bad-exit": ({"code": GUESSER, "interactor": "import sys\nsys.exit(42)\n"}, "SE", None),
    "interactor-points": ({"code": GUESSER, "interactor": "import sys\nprint(1000, flush=True)\n"
                                                       "for line in sys.stdin:\n    if line.startswith('!'):\n"
                                                       "        break\n    print(1, flush=True)\n"
                                                       "print('points 0.25', file=sys.stderr)\nsys.exit(7)\n"},
                          "WA", 0.25),
}


def _record(name: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"id": name, "interactor": INTERACTOR, "tests": [{"input": "1000 500 20"}], **fields}


@pytest.mark.slow
def test_interactive_verdicts(backend: str) -> None:
    got, explained = {}, {}
    with Sandbox(backend) as sandbox:
        for name, (fields, _, _) in MATRIX.items():
            report = sandbox.verify(_record(name, fields))
            got[name] = (report.verdict.value, report.reward)
            explained[name] = report.explain()
    expected = {name: (verdict, reward) for name, (_, verdict, reward) in MATRIX.items()}
    assert got == expected, [explained[name] for name in got if got[name] != expected[name]]
    assert "idle" in explained["does-not-flush"] and "idle" in explained["never-answers"]


def test_candidate_never_sees_the_input_or_the_interactor(backend: str) -> None:
    """The candidate's sandbox holds neither the test's input file nor the interactor's program:
    it hears only what the interactor says (here, N), so printing its stdin shows only that."""
    probe = ("import os, sys\nn = input()\nfound = [name for root, _, files in os.walk('/') "
             "for name in files if name.startswith('interactor')][:3]\n"
             "sys.stderr.write(repr((n, found)))\nprint('!', 500, flush=True)\n")
    with Sandbox(backend) as sandbox:
        report = sandbox.verify(_record("probe", {"code": probe}))
    outcome = report.tests[0].outcome
    assert (report.verdict.value, outcome.stderr) == ("AC", "('1000', [])"), report.explain()


def test_an_answer_reaches_the_interactor(backend: str) -> None:
    """A test's expected output is the interactor's third argument (testlib's ANSWER)."""
    checks_answer = ("import sys\nanswer = open(sys.argv[3]).read().split()\nprint(1000, flush=True)\n"
                     "kind, value = sys.stdin.readline().split()\nsys.exit(0 if [value] == answer else 1)\n")
    with Sandbox(backend) as sandbox:
        report = sandbox.verify({"id": "answer", "code": "input()\nprint('!', 42, flush=True)\n",
                                 "interactor": checks_answer,
                                 "tests": [{"input": "x", "output": "42"}, {"input": "x", "output": "41"}]})
    assert [t.outcome.verdict.value for t in report.tests] == ["AC", "WA"], report.explain()


@pytest.mark.slow
def test_compiled_interactor_and_candidate(backend: str) -> None:
    """An interactor in C++ (with a header from its files) against candidates in C++ and Python."""
    from test_languages_sandbox import LANGUAGES_IMAGE, require_language

    require_language(backend, "cpp")
    image = LANGUAGES_IMAGE if backend == "docker" else DEFAULT_IMAGE
    tests = [{"input": "1000000 777777 20"}, {"input": "1000000 1 19"}]
    with Sandbox(backend, image=image) as sandbox:
        reports = {name: sandbox.verify({"id": name, "tests": tests, **fields}) for name, fields in {
            "cpp-vs-cpp": {"language": "cpp", "code": GUESSER_CPP, "interactor": INTERACTOR_CPP},
            "python-vs-cpp": {"code": GUESSER, "interactor": INTERACTOR_CPP},
            "cpp-vs-python": {"language": "cpp", "code": GUESSER_CPP, "interactor": INTERACTOR},
            "cpp-interactor-ce": {"code": GUESSER, "interactor": {"language": "cpp", "code": "int main( {"}},
            "cpp-candidate-ce": {"language": "cpp", "code": "int main( {", "interactor": INTERACTOR_CPP},
        }.items()}
    got = {name: [t.outcome.verdict.value for t in report.tests] for name, report in reports.items()}
    assert got == {"cpp-vs-cpp": ["AC", "WA"], "python-vs-cpp": ["AC", "WA"], "cpp-vs-python": ["AC", "WA"],
                   "cpp-interactor-ce": ["SE", "SE"], "cpp-candidate-ce": ["CE", "CE"]}, \
        {n: r.explain() for n, r in reports.items()}


def test_plugin_and_cli_judge_interactive_records(pytester: pytest.Pytester, tmp_path: Path) -> None:
    chosen = ("right", "too-many-queries", "interactor-exit-3")
    data = write_jsonl(tmp_path / "d.jsonl", [_record(name, MATRIX[name][0]) for name in chosen])
    rewards = tmp_path / "rewards.jsonl"
    run = pytester.runpytest_subprocess("--codeverify", str(data), "--codeverify-backend", "local",
                                        "--codeverify-rewards", str(rewards), "-p", "no:cacheprovider")
    run.stdout.fnmatch_lines(["WA: interactor: WA more than 20 queries", "input:    '1000 500 20' (the interactor's)",
                              "sent:     '? 1\\n? 2\\n*"])
    lines = {line["id"]: line for line in read_jsonl(rewards)}
    assert {name: (lines[name]["verdict"], lines[name]["reward"]) for name in chosen} == \
        {name: MATRIX[name][1:] for name in chosen}
    assert "more than 20 queries" in lines["too-many-queries"]["tests"][0]["message"]
    cli = pytester.run("python3", "-m", "pytest_codeverify.cli", "verify", "--backend", "local", str(data))
    answers = {line["id"]: line["verdict"] for line in map(__import__("json").loads, cli.outlines) if line}
    assert answers == {name: MATRIX[name][1] for name in chosen}


def test_server_verify_runs_the_interactor() -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from pytest_codeverify.server import ServerConfig, create_app

    app = create_app(ServerConfig(backend="local", workers=1))
    with TestClient(app) as client:
        right = client.post("/verify", json=_record("right", MATRIX["right"][0])).json()
        wrong = client.post("/verify", json=_record("wrong", MATRIX["wrong-guess"][0])).json()
    assert (right["verdict"], right["reward"], wrong["verdict"]) == ("AC", 1.0, "WA")


def test_interactor_output_after_the_candidate_ended_does_not_upset_the_next_test(backend: str) -> None:
    """A candidate that ends at once while its interactor still writes: the bytes for the ended
    job reach the candidate's runner after its result, and must be dropped there, not read as
    the next job (which would leave every later test of the sandbox SE)."""
    talkative = ("import sys\nfor i in range(20000):\n    print('x' * 50)\n"
                 "sys.exit(0 if open(sys.argv[1]).read() == 'ok' else 1)\n")
    with Sandbox(backend) as sandbox:
        report = sandbox.verify({"id": "talkative", "code": "pass", "interactor": talkative,
                                 "tests": [{"input": "ok"}, {"input": "no"}, {"input": "ok"}]})
        after = sandbox.verify(_record("right", MATRIX["right"][0]))
    assert [t.outcome.verdict.value for t in report.tests] == ["AC", "WA", "AC"], report.explain()
    assert after.verdict.value == "AC", after.explain()


@pytest.mark.docker
def test_the_interactors_container_goes_with_the_sandbox() -> None:
    from conftest import require_backend
    from pytest_codeverify.sandbox import docker

    require_backend("docker")
    with Sandbox("docker") as sandbox:
        assert sandbox.verify(_record("right", MATRIX["right"][0])).verdict.value == "AC"
        mine = {"label": f"{docker.LABEL_OWNER}={docker.owner_token()}"}
        assert len(docker._client().containers.list(filters=mine)) == 2  # the candidate's and the interactor's
    assert docker._client().containers.list(all=True, filters=mine) == []


#: The same game's interactor in Go and JavaScript, and a guesser in Java: any language the
#: project runs may sit on either side.
INTERACTOR_GO = """package main

import (
	"bufio"
	"fmt"
	"os"
)

func main() {
	in, _ := os.Open(os.Args[1])
	var n, secret, limit int
	fmt.Fscan(in, &n, &secret, &limit)
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, n)
	out.Flush()
	reader := bufio.NewReader(os.Stdin)
	queries := 0
	for {
		var kind string
		var value int
		if _, err := fmt.Fscan(reader, &kind, &value); err != nil {
			os.Exit(1)
		}
		if kind == "?" {
			queries++
			if queries > limit {
				os.Exit(1)
			}
			if secret <= value {
				fmt.Fprintln(out, 1)
			} else {
				fmt.Fprintln(out, 0)
			}
			out.Flush()
		} else {
			if value == secret {
				os.Exit(0)
			}
			os.Exit(1)
		}
	}
}
"""
INTERACTOR_JS = r"""const fs = require('fs');
const [n, secret, limit] = fs.readFileSync(process.argv[2], 'utf8').trim().split(/\s+/).map(Number);
console.log(n);
let queries = 0, buffer = '';
process.stdin.on('data', (data) => {
    buffer += data;
    let end;
    while ((end = buffer.indexOf('\n')) >= 0) {
        const [kind, value] = buffer.slice(0, end).split(' ');
        buffer = buffer.slice(end + 1);
        if (kind === '?') {
            if (++queries > limit) process.exit(1);
            console.log(secret <= Number(value) ? 1 : 0);
        } else {
            process.exit(Number(value) === secret ? 0 : 1);
        }
    }
});
process.stdin.on('end', () => process.exit(1));
"""
GUESSER_JAVA = """import java.util.Scanner;
public class Main {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        long n = in.nextLong(), lo = 1, hi = n;
        while (lo < hi) {
            long mid = (lo + hi) / 2;
            System.out.println("? " + mid); System.out.flush();
            if (in.nextInt() == 1) hi = mid; else lo = mid + 1;
        }
        System.out.println("! " + lo); System.out.flush();
    }
}
"""
PROGRAMS = {"python": GUESSER, "cpp": GUESSER_CPP, "java": GUESSER_JAVA, "pypy": GUESSER}
INTERACTORS = {"python": INTERACTOR, "go": INTERACTOR_GO, "javascript": INTERACTOR_JS}


@pytest.mark.slow
@pytest.mark.parametrize(("candidate", "interactor"), [("java", "go"), ("pypy", "javascript"), ("python", "go"),
                                                       ("java", "python")])
def test_any_language_on_either_side(backend: str, candidate: str, interactor: str) -> None:
    from test_languages_sandbox import LANGUAGES_IMAGE, require_language

    for language in {candidate, interactor}:
        require_language(backend, language)
    image = LANGUAGES_IMAGE if backend == "docker" else DEFAULT_IMAGE
    with Sandbox(backend, image=image) as sandbox:
        report = sandbox.verify({"id": f"{candidate}-{interactor}", "language": candidate, "code": PROGRAMS[candidate],
                                 "interactor": {"language": interactor, "code": INTERACTORS[interactor]},
                                 "tests": [{"input": "1000000 777777 20"}, {"input": "1000000 1 19"}]})
    assert [t.outcome.verdict.value for t in report.tests] == ["AC", "WA"], report.explain()


def test_the_example_dataset(backend: str) -> None:
    """data/interactive.jsonl: a binary search (AC), a linear search over the query budget (WA
    but where the secret is 1), a binary search that never flushes (TLE, idle)."""
    import json

    path = Path(__file__).resolve().parent.parent / "data" / "interactive.jsonl"
    with Sandbox(backend) as sandbox:
        reports = [sandbox.verify(json.loads(line)) for line in path.read_text().splitlines()]
    got = {report.case.id: [t.outcome.verdict.value for t in report.tests] for report in reports}
    assert got == {"binary-search": ["AC", "AC", "AC"], "linear-search": ["WA", "AC", "WA"],
                   "no-flush": ["TLE", "TLE", "TLE"]}


#: The interactor writes how many queries were asked to its OUTPUT file; the checker reads it.
COUNTING = INTERACTOR.replace("        if int(value) == secret:\n            sys.exit(0)",
                              "        if int(value) == secret:\n"
                              "            open(sys.argv[2], 'w').write(str(queries))\n            sys.exit(0)")
FEW_QUERIES = "def check(input, output, expected):\n    return 1.0 if int(output) <= 10 else 0.5\n"
LINEAR = MATRIX["too-many-queries"][0]["code"]


def test_a_checker_judges_what_the_interactor_wrote(backend: str) -> None:
    """testlib's interactor-then-checker: the dialogue first (a WA stands), then the checker on
    the interactor's OUTPUT file (here: full marks for at most 10 queries, half for more)."""
    assert COUNTING != INTERACTOR
    with Sandbox(backend) as sandbox:
        reports = {name: sandbox.verify({"id": name, "code": code, "interactor": COUNTING, "checker": FEW_QUERIES,
                                         "tests": [{"input": f"1000 {secret} 20"}]})
                   for name, code, secret in (("binary", GUESSER, 500), ("linear-short", LINEAR, 15),
                                              ("linear-long", LINEAR, 500))}
    got = {name: (report.verdict.value, report.reward) for name, report in reports.items()}
    assert got == {"binary": ("AC", 1.0), "linear-short": ("WA", 0.5), "linear-long": ("WA", 0.0)}, \
        {name: report.explain() for name, report in reports.items()}
