"""The run context: one run id, scoring moment and start time for every step of a run."""

from __future__ import annotations

import datetime as dt

from cxdata.run_context import end_of_day


def test_end_of_day_is_local_midnight_in_utc():
    assert end_of_day(dt.date(2026, 6, 30), "Europe/Madrid") == dt.datetime(
        2026, 6, 30, 21, 59, 59, 999999, tzinfo=dt.UTC
    )
    assert end_of_day(dt.date(2026, 1, 31), "UTC") == dt.datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)
