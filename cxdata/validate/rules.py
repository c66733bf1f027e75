"""Row rules of the input contract, as polars expressions over a standardised frame.

Every check names a rule and the column it looks at; a row that fails any
check is quarantined. When a row fails several, its `rule` is the first in
this fixed priority (the most basic problem first, because it usually
explains the later ones):

1. ``required_missing``   a required column is empty (null, or only blanks)
2. ``unparseable``        a value is present but not readable as the contract type
                          (timestamp, date, number; NaN and infinity included)
3. ``unknown_value``      a category outside its set: surveys ``kind`` (csat, nps,
                          ces), touches ``kind`` (sent, open, click, impression),
                          web_events ``event_type`` (``validation.event_types``)
4. ``score_out_of_range`` a survey ``score`` outside the scale of its ``kind``
                          (csat 1-5, nps 0-10, ces 1-7)
5. ``negative_amount``    an ``amount``/``cost`` below zero, except an order whose
                          ``status`` is refund/refunded/return/returned (any case)
6. ``future_time``        a timestamp later than the load time plus
                          ``validation.future_tolerance_hours``
7. ``duplicate_key``      a primary key seen earlier: the first occurrence in file
                          order (files sorted by name, then record number) is kept,
                          every later one is quarantined

Category values are compared exactly (lower case), because the marts compare
them exactly: ``CSAT`` would otherwise be accepted and then counted nowhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from cxdata import schema
from cxdata.config import ValidationConfig
from cxdata.marts.facts import SURVEY_SCALES

UNREADABLE_PREFIX = "__unreadable__"

RULES = (
    "required_missing",
    "unparseable",
    "unknown_value",
    "score_out_of_range",
    "negative_amount",
    "future_time",
    "duplicate_key",
)

REFUND_STATUSES = ("refund", "refunded", "return", "returned")
TOUCH_KINDS = ("sent", "open", "click", "impression")


@dataclass(frozen=True)
class Check:
    """One rule applied to one column: ``fails`` is true on the rows that break it.

    An expensive check carries a cheap ``guard``: true on (at least) every row
    that may fail, or one value for the whole frame. ``fails`` is then only
    evaluated on the rows the guard lets through (see `quarantine.settle`).
    """

    rule: str
    column: str
    fails: pl.Expr
    guard: pl.Expr | None = None


def checks(table: str, validation: ValidationConfig, loaded_at: dt.datetime, unreadable: set[str]) -> list[Check]:
    """The checks of ``table``, in priority order (rule first, then contract column order).

    ``unreadable`` names the columns that carry an ``__unreadable__<column>``
    flag in the frame (see `cxdata.io.staging.standardise`).
    """
    spec = schema.table(table)
    found: list[Check] = []
    for column in spec.required:
        empty = pl.col(column).is_null()
        if spec.column(column).kind in ("id", "text"):
            empty = empty | (pl.col(column).str.strip_chars() == "")
        if column in unreadable:
            # A value that was there but unreadable is an `unparseable` problem, not a missing one.
            empty = empty & ~pl.col(UNREADABLE_PREFIX + column)
        found.append(Check("required_missing", column, empty))
    parsed = [c.name for c in spec.columns if c.name in unreadable]
    found += [Check("unparseable", name, pl.col(UNREADABLE_PREFIX + name)) for name in parsed]
    found += _categories(table, validation)
    if table == "surveys":
        found.append(Check("score_out_of_range", "score", _out_of_scale()))
    found += _negative(spec)
    horizon = loaded_at + dt.timedelta(hours=validation.future_tolerance_hours)
    found += [
        Check("future_time", c.name, pl.col(c.name) > pl.lit(horizon, dtype=schema.UTC_TIMESTAMP))
        for c in spec.columns
        if c.kind == "timestamp"
    ]
    if spec.primary_key is not None:
        key = pl.col(spec.primary_key)
        # Exact first-occurrence search over millions of strings is slow; sorted 64-bit hashes tell cheaply
        # whether any key repeats at all (a collision only costs the exact search, never a wrong answer).
        hashes = key.drop_nulls().hash().sort()
        repeats = (hashes == hashes.shift(1)).any()
        duplicate = key.is_not_null() & ~key.is_first_distinct()
        found.append(Check("duplicate_key", spec.primary_key, duplicate, repeats))
    # A null comparison means "nothing to complain about", never "fails".
    return [
        Check(c.rule, c.column, c.fails.fill_null(False), None if c.guard is None else c.guard.fill_null(False))
        for c in found
    ]


def _categories(table: str, validation: ValidationConfig) -> list[Check]:
    allowed = {
        "surveys": ("kind", tuple(SURVEY_SCALES)),
        "touches": ("kind", TOUCH_KINDS),
        "web_events": ("event_type", tuple(validation.event_types)),
    }
    if table not in allowed:
        return []
    column, values = allowed[table]
    return [Check("unknown_value", column, ~pl.col(column).is_in(list(values)))]


def _out_of_scale() -> pl.Expr:
    kind, score = pl.col("kind"), pl.col("score")
    inside = pl.lit(None, dtype=pl.Boolean)
    for name, (low, high) in SURVEY_SCALES.items():
        inside = pl.when(kind == name).then(score.is_between(low, high)).otherwise(inside)
    # Unknown kinds give null here: that row is already an `unknown_value`.
    return ~inside


def _negative(spec: schema.Table) -> list[Check]:
    found = []
    for column in spec.columns:
        if column.kind != "amount":
            continue
        negative = pl.col(column.name) < 0
        if "status" in spec.column_names:
            status = pl.col("status").str.strip_chars().str.to_lowercase()
            # The status text is only read for the few negative rows (the guard), not for every order.
            refund = status.is_in(list(REFUND_STATUSES)).fill_null(False)
            found.append(Check("negative_amount", column.name, negative & ~refund, negative))
        else:
            found.append(Check("negative_amount", column.name, negative))
    return found
