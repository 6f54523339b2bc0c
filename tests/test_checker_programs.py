"""Checker programs in compiled languages, on both backends: a Codeforces-style C++ checker
written against testlib.h (tests/fixtures/testlib.h), checkers that fail in every way, and a
checker in C for breadth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_codeverify.api import Sandbox as Api
from pytest_codeverify.engine import CaseReport
from pytest_codeverify.sandbox import Sandbox
from test_languages_sandbox import languages_sandbox, require_language

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

TESTLIB_H = (Path(__file__).parent / "fixtures" / "testlib.h").read_text(encoding="utf-8")

#: "Print two numbers that sum to X": any such pair is right; an unordered one earns half.
#: The jury's answer file is checked too: a wrong one is the checker's failure (_fail).
PAIR_CHECKER = r"""#include "testlib.h"

int main(int argc, char *argv[]) {
    registerTestlibCmd(argc, argv);
    long long x = inf.readLong();
    long long p = ans.readLong(), q = ans.readLong();
    ensuref(p + q == x, "the jury's pair %lld %lld does not sum to %lld", p, q, x);
    long long a = ouf.readLong(-1000000000LL, 1000000000LL, "a");
    long long b = ouf.readLong(-1000000000LL, 1000000000LL, "b");
    quitif(a + b != x, _wa, "%lld + %lld is %lld, not %lld", a, b, a + b, x);
    if (a > b) quitp(0.5, "the pair %lld %lld is not ordered", a, b);
    quitf(_ok, "%lld + %lld = %lld", a, b, x);
}
"""
PAIR = {"language": "cpp", "code": PAIR_CHECKER, "files": {"testlib.h": TESTLIB_H}}

#: id -> (candidate, jury's answer, verdict, reward)
VERDICTS: dict[str, tuple[str, str, str, float | None]] = {
    "first-right-answer": ("n = int(input())\nprint(1, n - 1)", "5 5", "AC", 1.0),
    "another-right-answer": ("n = int(input())\nprint(n // 2 - 1, n - n // 2 + 1)", "5 5", "AC", 1.0),
    "wrong-sum": ("print(2, 2)", "5 5", "WA", 0.0),
    "presentation-error": ("print('two numbers')", "5 5", "WA", 0.0),
    "extra-output": ("n = int(input())\nprint(1, n - 1, 0)", "5 5", "WA", 0.0),
    "unordered-half": ("n = int(input())\nprint(n - 1, 1)", "5 5", "WA", 0.5),
    "jury-answer-wrong": ("n = int(input())\nprint(1, n - 1)", "1 1", "SE", None),
}


@pytest.fixture(scope="module", params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """One warm sandbox per backend for the module, as one worker has."""
    with languages_sandbox(request.param) as box:
        yield box


def verify(sandbox: Sandbox, record: dict[str, Any]) -> CaseReport:
    return Api(backend_provider=lambda: sandbox).verify(record)


def pair_record(name: str, code: str, answer: str, checker: dict[str, Any] | None = None,
                **fields: Any) -> dict[str, Any]:
    return {"id": name, "code": code, "checker": checker or PAIR,
            "tests": [{"input": "10\n", "output": answer + "\n"}, {"input": "7\n", "output": "3 4\n"}], **fields}


def test_testlib_checker_verdicts_compile_once(sandbox: Sandbox) -> None:
    require_language(sandbox.name, "cpp")
    before = sandbox.compilations
    got = {}
    for name, (code, answer, _, _) in VERDICTS.items():
        report = verify(sandbox, pair_record(name, code, answer))
        got[name] = (report.tests[0].outcome.verdict.value, report.tests[0].outcome.score
                     if report.tests[0].outcome.verdict.value == "WA" else report.reward, report.explain())
    assert {name: value[:2] for name, value in got.items()} == \
        {name: (verdict, reward) for name, (_, _, verdict, reward) in VERDICTS.items()}, got
    assert "wrong output format" in got["presentation-error"][2]
    assert "does not sum to 10" in got["jury-answer-wrong"][2]
    # One checker (code, files, language): one compilation for all these records' tests.
    assert sandbox.compilations - before == 1


def test_the_header_is_part_of_the_checkers_identity(sandbox: Sandbox) -> None:
    """The same checker source with another testlib.h is another program: compiled again."""
    require_language(sandbox.name, "cpp")
    other = {**PAIR, "files": {"testlib.h": TESTLIB_H + "\n// another revision\n"}}
    verify(sandbox, pair_record("first", "print(1, 9)", "5 5"))
    before = sandbox.compilations
    report = verify(sandbox, pair_record("second", "n = int(input())\nprint(1, n - 1)", "5 5", other))
    assert report.reward == 1.0, report.explain()
    assert sandbox.compilations - before == 1


#: Checkers that fail: each is SE for every test of the record, never the candidate's WA/CE.
BROKEN: dict[str, tuple[str, dict[str, Any], str]] = {
    "does-not-compile": ('#include "testlib.h"\nint main(int argc, char *argv[]) { registerTestlibCmd(argc, argv) }\n',
                         {}, "the checker does not compile"),
    "segfaults": ('#include "testlib.h"\nint main(int argc, char *argv[]) {\n    registerTestlibCmd(argc, argv);\n'
                  "    volatile int *nowhere = nullptr;\n    *nowhere = inf.readInt();\n    quitf(_ok, \"\");\n}\n",
                  {}, "the checker failed: RE: killed by"),
    "loops": ('#include "testlib.h"\nint main(int argc, char *argv[]) {\n    registerTestlibCmd(argc, argv);\n'
              "    volatile unsigned long spins = 0;\n    for (;;) ++spins;\n}\n",
              {"checker_time_limit": 0.5}, "the checker failed: TLE"),
    "runs-out-of-memory": ('#include "testlib.h"\n#include <vector>\nint main(int argc, char *argv[]) {\n'
                           "    registerTestlibCmd(argc, argv);\n    std::vector<std::vector<char>> hog;\n"
                           "    for (;;) hog.emplace_back(16 << 20, 1);\n}\n",
                           {"checker_memory_limit": 64}, "the checker failed: MLE"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_failing_checker_is_se_for_every_test(sandbox: Sandbox, name: str) -> None:
    require_language(sandbox.name, "cpp")
    code, fields, message = BROKEN[name]
    checker = {"language": "cpp", "code": code, "files": {"testlib.h": TESTLIB_H}}
    report = verify(sandbox, pair_record(name, "n = int(input())\nprint(1, n - 1)", "5 5", checker, **fields))
    assert [t.outcome.verdict.value for t in report.tests] == ["SE", "SE"], report.explain()
    assert report.reward is None
    assert all(message in t.outcome.message for t in report.tests), report.explain()
    if name == "does-not-compile":
        assert "main.cpp:2" in report.tests[0].outcome.message  # the compiler's own diagnostic


#: A checker in C without testlib: the three paths in argv, the verdict by exit code.
C_CHECKER = r"""#include <stdio.h>

