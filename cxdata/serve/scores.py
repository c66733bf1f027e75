"""Served lookups besides segments: one customer's scores over time, and the touchpoint investment table."""

from __future__ import annotations

import datetime as dt

import polars as pl
import sqlalchemy as sa

from cxdata.serve.access import (
    NotPublished,
    ServeError,
    check_value,
    day_bounds,
    exists,
    fetch,
    require,
    shown,
    table,
)
from cxdata.warehouse import Warehouse

SCORES = "customer_scores"
HISTORY = "customer_scores_history"
TOUCHPOINTS = "touchpoint_scores"


class UnknownCustomer(ServeError):
    """No scores for that customer_key."""


def customer_scores(wh: Warehouse, customer_key: str) -> pl.DataFrame:
    """Every scored run of one customer, newest first: customer_scores_history when published (all runs), else
    the latest customer_scores row. UnknownCustomer when the key has none."""
    check_value(customer_key, "customer_key")
    source = HISTORY if exists(wh, HISTORY) else SCORES
    columns = require(wh, source, "run the project (cxdata run) so the CLV step scores customers")
    scores = table(wh, source, *columns)
    statement = (
        sa.select(*scores.c)
        .where(scores.c.customer_key == customer_key)
        .order_by(scores.c.as_of.desc(), *([scores.c.model_run_id.desc()] if "model_run_id" in columns else []))
    )
    found = fetch(wh, statement)
    if found.is_empty():
        raise UnknownCustomer(f"no scores for customer_key {shown(customer_key)} in table {source!r}")
    return found


def touchpoints(wh: Warehouse, day: dt.date | None = None, channel: str | None = None) -> pl.DataFrame:
    """The touchpoint investment table at its latest scoring moment (or the latest on UTC day ``day``), by
    channel and touchpoint; only ``channel`` when given. NotPublished until touchpoint_scores exists."""
    columns = require(wh, TOUCHPOINTS, "the touchpoint step has not run on this warehouse yet")
    scores = table(wh, TOUCHPOINTS, *columns)
    moment = sa.select(sa.func.max(scores.c.as_of).label("as_of"))
    if day is not None:
        start, end = day_bounds(day)
        moment = moment.where(scores.c.as_of >= start, scores.c.as_of < end)
    as_of = fetch(wh, moment)["as_of"][0]
    if as_of is None:
        when = f"on {day.isoformat()}" if day is not None else "at all"
        raise NotPublished(f"table {TOUCHPOINTS!r} has no rows {when}", TOUCHPOINTS)
    statement = sa.select(*scores.c).where(scores.c.as_of == as_of)
    if channel is not None:
        statement = statement.where(scores.c.channel == check_value(channel, "channel"))
    order = [scores.c[c] for c in ("channel", "touchpoint", "campaign") if c in columns]
    return fetch(wh, statement.order_by(*order))
