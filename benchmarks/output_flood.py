"""How long a 1 GiB stdout flood takes to end as OLE, and what it costs the harness's memory.

Run: ``python benchmarks/output_flood.py`` (local backend). Prints the job's wall time, the
verdict, and the harness process's peak RSS before and after the flood.
"""

from __future__ import annotations

import resource
import time

from pytest_codeverify.cases import Case, StdioTest
from pytest_codeverify.engine import verify_case
from pytest_codeverify.sandbox import open_sandbox

FLOOD = "import os\nchunk = b'5' * (1 << 20)\nfor _ in range(1024): os.write(1, chunk)\n"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    case = Case("flood", "flood", (StdioTest("", "5\n"),), FLOOD, time_limit=10)
    with open_sandbox("local") as sandbox:
        sandbox.start()
        before = peak_rss_mib()
        started = time.perf_counter()
        report = verify_case(sandbox, case)
        elapsed = time.perf_counter() - started
        after = peak_rss_mib()
    print(f"verdict {report.verdict.value}, {elapsed:.3f} s; harness peak RSS {before:.1f} -> {after:.1f} MiB")


if __name__ == "__main__":
    main()