static long read_number(const char *path, int which) {
    FILE *file = fopen(path, "r");
    long value = 0, got = 0;
    for (int i = 0; file && i <= which; i++) got = fscanf(file, "%ld", &value);
    if (file) fclose(file);
    return got == 1 ? value : -999999;
}

int main(int argc, char **argv) {
    if (argc < 4) return 3;
    long x = read_number(argv[1], 0), a = read_number(argv[2], 0), b = read_number(argv[2], 1);
    if (a + b == x) return 0;
    fprintf(stderr, "%ld + %ld is not %ld\n", a, b, x);
    return 1;
}
"""


def test_a_checker_in_c_judges_a_cpp_candidate(sandbox: Sandbox) -> None:
    require_language(sandbox.name, "c")
    require_language(sandbox.name, "cpp")
    checker = {"language": "c", "code": C_CHECKER}
    candidate = ("#include <cstdio>\nint main() { long n; std::scanf(\"%ld\", &n); "
                 "std::printf(\"%ld %ld\\n\", n - 2, 2L); }\n")
    right = verify(sandbox, pair_record("c-right", candidate, "5 5", checker, language="cpp"))
    wrong = verify(sandbox, pair_record("c-wrong", "print(3, 3)", "5 5", checker))
    assert (right.verdict.value, right.reward) == ("AC", 1.0), right.explain()
    assert (wrong.verdict.value, wrong.reward) == ("WA", 0.0), wrong.explain()
    assert "3 + 3 is not 10" in wrong.tests[0].outcome.message


#: The same checker ("the output's tokens are the answer's") in every compiled or external
#: language: argv holds INPUT OUTPUT ANSWER, the verdict is the exit code.
SAME_TOKENS: dict[str, dict[str, Any]] = {
    "c": {"code": '#include <stdio.h>\n#include <string.h>\n'
                  'static int next(FILE *f, char *b) { return fscanf(f, "%255s", b) == 1; }\n'
                  "int main(int argc, char **argv) {\n"
                  '    FILE *o = fopen(argv[2], "r"), *a = fopen(argv[3], "r");\n'
                  "    char x[256], y[256];\n    if (!o || !a) return 3;\n    for (;;) {\n"
                  "        int p = next(o, x), q = next(a, y);\n        if (!p && !q) return 0;\n"
                  '        if (p != q || strcmp(x, y)) { fprintf(stderr, "tokens differ\\n"); return 1; }\n'
                  "    }\n}\n"},
    "cpp": {"code": "#include <fstream>\n#include <iostream>\n#include <iterator>\n"
                    "#include <string>\n#include <vector>\n"
                    "using Tokens = std::vector<std::string>;\n"
                    "static Tokens read(const char *p) { std::ifstream f(p); "
                    "return Tokens(std::istream_iterator<std::string>(f), {}); }\n"
                    "int main(int argc, char **argv) {\n    if (read(argv[2]) == read(argv[3])) return 0;\n"
                    '    std::cerr << "tokens differ\\n";\n    return 1;\n}\n'},
    "java": {"code": "import java.nio.file.*;\nimport java.util.*;\npublic class Check {\n"
                     "    static List<String> read(String p) throws Exception {\n"
                     "        String t = new String(Files.readAllBytes(Paths.get(p))).trim();\n"
                     "        return Arrays.asList(t.split(\"\\\\s+\"));\n    }\n"
                     "    public static void main(String[] a) throws Exception {\n"
                     "        if (read(a[1]).equals(read(a[2]))) System.exit(0);\n"
                     "        System.err.println(\"tokens differ\");\n        System.exit(1);\n    }\n}\n"},
    "javascript": {"code": "const { tokens } = require('./tokens.js');\n"
                           "if (tokens(process.argv[3]) === tokens(process.argv[4])) process.exit(0);\n"
                           "console.error('tokens differ');\nprocess.exit(1);\n",
                   "files": {"tokens.js": "const fs = require('fs');\nexports.tokens = (p) => "
                                          "fs.readFileSync(p, 'utf8').trim().split(/\\s+/).join(' ');\n"}},
    "go": {"code": 'package main\n\nimport (\n\t"os"\n\t"strings"\n)\n\n'
                   "func read(p string) string {\n\tb, err := os.ReadFile(p)\n\tif err != nil {\n\t\tos.Exit(3)\n\t}\n"
                   '\treturn strings.Join(strings.Fields(string(b)), " ")\n}\n\n'
                   "func main() {\n\tif read(os.Args[2]) == read(os.Args[3]) {\n\t\tos.Exit(0)\n\t}\n"
                   '\tos.Stderr.WriteString("tokens differ\\n")\n\tos.Exit(1)\n}\n'},
    "rust": {"code": "use std::{env, fs, process};\n"
                     "fn read(p: &str) -> Vec<String> {\n"
                     "    fs::read_to_string(p).unwrap_or_else(|_| process::exit(3))"
                     ".split_whitespace().map(String::from).collect()\n}\n"
                     "fn main() {\n    let a: Vec<String> = env::args().collect();\n"
                     "    if read(&a[2]) == read(&a[3]) { process::exit(0) }\n"
                     '    eprintln!("tokens differ");\n    process::exit(1)\n}\n'},
    "pypy": {"code": "import sys\nfrom tokens import tokens\n"
                     "if tokens(sys.argv[2]) != tokens(sys.argv[3]):\n"
                     "    print('tokens differ', file=sys.stderr)\n    sys.exit(1)\n",
             "files": {"tokens.py": "def tokens(path):\n    with open(path) as f:\n        return f.read().split()\n"}},
}


@pytest.mark.parametrize("language", list(SAME_TOKENS))
def test_a_checker_in_every_language(sandbox: Sandbox, language: str) -> None:
    require_language(sandbox.name, language)
    checker = {"language": language, **SAME_TOKENS[language]}
    tests = [{"input": "5\n", "output": "5\n"}, {"input": "7 8\n", "output": "7  8\n"}]
    before = sandbox.compilations
    right = verify(sandbox, {"id": f"{language}-right", "code": "print(input())", "checker": checker, "tests": tests})
    wrong = verify(sandbox, {"id": f"{language}-wrong", "code": "print(6)", "checker": checker, "tests": tests})
    assert (right.verdict.value, right.reward) == ("AC", 1.0), right.explain()
    assert [t.outcome.verdict.value for t in wrong.tests] == ["WA", "WA"], wrong.explain()
    assert "tokens differ" in wrong.tests[0].outcome.message
    assert sandbox.compilations - before == 1


def test_a_java_checker_that_throws_is_se(sandbox: Sandbox) -> None:
    require_language(sandbox.name, "java")
    checker = {"language": "java", "code": "public class Jury { public static void main(String[] a) {\n"
                                           "    throw new IllegalStateException(\"the jury's bug\"); } }\n"}
    report = verify(sandbox, {"id": "throws", "code": "print(1)", "checker": checker,
                              "tests": [{"input": "", "output": "1\n"}]})
    assert (report.verdict.value, report.reward) == ("SE", None), report.explain()
    assert "the checker crashed" in report.tests[0].outcome.message
