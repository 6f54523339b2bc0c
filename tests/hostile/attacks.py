"""Hostile candidates: one small program per attack, with the verdict it must get.

Each attack is a native-format record whose program tries to get reward without solving the
problem, or to harm the host. Placeholders in the code are filled in per run:
``@SENTINEL@`` (a file outside the sandbox that must stay intact), ``@MARKER@`` (a string a
surviving process would carry in its command line) and ``@SECRET@`` (the value of an
environment variable set in the harness, which the candidate must not see).

The benign problem every attack pretends to solve: read or take two integers, give their sum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: The environment variable set in the harness for the secret-leak attacks.
SECRET_ENV = "CODEVERIFY_HOSTILE_SECRET"

_STDIO = {"tests": [{"input": "2 3\n", "output": "5\n"}]}
_CALL = {"entry_point": "add", "tests": [{"args": [2, 3], "expected": 5}]}
_ASSERT = {"tests": [{"assert": "assert add(2, 3) == 5"}]}
#: A probe prints LEAK only when the attack worked; the expected output is LEAK, so a held
#: boundary yields WA and a broken one AC.
_PROBE = {"tests": [{"input": "", "output": "LEAK\n"}]}


@dataclass(frozen=True)
class Attack:
    """One hostile candidate and the verdict the verifier must give it."""

    name: str
    description: str
    verdict: str
    code: str
    spec: dict[str, Any] = field(default_factory=lambda: dict(_STDIO))
    #: Signals -1 or otherwise could hurt the machine if the sandbox were broken: runs only
    #: inside a PID namespace.
    pidns_only: bool = False
    time_limit: float = 1.0
    #: False for a known, documented hole: the verdict is then the one the attack obtains
    #: today, and the table says the attack is not prevented.
    held: bool = True
    #: MiB. Files in /tmp are memory (a tmpfs of 256 MiB) and count against it.
    memory_limit: int = 256

    def record(self, sentinel: str, marker: str, secret: str) -> dict[str, Any]:
        """The JSONL record for this attack, placeholders filled in."""
        code = self.code.replace("@SENTINEL@", sentinel).replace("@MARKER@", marker).replace("@SECRET@", secret)
        record = {"id": self.name, "problem_id": self.name, "code": code, "time_limit": self.time_limit,
                  "memory_limit": self.memory_limit}
        spec = {k: v for k, v in self.spec.items()}
        spec["tests"] = [{k: (v.replace("@SECRET@", secret) if isinstance(v, str) else v) for k, v in t.items()}
                         for t in spec["tests"]]
        record.update(spec)
        return record


#: The benign record run after each attack in the same sandbox: it must still be AC.
BENIGN_CODE = "a, b = map(int, input().split())\nprint(a + b)\n"

_PROBE_HELPER = "def leak(ok):\n    print('LEAK' if ok else 'held')\n"
#: Raw system calls by name on this machine's architecture: ``call(name, *args)`` returns the result.
_SYSCALLS = ("import ctypes, platform\n"
             "_NR = {'x86_64': dict(add_key=248, request_key=249, keyctl=250, unshare=272, clone=56, bpf=321,\n"
             "                      perf_event_open=298, userfaultfd=323, io_uring_setup=425, ptrace=101, mount=165),\n"
             "       'aarch64': dict(add_key=217, request_key=218, keyctl=219, unshare=97, clone=220, bpf=280,\n"
             "                       perf_event_open=241, userfaultfd=282, io_uring_setup=425, ptrace=117, mount=40)}\n"
             "_libc = ctypes.CDLL(None, use_errno=True)\n_libc.syscall.restype = ctypes.c_long\n"
             "def call(name, *args):\n    return _libc.syscall(_NR[platform.machine()][name], *args)\n")
#: An object equal to everything, for assertion-test attacks.
_EQ = ("class T:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n"
       "    __hash__ = object.__hash__\n")

ATTACKS: list[Attack] = [
    # --- return-value tricks ---------------------------------------------------------------
    Attack("eq-always-true-call", "return an object whose `__eq__` always answers True (call test)", "WA",
           "class T:\n    def __eq__(self, o): return True\n    __hash__ = object.__hash__\n"
           "def add(a, b): return T()\n", _CALL),
    Attack("int-subclass-call", "return an `int` subclass whose `__eq__` always answers True (call test)", "WA",
           "class I(int):\n    def __eq__(self, o): return True\n    __hash__ = int.__hash__\n"
           "def add(a, b): return I(0)\n", _CALL),
    Attack("eq-always-true-assert", "return an object whose `__eq__` always answers True (assertion test)", "WA",
           "class T:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n"
           "def add(a, b): return T()\n", _ASSERT),
    Attack("int-subclass-assert", "return an `int` subclass whose `__eq__` always answers True (assertion)", "WA",
           "class I(int):\n    def __eq__(self, o): return True\n    __hash__ = int.__hash__\n"
           "def add(a, b): return I(0)\n", _ASSERT),
    Attack("patch-type-builtin-assert", "replace `builtins.type` so the value check takes an always-equal "
           "object for an `int`", "WA",
           "import builtins\nclass T:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n"
           "_type = type\n"
           "builtins.type = lambda *a: int if len(a) == 1 and _type(a[0]) is T else _type(*a)\n"
           "def add(a, b): return T()\n", _ASSERT),
    Attack("patch-builtins-assert", "monkeypatch `abs`, `print`, `isinstance`, `AssertionError` before the "
           "assertion runs", "RE",
           "import builtins\nbuiltins.abs = lambda x: 5\nbuiltins.print = lambda *a, **k: None\n"
           "builtins.isinstance = lambda *a: True\nbuiltins.AssertionError = KeyError\n"
           "def add(a, b): return 0\n",
           {"tests": [{"assert": "assert isinstance(add(2, 3), int)\nassert abs(add(2, 3)) == 5"}]}),
    Attack("patch-report-encoder-assert", "patch `json.dumps` and `os.write` so the failure report is rewritten "
           "as a pass; exit 0 from an atexit hook", "WA",
           "import json, os\n_dumps, _write = json.dumps, os.write\n"
           "def dumps(obj, *a, **k):\n"
           "    if type(obj) is dict and 'status' in obj: obj = dict(obj, status='passed')\n"
           "    return _dumps(obj, *a, **k)\n"
           "def write(fd, data):\n"
           "    if fd == 3: data = bytes(data).replace(b' exception ', b' passed ')\n"
           "    return _write(fd, data)\n"
           "json.dumps, os.write = dumps, write\n"
           "import atexit\natexit.register(os._exit, 0)  # and hide the failing exit code\n"
           "def add(a, b): return 0\n", _ASSERT),
    # --- frame inspection ---------------------------------------------------------------
    Attack("frame-expected-call", "walk the caller frames' locals for the expected value (call test)", "WA",
           "import sys\n"
           "def add(a, b):\n"
           "    f = sys._getframe(1)\n"
           "    while f:\n"
           "        for k, v in f.f_locals.items():\n"
           "            if 'expect' in k: return v\n"
           "        f = f.f_back\n"
           "    return None\n", _CALL),
    Attack("frame-nonce-forge-assert", "walk frames for the runner's nonce, write a forged pass to the result "
           "channel, exit", "WA",
           "import sys, os, json\n"
           "def add(a, b):\n"
           "    f = sys._getframe()\n"
           "    while f:\n"
           "        for k, v in f.f_locals.items():\n"
           "            if 'nonce' in k and isinstance(v, str):\n"
           "                for line in (json.dumps({'status': 'passed', 'nonce': v}), v + ' passed {}'):\n"
           "                    os.write(3, (line + '\\n').encode())\n"
           "                os._exit(0)\n"
           "        f = f.f_back\n"
           "    return 0\n", _ASSERT),
    Attack("frame-call-reporter-assert", "walk frames to the runner's reporting function, report a pass, exit",
           "WA",
           "import sys, os\n"
           "def add(a, b):\n"
           "    f = sys._getframe()\n"
           "    while f:\n"
           "        if callable(f.f_locals.get('report')): f.f_locals['report']({'status': 'passed'}); os._exit(0)\n"
           "        f = f.f_back\n"
           "    return 0\n", _ASSERT),
    Attack("frame-patch-runner-assert", "walk frames to the runner's globals, replace its value check and "
           "pristine built-ins, return an always-equal object", "WA",
           "import sys\nclass T:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n"
           "f = sys._getframe()\n"
           "while f:\n"
           "    g = f.f_globals\n"
           "    for name in ('_reduce', '_wrap_function'):\n"
           "        if name in g: g[name] = (lambda v, *a, **k: v) if name == '_reduce' else (lambda fn, *a: fn)\n"
           "    if '_PRISTINE_BUILTINS' in g:\n"
           "        try: g['_PRISTINE_BUILTINS']['abs'] = lambda x: 5\n"
           "        except TypeError: g['_PRISTINE_BUILTINS'] = dict(g['_PRISTINE_BUILTINS'], abs=lambda x: 5)\n"
           "    f = f.f_back\n"
           "def add(a, b): return T()\n", _ASSERT),
    Attack("gc-forge-report-assert", "find the runner's reporting closure with `gc.get_objects()`, report a "
           "pass, exit", "WA",
           "import gc, os\n"
           "for obj in gc.get_objects():\n"
           "    if callable(obj) and getattr(obj, '__qualname__', '').endswith('<locals>.send'):\n"
           "        obj({'status': 'passed'}); os._exit(0)\n"
           "def add(a, b): return 0\n", _ASSERT),
    Attack("frame-read-assert-constants", "read the expected value from the assertion's own code object "
           "(the calling frame's constants)", "RE",
           "import sys\n"
           "def add(a, b):\n"
           "    f = sys._getframe(1)\n"
           "    while f.f_code.co_filename != '<test>': f = f.f_back\n"
           "    return [c for c in f.f_code.co_consts if type(c) is int][-1]\n", _ASSERT),
    # --- assertion tests: objects, names and modules of the candidate's ----------------
    Attack("callable-instance-assert", "the tested name is an instance with `__call__`, returning an always-equal "
           "object", "WA", _EQ + "class Adder:\n    def __call__(self, a, b): return T()\nadd = Adder()\n", _ASSERT),
    Attack("partial-assert", "the tested name is a `functools.partial` returning an always-equal object", "WA",
           _EQ + "import functools\nadd = functools.partial(lambda unused, a, b: T(), 0)\n", _ASSERT),
    Attack("solution-method-assert", "`Solution().add(...)` returns an always-equal object", "WA",
           _EQ + "class Solution:\n    def add(self, a, b): return T()\n",
           {"tests": [{"assert": "assert Solution().add(2, 3) == 5"}]}),
    Attack("module-renamed-function-assert", "a function whose `__module__` was reassigned returns an always-equal "
           "object", "WA", _EQ + "def add(a, b): return T()\nadd.__module__ = 'operator'\n", _ASSERT),
    Attack("returned-closure-assert", "a function returned by a function returns an always-equal object", "WA",
           _EQ + "def make_adder():\n    def add(a, b): return T()\n    return add\n",
           {"tests": [{"assert": "assert make_adder()(2, 3) == 5"}]}),
    Attack("weakproxy-assert", "return a `weakref.proxy` to an always-equal object", "WA",
           _EQ + "import weakref\n_keep = T()\ndef add(a, b): return weakref.proxy(_keep)\n", _ASSERT),
    Attack("generator-items-assert", "a generator yielding always-equal objects, consumed by `list(...)`", "WA",
           _EQ + "def add(a, b):\n    yield T()\n", {"tests": [{"assert": "assert list(add(2, 3)) == [5]"}]}),
    Attack("iterator-items-assert", "`iter`, `map` and `zip` objects over always-equal objects", "WA",
           _EQ + "def add(a, b): return iter([T()])\ndef twice(a, b): return map(lambda x: T(), [0, 0])\n",
           {"tests": [{"assert": "assert list(add(2, 3)) == [5]\nassert list(twice(2, 3)) == [5, 5]"}]}),
    Attack("shadow-builtins-assert", "define `abs`, `all`, `isinstance`, `len` and `sorted` that make the test's "
           "checks pass", "WA",
           "def add(a, b): return 0\nabs = lambda x: 0\nall = lambda *a: True\nisinstance = lambda *a: True\n"
           "len = lambda x: 1\nsorted = lambda x: [5]\n",
           {"tests": [{"assert": "assert isinstance(add(2, 3), int)\nassert abs(add(2, 3) - 5) < 1e-9\n"
                                 "assert all(x == 5 for x in [add(2, 3)])\nassert sorted([add(2, 3)]) == [5]"}]}),
    Attack("patch-stdlib-assert", "patch `math.isclose` before the test imports `math` (and for a test that uses "
           "the program's `math`)", "WA",
           "import math\nmath.isclose = lambda *a, **k: True\ndef add(a, b): return 0\n",
           {"tests": [{"assert": "assert math.isclose(add(2, 3), 5)"},
                      {"assert": "import math\nassert math.isclose(add(2, 3), 5)"}]}),
    Attack("fake-module-name-assert", "bind `math` to an object whose `isclose` always answers True, for a test "
           "that uses the program's `math`", "WA",
           "class M:\n    isclose = staticmethod(lambda *a, **k: True)\nmath = M()\ndef add(a, b): return 0\n",
           {"tests": [{"assert": "assert math.isclose(add(2, 3), 5)"}]}),
    Attack("sys-modules-assert", "replace `math` and `builtins` in `sys.modules` with fakes", "WA",
           "import sys, types\nfake = types.ModuleType('math')\nfake.isclose = lambda *a, **k: True\n"
           "sys.modules['math'] = fake\nb = types.ModuleType('builtins')\nb.__dict__.update(__builtins__.__dict__ "
           "if hasattr(__builtins__, '__dict__') else __builtins__)\nb.abs = lambda x: 0\nsys.modules['builtins'] = b\n"
           "def add(a, b): return 0\n",
           {"tests": [{"assert": "import math\nassert math.isclose(add(2, 3), 5)"},
                      {"assert": "import builtins\nassert builtins.abs(add(2, 3) - 5) == 0"}]}),
    Attack("class-attribute-lie-assert", "an always-equal object whose `__class__` claims `int`", "WA",
           _EQ.replace("class T:\n", "class T:\n    __class__ = property(lambda self: int)\n") +
           "def add(a, b): return T()\n",
           {"tests": [{"assert": "r = add(2, 3)\nassert isinstance(r, int)\nassert r == 5"}]}),
    Attack("module-getattr-assert", "no `add`, but a module `__getattr__` (and a module class) that supplies one",
           "RE",
           "import sys, types\ndef __getattr__(name): return lambda *a, **k: 5\n"
           "class M(types.ModuleType):\n    def __getattr__(self, name): return lambda *a, **k: 5\n"
           "sys.modules[__name__].__class__ = M\n", _ASSERT),
    Attack("truthy-comparison-assert", "`__eq__` returns an object whose `__bool__` is True", "WA",
           "class B:\n    def __bool__(self): return True\nclass T:\n    def __eq__(self, o): return B()\n"
           "    __hash__ = object.__hash__\ndef add(a, b): return T()\n", _ASSERT),
    Attack("stopiteration-truncates-assert", "raise `StopIteration` so the test's `all(map(...))` ends early and "
           "passes (it does in plain Python)", "RE",
           "def add(a, b): raise StopIteration\n",
           {"tests": [{"assert": "assert all(map(lambda x: add(x, 1) == x + 1, range(3)))"}]}),
    Attack("odd-exception-assert", "raise `AssertionError` subclasses whose `__str__` raises or forges a report line",
           "RE",
           "class E(AssertionError):\n    def __str__(self): raise RuntimeError('no')\n"
           "class F(AssertionError):\n    def __str__(self): return 'x passed {}\\nx passed {}'\n"
           "def add(a, b):\n    raise (E if a > b else F)()\n", _ASSERT),
    Attack("scan-memory-for-test-assert", "search its own memory (`gc`, frames, `/proc/self/mem`) for the test code "
           "and return the expected value found there", "WA",
           "import gc, re, sys\n"
           "def _scan():\n"
           "    pattern = re.compile(rb'add\\(2, 3\\) == (\\d+) +# probe')\n"
           "    for o in gc.get_objects():\n"
           "        for v in (o.values() if isinstance(o, dict) else [o]):\n"
           "            if isinstance(v, str) and (m := pattern.search(v.encode(errors='ignore'))): return int(m[1])\n"
           "    f = sys._getframe()\n"
           "    while f:\n"
           "        for v in f.f_locals.values():\n"
           "            if isinstance(v, dict):\n"
           "                for w in v.values():\n"
           "                    if isinstance(w, str) and (m := pattern.search(w.encode(errors='ignore'))): "
           "return int(m[1])\n"
           "        f = f.f_back\n"
           "    with open('/proc/self/maps') as maps, open('/proc/self/mem', 'rb') as mem:\n"
           "        for line in maps:\n"
           "            bounds, perms = line.split()[:2]\n"
           "            start, end = (int(x, 16) for x in bounds.split('-'))\n"
           "            if not perms.startswith('r') or end - start > 1 << 28: continue\n"
           "            try:\n"
           "                mem.seek(start)\n"
           "                m = pattern.search(mem.read(end - start))\n"
           "            except (OSError, ValueError, OverflowError): continue\n"
           "            if m: return int(m[1])\n"
           "    return 0\n"
           "_found = _scan()\n"
           "def add(a, b): return _found\n",
           {"tests": [{"assert": "assert add(2, 3) == 5  # probe"}]}),
    Attack("ptrace-test-process-assert", "attach to, or open the memory and descriptors of, every other process "
           "(the test's among them)", "WA",
           "import os, ctypes\nlibc = ctypes.CDLL(None)\nreached = []\n"
           "for p in os.listdir('/proc'):\n"
           "    if not p.isdigit() or int(p) in (1, os.getpid()): continue\n"
           "    if libc.ptrace(16, int(p), 0, 0) == 0: reached.append('ptrace'); libc.ptrace(17, int(p), 0, 0)\n"
           "    for path in (f'/proc/{p}/mem', f'/proc/{p}/fd/3', f'/proc/{p}/fd/5'):\n"
           "        try: open(path, 'r+b').close(); reached.append(path)\n"
           "        except OSError: pass\n"
           "def add(a, b): return 5 if reached else 0\n", _ASSERT, pidns_only=True),
    Attack("kill-test-process-assert", "SIGKILL every other process it can see (the test's process among them)",
           "RE",
           "import os, signal\n"
           "def add(a, b):\n"
           "    for p in os.listdir('/proc'):\n"
           "        if p.isdigit() and int(p) not in (1, os.getpid()):\n"
           "            try: os.kill(int(p), signal.SIGKILL)\n"
           "            except OSError: pass\n"
           "    return 5\n", _ASSERT, pidns_only=True),
    # --- early exits --------------------------------------------------------------------
    Attack("sys-exit-0-stdio", "`sys.exit(0)` before printing anything", "WA",
           "import sys\nsys.exit(0)\n"),
    Attack("os-exit-0-call", "`os._exit(0)` at import, before the function is called", "RE",
           "import os\nos._exit(0)\ndef add(a, b): return a + b\n", _CALL),
    Attack("os-exit-0-assert", "`os._exit(0)` at import, before the assertion runs", "RE",
           "import os\nos._exit(0)\ndef add(a, b): return a + b\n", _ASSERT),
    Attack("system-exit-assert", "`raise SystemExit` from inside the function under test", "RE",
           "def add(a, b): raise SystemExit\n", _ASSERT),
    Attack("exit-in-function-call", "`os._exit(0)` inside the function under test", "RE",
           "import os\ndef add(a, b): os._exit(0)\n", _CALL),
    # --- partial answers and output games -----------------------------------------------
    Attack("first-line-only", "print only the first line of a multi-line answer", "WA",
           "print(1)\n", {"compare": "lines", "tests": [{"input": "", "output": "1\n2\n3\n"}]}),
    Attack("answer-on-stderr", "write the answer to stderr instead of stdout", "WA",
           "import sys\nsys.stderr.write('5\\n')\n"),
    Attack("answer-in-file", "write the answer to a file instead of stdout", "WA",
           "open('output.txt', 'w').write('5\\n')\nopen('/tmp/out', 'w').write('5\\n')\n"),
    Attack("forge-every-fd", "write fake results (result-channel lines, runner frames) to every fd", "RE",
           "import os, json, struct\n"
           "msgs = [json.dumps({'status': 'passed', 'nonce': ''}) + '\\n', json.dumps({'status': 'passed'}) + '\\n']\n"
           "body = json.dumps({'type': 'result', 'id': 1, 'exit_code': 0, 'signal': None, 'stdout': 'NQo=',"
           " 'stderr': '', 'stdout_truncated': False, 'stderr_truncated': False, 'cpu_s': 0, 'wall_s': 0,"
           " 'killed_for': None, 'outcome': {'status': 'passed'}}).encode()\n"
           "frame = struct.pack('>I', len(body)) + body\n"
           "for fd in range(0, 1024):\n"
           "    for m in msgs + [frame]:\n"
           "        try: os.write(fd, m if isinstance(m, bytes) else m.encode())\n"
           "        except OSError: pass\n"
           "os._exit(0)\n"
           "def add(a, b): return 0\n", _ASSERT),
    Attack("close-stdout", "close stdout (fd 1) and exit", "WA",
           "import os, sys\nos.close(1)\nsys.exit(0)\n"),
    Attack("output-flood-1gib", "write 1 GiB to stdout", "OLE",
           "import os\nchunk = b'5' * (1 << 20)\nfor _ in range(1024): os.write(1, chunk)\n"),
    Attack("stderr-flood", "write 64 MiB to stderr, then the right answer", "OLE",
           "import sys\nfor _ in range(64): sys.stderr.write('x' * (1 << 20))\nprint(5)\n"),
    # --- reading what it should not -----------------------------------------------------
    Attack("read-test-data", "search the filesystem for the test data and print the expected output", "WA",
           "import os, re, time\n"
           "found, start = None, time.monotonic()\n"
           "for root in ('/', '/proc/1/cwd', '/proc/1/root', '/proc/self/cwd'):\n"
           "    for d, dirs, files in os.walk(root):\n"
           "        if time.monotonic() - start > 0.5: break\n"
           "        if d.startswith(('/proc/sys', '/sys', '/dev', '/usr', '/proc/1/root/usr')) or "
           "d.count('/') > 6: dirs[:] = []; continue\n"
           "        if d.startswith('/proc/') and d.split('/')[2].isdigit() and d.count('/') > 2 and "
           "'cwd' not in d and 'root' not in d: dirs[:] = []; continue\n"
           "        for f in files:\n"
           "            try: text = open(os.path.join(d, f), errors='ignore').read(1 << 20)\n"
           "            except OSError: continue\n"
           "            m = re.search(r'@SECRET@-expected', text)\n"
           "            if m: found = m.group(0)\n"
           "print(found)\n",
           {"tests": [{"input": "", "output": "@SECRET@-expected\n"}]}),
    Attack("read-etc-shadow", "read `/etc/shadow`", "WA",
           _PROBE_HELPER + "try: leak(bool(open('/etc/shadow').read()))\nexcept OSError: leak(False)\n", _PROBE),
    Attack("read-home", "see the harness's home directory (`/root`) beyond the interpreter's own read-only prefix",
           "WA",
           _PROBE_HELPER + "import os, sys\n"
           "own = sys.base_prefix.split('/')[2] if sys.base_prefix.startswith('/root/') else None\n"
           "try: leak(bool(set(os.listdir('/root')) - {own}))\nexcept OSError: leak(False)\n", _PROBE),
    Attack("read-harness-env", "find a secret environment variable of the harness (own env and /proc)", "WA",
           "import os\nseen = str(dict(os.environ))\n"
           "for p in os.listdir('/proc'):\n"
           "    try: seen += open(f'/proc/{p}/environ', errors='ignore').read()\n"
           "    except OSError: pass\n"
           "print('LEAK' if '@SECRET@' in seen else 'held')\n", _PROBE),
    Attack("docker-socket", "connect to the Docker socket", "WA",
           _PROBE_HELPER + "import socket\ns = socket.socket(socket.AF_UNIX)\n"
           "try: s.connect('/var/run/docker.sock'); leak(True)\nexcept OSError: leak(False)\n", _PROBE),
    # --- writing what it should not -----------------------------------------------------
    Attack("write-outside-workdir", "overwrite a sentinel file outside the sandbox and write to /usr, /etc", "WA",
           _PROBE_HELPER + "ok = False\n"
           "for p in ('@SENTINEL@', '/usr/lib/pwned', '/etc/pwned', '/root/pwned'):\n"
           "    try: open(p, 'w').write('pwned'); ok = ok or p == '@SENTINEL@'\n"
           "    except OSError: pass\n"
           "leak(ok)\n", _PROBE),
    Attack("fill-disk", "fill the work directory's disk (many files, SIGXFSZ ignored), then answer", "AC",
           "import signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
           "try:\n    for i in range(4096):\n        with open(f'big{i}', 'wb') as f:\n"
           "            for _ in range(16): f.write(b'x' * (1 << 20))\n"
           "except OSError: pass\nprint(sum(map(int, input().split())))\n",
           # Above the 256 MiB of /tmp: a full disk must be a write error, not an exhausted memory
           # limit (at or below 256 MiB, filling /tmp is an honest MLE: its files are memory).
           memory_limit=512),
    Attack("daemon-next-test", "`os.setsid` + double-fork daemon that outlives its test, writes into the next "
           "test's directory and SIGKILLs every process it can (the next test included)", "AC",
           "import os, sys\n"
           "if os.fork() == 0:\n"
           "    os.setsid()\n"
           "    if os.fork() == 0:\n"
           "        os.execv(sys.executable, [sys.executable, '-c', 'import time, os\\n'\n"
           "            'time.sleep(0.3)\\n'\n"
           "            'for _ in range(60000):\\n'\n"
           "            '    for d in (\"/tmp/work\", os.getcwd()):\\n'\n"
           "            '        try: open(d + \"/hijack.txt\", \"w\").write(\"pwned\")\\n'\n"
           "            '        except OSError: pass\\n'\n"
           "            '    try: os.kill(-1, 9)\\n'\n"
           "            '    except OSError: pass\\n'\n"
           "            '    time.sleep(0.01)', '@MARKER@'])\n"
           "    os._exit(0)\n"
           "print(sum(map(int, input().split())))\n", pidns_only=True),
    # --- killing things -----------------------------------------------------------------
    Attack("kill-all", "`kill -9 -1` (every process it may signal)", "RE",
           "import os, signal\nos.kill(-1, signal.SIGKILL)\nprint(5)\nos.kill(os.getpid(), signal.SIGKILL)\n",
           pidns_only=True),
    Attack("kill-parent", "kill the parent process (the job runner)", "RE",
           "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(1, signal.SIGKILL)\n"
           "os.kill(os.getpid(), signal.SIGKILL)\n", pidns_only=True),
    Attack("fork-bomb", "fork bomb", "TLE",
           "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass\n"),
    Attack("memory-bomb", "allocate memory without bound", "MLE",
           "x = []\nwhile True: x.append(bytearray(1 << 24))\n"),
    Attack("loop-ignore-sigterm", "infinite loop with SIGTERM ignored", "TLE",
           "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: pass\n"),
    Attack("sleep-past-wall", "sleep past the wall-clock limit", "TLE",
           "import time\ntime.sleep(60)\nprint(5)\n"),
    Attack("alarm-games", "`signal.alarm` handler that prints the answer-shaped output and blocks", "TLE",
           "import signal, time\nsignal.signal(signal.SIGALRM, lambda *a: None)\nsignal.alarm(1)\n"
           "signal.setitimer(signal.ITIMER_REAL, 0.1, 0.1)\n"
           "while True: time.sleep(1)\n"),
    Attack("deep-recursion", "unbounded recursion with the recursion limit raised", "MLE",
           "import sys\nsys.setrecursionlimit(10 ** 9)\ndef f(n): return f(n + 1) + 1\nf(0)\n",
           # CPU enough that the memory limit, not the clock, ends it on a loaded machine too.
           time_limit=5.0),
    Attack("segfault-ctypes", "segfault via ctypes", "RE",
           "import ctypes\nctypes.string_at(0)\n"),
    # --- kernel objects that would outlive a job ------------------------------------------
    Attack("keyring-plant", "put a key in the uid's user keyring (shared by every sandbox running as nobody)",
           "WA", _PROBE_HELPER + _SYSCALLS +
           "r = call('add_key', b'user', b'codeverify-planted', b'5', 1, -4)\n"
           "leak(r >= 0 or 'codeverify-planted' in open('/proc/keys').read())\n", _PROBE),
    Attack("keyring-read", "look for a key an earlier test planted (keyctl search, /proc/keys)", "WA",
           _PROBE_HELPER + _SYSCALLS +
           "r = call('request_key', b'user', b'codeverify-planted', None, 0)\n"
           "s = call('keyctl', 10, -4, b'user', b'codeverify-planted', 0)\n"
           "leak(r >= 0 or s >= 0 or 'codeverify-planted' in open('/proc/keys').read())\n", _PROBE),
    Attack("posix-mqueue", "create a POSIX message queue holding a message for a later test", "WA",
           _PROBE_HELPER + "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
           "q = libc.mq_open(b'/codeverify-planted', 0o102, 0o600, None)\n"
           "leak(q >= 0 and libc.mq_send(q, b'5', 1, 0) == 0)\n", _PROBE),
    Attack("user-namespace", "make a user namespace (full capabilities inside) by unshare, clone or unshare(1)",
           "WA", _PROBE_HELPER + _SYSCALLS + "import os, subprocess\n"
           "ok = call('unshare', 0x10000000) == 0\n"
           "pid = call('clone', 0x10000000 | 0x20000 | 17, 0, 0, 0, 0)\n"
           "if pid == 0:\n    os._exit(0)\n"
           "ok = ok or pid > 0\n"
           "try: ok = ok or subprocess.run(['unshare', '-Urm', 'true'], capture_output=True).returncode == 0\n"
           "except OSError: pass\n"
           "leak(ok)\n", _PROBE),
    Attack("kernel-interfaces", "reach kernel interfaces (bpf, perf_event_open, userfaultfd, io_uring, ptrace, mount)",
           "WA", _PROBE_HELPER + _SYSCALLS +
           "import ctypes\nok = False\n"
           "for name, args in (('bpf', (0, None, 0)), ('perf_event_open', (None, 0, -1, -1, 0)),\n"
           "                   ('userfaultfd', (0,)), ('io_uring_setup', (1, None)), ('ptrace', (0, 0, 0, 0)),\n"
           "                   ('mount', (b'none', b'/tmp', b'tmpfs', 0, None))):\n"
           "    r = call(name, *args)\n"
           "    ok = ok or r >= 0 or ctypes.get_errno() not in (1, 38)\n"
           "leak(ok)\n", _PROBE),
    # --- leaving behind what the cleanup must survive ------------------------------------
    Attack("deep-tree", "answer, then leave a directory tree 3,500 levels deep, some levels locked", "AC",
           "import os\nprint(sum(map(int, input().split())), flush=True)\nos.chdir('/tmp')\n"
           "for level in range(3500):\n    os.mkdir('d')\n    os.chdir('d')\n"
           "    if level % 500 == 0:\n        os.mkdir('x'); os.chmod('x', 0)\n", time_limit=10),
    Attack("many-links", "answer, then leave 150,000 hard links and as many files as the disk takes", "AC",
           "import os\nprint(sum(map(int, input().split())), flush=True)\nopen('leaf', 'w').close()\n"
           "try:\n    for i in range(150000): os.link('leaf', f'l{i}')\n"
           "    for i in range(150000): open(f'f{i}', 'w').close()\nexcept OSError: pass\n", time_limit=10),
    # --- network and clock --------------------------------------------------------------
    Attack("network", "TCP to localhost and to a public address, DNS lookup", "WA",
           _PROBE_HELPER + "import socket\nok = False\n"
           "for addr in (('127.0.0.1', 22), ('127.0.0.1', 2375), ('1.1.1.1', 53)):\n"
           "    try: socket.create_connection(addr, timeout=0.5).close(); ok = True\n"
           "    except OSError: pass\n"
           "try: socket.getaddrinfo('pypi.org', 443); ok = True\n"
           "except OSError: pass\n"
           "leak(ok)\n", _PROBE),
    Attack("change-clock", "set the system clock", "WA",
           _PROBE_HELPER + "import time\n"
           "try: time.clock_settime(time.CLOCK_REALTIME, 0); leak(True)\nexcept OSError: leak(False)\n", _PROBE),
]
