"""Customer marts: fact tables, sessions, dim_customer and daily CX KPIs, as lazy polars transforms.

    from cxdata.marts import fct_orders, dim_customer, cx_kpis_daily

Each transform takes canonical staged tables (or other marts) plus identity
resolution's ``record_keys`` and returns a ``pl.LazyFrame`` whose columns are
documented in ``sql/<mart>.sql``. No personal data (email, phone, names) is
copied into any mart.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.marts.customer import STAGES, dim_customer
from cxdata.marts.facts import fct_orders, fct_surveys, fct_tickets, fct_touches
from cxdata.marts.kpis import cx_kpis_daily
from cxdata.marts.sessions import fct_web_sessions

# Event timestamp columns of the canonical tables and the marts, in the order they are looked for.
_EVENT_STAMPS = ("ordered_at", "opened_at", "responded_at", "ended_at", "occurred_at")


def as_of_default(
    orders: pl.LazyFrame | None = None,
    tickets: pl.LazyFrame | None = None,
    surveys: pl.LazyFrame | None = None,
    sessions: pl.LazyFrame | None = None,
    touches: pl.LazyFrame | None = None,
) -> dt.datetime:
    """The end (23:59:59.999999 UTC) of the last day with any event, the as_of used when config.as_of is None.

    Takes canonical tables or fct_ marts (web sessions or raw web events); this one
    does collect, a single max per input. Raises ValueError when no input has an event.
    """
    latest = []
    for frame in (orders, tickets, surveys, sessions, touches):
        if frame is None:
            continue
        names = frame.collect_schema().names()
        stamp = next((c for c in _EVENT_STAMPS if c in names), None)
        if stamp is not None:
            latest.append(frame.select(pl.col(stamp).max().dt.convert_time_zone("UTC").alias("at")))
    values = [v for v in pl.concat(latest).collect()["at"].to_list() if v is not None] if latest else []
    if not values:
        raise ValueError("no events to take as_of from: every input is missing or empty; set as_of in the config")
    last_day = max(values).date()
    return dt.datetime.combine(last_day, dt.time.max, tzinfo=dt.UTC)


__all__ = [
    "STAGES",
    "as_of_default",
    "cx_kpis_daily",
    "dim_customer",
    "fct_orders",
    "fct_surveys",
    "fct_tickets",
    "fct_touches",
    "fct_web_sessions",
]
