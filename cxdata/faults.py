"""Crash points: named moments at which a test or benchmark can kill the process, to prove a run recovers.

Set ``CXDATA_CRASH_AT`` to a point's name (or a shell-style pattern, or several separated by commas) and the
process receives SIGKILL when it reaches the first matching point, exactly as an operator's ``kill -9``
or a machine losing power would stop it. Unset, a crash point costs one dictionary lookup.
"""

from __future__ import annotations

import fnmatch
import os
import signal

ENV = "CXDATA_CRASH_AT"


def crash_point(name: str) -> None:
    """Kill this process with SIGKILL here when ``CXDATA_CRASH_AT`` matches ``name``; otherwise do nothing."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    if any(fnmatch.fnmatchcase(name, pattern.strip()) for pattern in wanted.split(",") if pattern.strip()):
        os.kill(os.getpid(), signal.SIGKILL)
