"""A job that fills the memory limit can make the kernel kill the runner too: the job's verdict is
MLE (its memory use ended it), never SE, and the sandbox serves the next job."""

from __future__ import annotations

from pytest_codeverify.judge.verdicts import classify
from pytest_codeverify.protocol import Job, Verdict
from pytest_codeverify.sandbox import open_sandbox

#: Files on the tmpfs work area count against the memory limit but belong to no process, and the
#: program gives its out-of-memory score back up (any process may lower its own to where it
#: started): with the filler's few pages against the runner's, the runner is the kernel's pick.
#: Several files, so that no single one meets the file size limit first.
FILL = ("import os\n"
        "os.execv('/bin/sh', ['sh', '-c', 'echo 0 > /proc/self/oom_score_adj; i=0; "
        "while :; do head -c 16777216 /dev/zero > /tmp/fill$i; i=$((i+1)); done'])\n")


def test_a_runner_killed_by_a_jobs_memory_gives_mle(backend: str) -> None:
    with open_sandbox(backend) as box:
        raw = box.run(Job(code=FILL, memory_limit_mb=48, cpu_limit=5, wall_limit=10))
        failure = classify(raw, time_limit=5, memory_limit=48)
        assert failure is not None and failure[0] is Verdict.MLE, (failure, raw)
        again = box.run(Job(code="import os\nprint(sorted(os.listdir('/tmp')))"))
        assert again.stdout.strip() in (b"[]", b"['work']"), again
