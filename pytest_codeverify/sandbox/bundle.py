"""What is shipped into a sandbox: the runner and the stdlib-only modules it imports.

The runner is started as ``python3 -I -S -c <bootstrap>``: no file of the package needs to exist
inside the sandbox (a container image or a bubblewrap root holds only the interpreter). The
bootstrap carries the sources of :data:`MODULES`, compressed, installs each under its package
name in ``sys.modules`` and calls the runner's ``main``; the same modules are imported normally
on the trusted side, so both ends run one copy of the protocol.
"""

from __future__ import annotations

import base64
import functools
import json
import zlib
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent
#: (module name, path below the package, is a package) in dependency order.
MODULES: tuple[tuple[str, str, bool], ...] = (
    ("pytest_codeverify", "", True),
    ("pytest_codeverify.config", "config.py", False),
    ("pytest_codeverify.protocol", "protocol.py", False),
    ("pytest_codeverify.sandbox", "", True),
    ("pytest_codeverify.sandbox.cleanup", "sandbox/cleanup.py", False),
    ("pytest_codeverify.sandbox.seccomp", "sandbox/seccomp.py", False),
    ("pytest_codeverify.sandbox.workarea", "sandbox/workarea.py", False),
    ("pytest_codeverify.sandbox.child", "sandbox/child.py", False),
    ("pytest_codeverify.sandbox.handles", "sandbox/handles.py", False),
    ("pytest_codeverify.sandbox.remote", "sandbox/remote.py", False),
    ("pytest_codeverify.sandbox.assertion", "sandbox/assertion.py", False),
    ("pytest_codeverify.sandbox.stubs", "sandbox/stubs.py", False),
    ("pytest_codeverify.sandbox.session_interpreter", "sandbox/session_interpreter.py", False),
    ("pytest_codeverify.sandbox.session_child", "sandbox/session_child.py", False),
    ("pytest_codeverify.sandbox.programs", "sandbox/programs.py", False),
    ("pytest_codeverify.sandbox.runner", "sandbox/runner.py", False),
)

# Runs inside the sandbox with -I -S: only built-in and stdlib modules exist there.
_LOADER = """
import sys, types, json, zlib, base64
for _name, _source, _package in json.loads(zlib.decompress(base64.b64decode(%r))):
    _module = types.ModuleType(_name)
    _module.__package__ = _name if _package else _name.rpartition(".")[0]
    if _package:
        _module.__path__ = []
    sys.modules[_name] = _module
    if _source:
        exec(compile(_source, "<codeverify>/" + _name.replace(".", "/") + ".py", "exec"), _module.__dict__)
sys.modules["pytest_codeverify.sandbox.runner"].main()
"""


@functools.cache
def runner_bootstrap() -> str:
    """The program text given to ``python3 -I -S -c`` to start a runner in a sandbox."""
    modules = [(name, (_PACKAGE / path).read_text() if path else "", package) for name, path, package in MODULES]
    payload = base64.b64encode(zlib.compress(json.dumps(modules).encode(), 9)).decode("ascii")
    return _LOADER % payload
