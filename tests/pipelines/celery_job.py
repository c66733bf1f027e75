"""A three-step job for the celery executor tests, importable by the workers that reconstruct it.

Two independent ops sleep so that two idle workers each take one; the third is empty and only reports the process
it ran in. Every op records its pid, its parent's pid (the celery worker's main process) and its peak RSS.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg

from pipelines.executors import executor_def

SLEEP_SECONDS = 1.0


def process_facts() -> dict[str, int]:
    """The op's process: pid, parent pid and peak resident set (VmHWM, kB)."""
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    peak = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return {"pid": os.getpid(), "ppid": os.getppid(), "vmhwm_kb": int(peak)}


@dg.op
def left() -> dg.Output[int]:
    time.sleep(SLEEP_SECONDS)
    return dg.Output(1, metadata=process_facts())


@dg.op
def right() -> dg.Output[int]:
    time.sleep(SLEEP_SECONDS)
    return dg.Output(2, metadata=process_facts())


@dg.op
def join(a: int, b: int) -> dg.Output[int]:
    return dg.Output(a + b, metadata=process_facts())


def smoke_job() -> dg.JobDefinition:
    """The job on the celery executor; its broker and backend come from the environment."""

    @dg.job(executor_def=executor_def("celery", "postgresql"))
    def celery_smoke():
        join(left(), right())

    return celery_smoke
