"""One run, one moment: the id, the scoring moment and the start time every step of a run shares."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def end_of_day(day: dt.date, timezone: str) -> dt.datetime:
    """The last microsecond of ``day`` in the project's zone, in UTC: everything up to it counts as of that day."""
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=ZoneInfo(timezone))
    return (midnight - dt.timedelta(microseconds=1)).astimezone(dt.UTC)
