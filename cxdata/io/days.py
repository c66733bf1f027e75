"""Which day an event row belongs to: the partition of the event tables, in the project's zone.

Event tables (orders, tickets, surveys, web events, touches) are staged by day,
so a new day's file, or a late row inside the lookback, restates only its days
(`cxdata.io.partitions`). A row's day is the calendar day of its event time in
the project's zone; a row whose event time is missing or unreadable has none.
"""

from __future__ import annotations

import polars as pl

from cxdata.schema import EVENT_TIMES, PARTITION_COLUMN

__all__ = ["EVENT_TIMES", "PARTITION_COLUMN", "partitioned", "with_partition_day"]


def partitioned(table: str) -> bool:
    """Whether ``table`` is staged by day (an event table); snapshots (customers, costs) are reloaded whole."""
    return table in EVENT_TIMES


def with_partition_day(frame: pl.LazyFrame, table: str, timezone: str) -> pl.LazyFrame:
    """``frame`` with ``partition_day``, the project-zone day of its event time, when ``table`` is an event
    table; any other table's frame unchanged."""
    if not partitioned(table):
        return frame
    moment = pl.col(EVENT_TIMES[table])
    return frame.with_columns(moment.dt.convert_time_zone(timezone).dt.date().alias(PARTITION_COLUMN))
