"""Runs a problem's checker inside a sandbox job of its own. Standard library only.

This file is not imported in the sandbox: its source is the program of a checker job (see
:mod:`pytest_codeverify.judge.checkers`), run like any program in ``stdin`` mode after the
candidate's job has ended and its work directory was emptied. Its stdin is one JSON object:

- ``form``: ``"function"`` (``source`` defines ``check(input, output, expected)``) or
  ``"program"`` (``source`` is a checker program, run as ``checker INPUT OUTPUT ANSWER``);
- ``input``, ``output``, ``answer``: the test's input, the candidate's output, the expected one;
- ``files``: more files the checker reads (a program form's helpers), name -> text;
- ``mark``: a random token; the function form's result is the stdout line that starts with it.

A program checker's verdict is its exit code (testlib's convention), read on the trusted side.
"""

from __future__ import annotations

import json
import os
import sys

#: The paths a program checker receives, in the job's work directory.
ARG_FILES = ("checker_input.txt", "checker_output.txt", "checker_answer.txt")


def _write(name: str, text: str) -> None:
    with open(name, "w", encoding="utf-8", errors="surrogateescape", newline="") as handle:
        handle.write(text)


def _main() -> None:
    request = json.loads(sys.stdin.read())
    sys.stdin = open(os.devnull)  # the checker reads files, never the request
    for name, text in request.get("files", {}).items():
        _write(name, text)
    if request["form"] == "program":
        for name, key in zip(ARG_FILES, ("input", "output", "answer"), strict=True):
            _write(name, request[key])
        sys.argv = ["checker", *ARG_FILES]
        sys.path.insert(0, os.getcwd())  # helper modules shipped in ``files`` are importable
        code = compile(request["source"], "checker.py", "exec", dont_inherit=True)
        exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
        return  # falling off the end is exit code 0: accepted, as for a testlib checker
    namespace = {"__name__": "checker", "__builtins__": __builtins__}
    exec(compile(request["source"], "checker.py", "exec", dont_inherit=True), namespace)
    check = namespace.get("check")
    if not callable(check):
        raise TypeError("the checker defines no check(input, output, expected) function")
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # what the checker prints cannot pose as its result
    try:
        value = check(request["input"], request["output"], request["answer"])
    finally:
        sys.stdout = real_stdout
    result: dict[str, object]
    if type(value) is bool or type(value) is int or type(value) is float:
        result = {"score": float(value)}
    else:
        result = {"error": f"check() returned {type(value).__name__}, not a bool or a number"}
    sys.stdout.write(request["mark"] + " " + json.dumps(result) + "\n")
    sys.stdout.flush()


_main()
