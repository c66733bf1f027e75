"""Segment membership history: who entered and left each segment, replayed from the scorings in segment_members.

A *spell* is one stay of a customer in a segment: ``entered_at`` is the as_of of the first scoring that put
them there, ``exited_at`` the as_of of the first scoring that did not (null while they are in it). Every
entry and exit is also an event row. The history is a function of the scorings alone: a scoring is the
(as_of, run_id) of ``segment_summary``, written with the members. Those not yet replayed — new, replaced by a
rerun at the same as_of, or earlier than one replayed (a backfill) — rewind the history to the first of their
as_ofs (spells entered from there dropped, spells exited from there reopened, events from there deleted) and
are replayed in as_of order, so the result does not depend on the order runs came in. ``segment_scorings``
records each scoring replayed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from cxdata.config import DEFAULT_CURRENCY
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse

MEMBERS, SUMMARY, HISTORY = "segment_members", "segment_summary", "customer_scores_history"
MEMBERSHIP, EVENTS, SCORINGS = "segment_membership", "segment_events", "segment_scorings"
SPELL_KEY = ["segment", "customer_key", "entered_at"]
MOMENT = pl.Datetime("us", "UTC")
SPELL_SCHEMA = {
    "segment": pl.String,
    "customer_key": pl.String,
    "entered_at": MOMENT,
    "entered_run_id": pl.String,
    "clv_at_entry": pl.Float64,
    "currency": pl.String,
    "exited_at": MOMENT,
    "exited_run_id": pl.String,
}
EVENT_SCHEMA = {"segment": pl.String, "customer_key": pl.String, "event": pl.String, "as_of": MOMENT,
                "run_id": pl.String}  # fmt: skip
SCORING_SCHEMA = {
    "as_of": MOMENT,
    "run_id": pl.String,
    "members": pl.Int64,
    "entered": pl.Int64,
    "exited": pl.Int64,
    "replayed_at": MOMENT,
    "replayed_run_id": pl.String,
}


@dataclass(frozen=True)
class Transition:
    """One scoring applied to the open spells: the spells open after it, those it closed, and its events."""

    open: pl.LazyFrame
    closed: pl.LazyFrame
    events: pl.LazyFrame


@dataclass(frozen=True)
class MembershipReport:
    """What `update_membership` did: the scorings replayed, the as_of it rewound to (None: nothing new), the
    entries and exits it recorded, and the spells open after it."""

    replayed: int
    rewound_to: dt.datetime | None
    entered: int
    exited: int
    open_spells: int


def transition(
    open_spells: pl.LazyFrame, members: pl.LazyFrame, clv: pl.LazyFrame, as_of: dt.datetime, run_id: str,
    currency: str = DEFAULT_CURRENCY,
) -> Transition:  # fmt: skip
    """Apply the scoring (``as_of``, ``run_id``) whose members (segment, customer_key) are ``members`` to the
    ``open_spells``: members without an open spell enter (with their ``clv`` at that scoring: customer_key,
    clv, in ``currency``), open spells whose customer is not a member exit."""
    key = ["segment", "customer_key"]
    members = members.select(key).unique()
    entered = members.join(open_spells.select(key), on=key, how="anti")
    new = entered.join(clv.select("customer_key", pl.col("clv").alias("clv_at_entry")), on="customer_key",
                       how="left")  # fmt: skip
    new = new.select(
        "segment", "customer_key", pl.lit(as_of, MOMENT).alias("entered_at"),
        pl.lit(run_id, pl.String).alias("entered_run_id"), pl.col("clv_at_entry").cast(pl.Float64),
        pl.lit(currency, pl.String).alias("currency"), pl.lit(None, MOMENT).alias("exited_at"),
        pl.lit(None, pl.String).alias("exited_run_id"),
    )  # fmt: skip
    closed = open_spells.join(members, on=key, how="anti").with_columns(
        pl.lit(as_of, MOMENT).alias("exited_at"), pl.lit(run_id, pl.String).alias("exited_run_id")
    )
    stayed = open_spells.join(members, on=key, how="semi")
    events = pl.concat(
        [
            entered.select(*key, pl.lit("entered").alias("event")),
            closed.select(*key, pl.lit("exited").alias("event")),
        ]
    ).select(*key, "event", pl.lit(as_of, MOMENT).alias("as_of"), pl.lit(run_id, pl.String).alias("run_id"))
    return Transition(pl.concat([stayed, new]), closed, events)


def pending_from(scorings: pl.DataFrame, replayed: pl.DataFrame) -> dt.datetime | None:
    """The as_of to rewind to: the earliest scoring (as_of, run_id) that is not replayed, or replayed but no
    longer a scoring; None when the two agree."""
    key = ["as_of", "run_id"]
    differ = pl.concat(
        [scorings.join(replayed, on=key, how="anti").select(key), replayed.join(scorings, on=key, how="anti")]
    )
    return None if differ.is_empty() else differ["as_of"].min()


def scorings_of(wh: Warehouse) -> pl.DataFrame:
    """Every scoring that wrote segments: (as_of, run_id) in as_of order (one run per as_of: a rerun replaces)."""
    if not wh.exists(SUMMARY):
        return pl.DataFrame(schema={"as_of": MOMENT, "run_id": pl.String})
    summary = wh.read(SUMMARY, columns=["as_of", "run_id"])
    return summary.unique().sort("as_of").cast({"as_of": MOMENT})


def update_membership(wh: Warehouse, run: RunContext, currency: str = DEFAULT_CURRENCY) -> MembershipReport:
    """Bring segment_membership, segment_events and segment_scorings up to the scorings in segment_members (see
    the module), in one transaction; CLV at entry is labelled ``currency`` (the project's)."""
    scorings = scorings_of(wh)
    replayed = _read(wh, SCORINGS, SCORING_SCHEMA)
    start = pending_from(scorings, replayed.select("as_of", "run_id"))
    if start is None:
        return MembershipReport(0, None, 0, 0, _open_count(wh))
    redone = replayed.filter(pl.col("as_of") >= start)["as_of"]
    touched = _touched(wh, redone)
    state = touched.filter(pl.col("entered_at") < start).with_columns(
        pl.lit(None, MOMENT).alias("exited_at"), pl.lit(None, pl.String).alias("exited_run_id")
    )
    closed: list[pl.DataFrame] = []
    events: list[pl.DataFrame] = []
    rows: list[dict[str, object]] = []
    todo = scorings.filter(pl.col("as_of") >= start)
    for as_of, run_id in todo.select("as_of", "run_id").iter_rows():
        members = wh.read(MEMBERS, columns=["segment", "customer_key"], where={"as_of": as_of})
        step = transition(state.lazy(), members.lazy(), _clv_at(wh, as_of).lazy(), as_of, run_id, currency)
        state, done, happened = pl.collect_all([step.open, step.closed, step.events])
        closed.append(done)
        events.append(happened)
        entered = happened.filter(pl.col("event") == "entered").height
        rows.append({"as_of": as_of, "run_id": run_id, "members": members.height, "entered": entered,
                     "exited": done.height, "replayed_at": run.now, "replayed_run_id": run.run_id})  # fmt: skip
    after = pl.concat([*closed, state], how="vertical_relaxed").cast(SPELL_SCHEMA)  # type: ignore[arg-type]
    changed = after.join(touched, on=list(SPELL_SCHEMA), how="anti", nulls_equal=True)
    gone = touched.join(after, on=list(SPELL_SCHEMA), how="anti", nulls_equal=True)
    moments = sorted({*redone.to_list(), *todo["as_of"].to_list()})
    new_events = pl.concat(events).cast(EVENT_SCHEMA)  # type: ignore[arg-type]
    with wh.transaction() as tx:
        tx.replace_keys(MEMBERSHIP, changed, on=SPELL_KEY, keys=pl.concat([gone, changed]).select(SPELL_KEY))
        tx.append(EVENTS, new_events, replace={"as_of": moments})
        tx.append(SCORINGS, pl.DataFrame(rows, schema=SCORING_SCHEMA), replace={"as_of": moments})
    counts = new_events["event"].value_counts()
    tally = dict(zip(counts["event"].to_list(), counts["count"].to_list(), strict=True))
    return MembershipReport(todo.height, start, tally.get("entered", 0), tally.get("exited", 0), state.height)


def _read(wh: Warehouse, name: str, schema: dict[str, pl.DataType], **filters: object) -> pl.DataFrame:
    if not wh.exists(name):
        return pl.DataFrame(schema=schema)
    return wh.read(name, columns=list(schema), **filters).cast(schema)  # type: ignore[arg-type]


def _touched(wh: Warehouse, redone: pl.Series) -> pl.DataFrame:
    """The spells a rewind may change: the open ones and those that exited at a scoring being replayed again."""
    spells = [_read(wh, MEMBERSHIP, SPELL_SCHEMA, where={"exited_at": None})]
    if redone.len():
        spells.append(_read(wh, MEMBERSHIP, SPELL_SCHEMA, where_in=redone.alias("exited_at").to_frame()))
    return pl.concat(spells).unique(SPELL_KEY)


def _clv_at(wh: Warehouse, as_of: dt.datetime) -> pl.DataFrame:
    schema = {"customer_key": pl.String, "clv": pl.Float64}
    if not wh.exists(HISTORY):
        return pl.DataFrame(schema=schema)
    return _read(wh, HISTORY, schema, where={"as_of": as_of}).unique("customer_key")


def _open_count(wh: Warehouse) -> int:
    return _read(wh, MEMBERSHIP, {"customer_key": pl.String}, where={"exited_at": None}).height
