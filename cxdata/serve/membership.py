"""Served membership history: who entered and left a segment since a run or a day (``segment_events``), a page
at a time, and one customer's stays in segments (``segment_membership``).

``since`` is a run id or a UTC day. A run means the changes *after* that run's scoring (what a destination
synced at that run has not seen); a day means the changes of scorings on or after that day. Changes are in
scoring order, then customer_key; a customer who entered and left in the window shows both events.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from cxdata.serve.access import (
    BadValue,
    NotPublished,
    ServeError,
    check_value,
    day_bounds,
    fetch,
    parse_day,
    require,
    shown,
    table,
)
from cxdata.warehouse import Warehouse

EVENTS, MEMBERSHIP, SCORINGS = "segment_events", "segment_membership", "segment_scorings"
_HINT = "run the project (cxdata run) so the activation step replays the segment membership history"
_SEPARATOR = "\t"


class UnknownRun(ServeError):
    """``since`` is neither a day nor the run id of a scoring the history holds."""


@dataclass(frozen=True)
class ChangesPage:
    """One page of a segment's changes: since which moment (``since_kind`` run: after it; day: from it), up to
    which scoring (``through``), the rows (customer_key, event, as_of, run_id) and the next page's cursor."""

    segment: str
    since: dt.datetime
    since_kind: str
    through: dt.datetime | None
    rows: pl.DataFrame
    next_after: str | None


def since_moment(wh: Warehouse, since: str) -> tuple[dt.datetime, str]:
    """The moment ``since`` stands for and its kind: ``day`` (its UTC start; changes from it on) when it reads as
    YYYY-MM-DD, else ``run`` (the as_of of that run's scoring; changes after it). NotPublished for a run that
    scored no segments."""
    check_value(since, "since")
    try:
        return day_bounds(parse_day(since))[0], "day"
    except BadValue:
        pass
    require(wh, SCORINGS, _HINT)
    scorings = table(wh, SCORINGS, "as_of", "run_id")
    found = fetch(wh, sa.select(scorings.c.as_of).where(scorings.c.run_id == since))
    if found.is_empty():
        raise UnknownRun(
            f"since must be a day (YYYY-MM-DD) or the run_id of a scoring in {SCORINGS}; no scoring by run "
            f"{shown(since)}"
        )
    return found["as_of"][0], "run"


def changes(wh: Warehouse, name: str, since: str, limit: int = 100, after: str | None = None) -> ChangesPage:
    """Up to ``limit`` entries into and exits from segment ``name`` since ``since`` (see the module), after the
    cursor ``after`` (the ``next_after`` of the previous page)."""
    check_value(name, "segment name")
    require(wh, EVENTS, _HINT)
    moment, kind = since_moment(wh, since)
    events = table(wh, EVENTS, "segment", "customer_key", "event", "as_of", "run_id")
    window = events.c.as_of >= moment if kind == "day" else events.c.as_of > moment
    statement = sa.select(events.c.customer_key, events.c.event, events.c.as_of, events.c.run_id).where(
        events.c.segment == name, window
    )
    if after is not None:
        at, key = _cursor(after)
        statement = statement.where(
            sa.or_(events.c.as_of > at, sa.and_(events.c.as_of == at, events.c.customer_key > key))
        )
    rows = fetch(wh, statement.order_by(events.c.as_of, events.c.customer_key).limit(limit + 1))
    more = rows.height > limit
    rows = rows.head(limit)
    following = _cursor_of(rows["as_of"][-1], rows["customer_key"][-1]) if more else None
    return ChangesPage(name, moment, kind, _through(wh), rows, following)


def customer_membership(wh: Warehouse, customer_key: str) -> pl.DataFrame | None:
    """The stays of one customer in segments, latest entry first (segment, entered_at, exited_at,
    clv_at_entry, currency); None when the history is not published."""
    check_value(customer_key, "customer_key")
    try:
        require(wh, MEMBERSHIP, _HINT)
    except NotPublished:
        return None
    columns = ("segment", "entered_at", "exited_at", "clv_at_entry", "currency")
    spells = table(wh, MEMBERSHIP, "customer_key", *columns)
    statement = (
        sa.select(*(spells.c[c] for c in columns))
        .where(spells.c.customer_key == customer_key)
        .order_by(spells.c.entered_at.desc(), spells.c.segment)
    )
    return fetch(wh, statement)


def _through(wh: Warehouse) -> dt.datetime | None:
    scorings = table(wh, SCORINGS, "as_of")
    return fetch(wh, sa.select(sa.func.max(scorings.c.as_of).label("as_of")))["as_of"][0]


def _cursor_of(as_of: dt.datetime, customer_key: str) -> str:
    text = f"{as_of.isoformat()}{_SEPARATOR}{customer_key}"
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii")


def _cursor(after: str) -> tuple[dt.datetime, str]:
    check_value(after, "cursor")
    try:
        moment, key = base64.urlsafe_b64decode(after.encode("ascii")).decode("utf-8").split(_SEPARATOR)
        at = dt.datetime.fromisoformat(moment)
    except (ValueError, UnicodeError, binascii.Error):
        raise BadValue("after must be the next_after of a previous page") from None
    if at.tzinfo is None:
        raise BadValue("after must be the next_after of a previous page")
    return at, key
