"""What every benchmark script measures: wall and CPU seconds of a step, and the process's peak RSS.

Scripts run as ``uv run python benchmarks/<name>.py``, so this folder is on ``sys.path`` and they import it as
``measure``.
"""

from __future__ import annotations

import contextlib
import io
import os
import resource
import sys
import time
from pathlib import Path

import sqlalchemy as sa

CPU_SECONDS: dict[str, float] = {}  # per label of `timed`, for scripts that add steps up


def cpu_seconds() -> float:
    """CPU seconds of this process, all threads: on a shared machine wall time measures the neighbours too."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far, in GB.

    On Linux from VmHWM: ru_maxrss of a process a benchmark starts as a child also counts the parent's peak
    (the kernel carries it over fork and exec), VmHWM only this program's. Elsewhere ru_maxrss (KiB on
    Linux, bytes on macOS).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024**2
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024**3 if sys.platform == "darwin" else 1024**2)


def timed(label: str, action, *, quiet: bool = False):
    """Run ``action``; print its wall and CPU seconds; return its result and the wall seconds.

    ``quiet`` swallows what the action prints (lifetimes prints scipy's whole result on a failed fit).
    CPU / 2 is what a step needs at best on 2 idle cores.
    """
    began, cpu = time.perf_counter(), cpu_seconds()
    with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
        result = action()
    seconds, cpu = time.perf_counter() - began, cpu_seconds() - cpu
    print(f"{label}: {seconds:.2f} s wall, {cpu:.2f} s CPU")
    CPU_SECONDS[label] = cpu
    return result, seconds


def server_process(wh) -> int | None:
    """The PostgreSQL backend pid serving ``wh``'s pooled connection (None on another warehouse): benchmarks run
    one thread, so the pool hands the next transaction the connection this asks on."""
    if wh.dialect != "postgresql":
        return None
    with wh.engine.connect() as conn:
        return conn.execute(sa.text("select pg_backend_pid()")).scalar_one()


def server_cpu_seconds(pid: int | None) -> float:
    """CPU seconds (user + system) the server process ``pid`` has used so far; 0 without one."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
