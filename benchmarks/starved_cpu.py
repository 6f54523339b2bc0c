"""A valid program starved of CPU by competing load: does the wall-clock backstop spare it?

Pins this process, the sandbox it starts and N busy loops (each in a session of its own, as
other users' programs would be) to one CPU, then runs a program that needs 0.8 s of CPU under a
1 s CPU limit (wall backstop 3 s) and a program that sleeps. Prints the verdict, CPU and wall
time of each for N = 0, 2, 4, 8. Local backend (the runner is the same on Docker).

    python benchmarks/starved_cpu.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from pytest_codeverify.api import Sandbox
from pytest_codeverify.config import wall_limit

BURN = "import time\nwhile time.process_time() < 0.8:\n    pass\nprint('done')\n"
SLEEP = "import time\ntime.sleep(60)\n"


def main() -> None:
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(saved)})
    print(f"CPU limit 1 s, wall backstop {wall_limit(1.0):g} s; all on one CPU")
    print("busy loops | program | verdict | CPU s | wall s")
    try:
        for loops in (0, 2, 4, 8):
            busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
                    for _ in range(loops)]
            try:
                with Sandbox("local", time_limit=1.0) as sandbox:
                    sandbox.run("pass")  # start the sandbox outside the measurement
                    for name, code in (("burn 0.8 s", BURN), ("sleep", SLEEP)):
                        started = time.monotonic()
                        result = sandbox.run(code)
                        wall = time.monotonic() - started
                        print(f"{loops:10d} | {name:10s} | {result.verdict.value:7s} | {result.time_s:5.2f} | "
                              f"{wall:6.2f}")
            finally:
                for process in busy:
                    process.kill()
                    process.wait()
    finally:
        os.sched_setaffinity(0, saved)


if __name__ == "__main__":
    main()
