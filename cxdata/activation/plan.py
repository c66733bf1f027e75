"""Planning a sync: the changes a destination needs to hold a segment's audience of the latest scoring.

The audience (target) is the segment's members at the latest scoring, less those without consent to the
destination's purpose, less the holdout's control group. ``sync_members`` is who the destination holds by our
records; the changes are the adds (target, not held) and removes (held, not target). Planning writes, in one
transaction, the ``sync_runs`` row (status planned, or unchanged when there is nothing to send), its
``sync_changes``, the new ``sync_members`` and the holdout's new assignments: from then on the changes are
safe in the warehouse, and delivery (`cxdata.activation.deliver`) may be retried until it succeeds.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from cxdata.config import ProjectConfig
from cxdata.config_activation import Destination
from cxdata.serve import consent, holdouts
from cxdata.serve.access import fetch, forget_remembered, table
from cxdata.serve.segments import MEMBERS, resolve_as_of
from cxdata.warehouse import Warehouse

RUNS, CHANGES, HELD = "sync_runs", "sync_changes", "sync_members"
MOMENT = pl.Datetime("us", "UTC")
RUN_SCHEMA = {
    "destination": pl.String,
    "seq": pl.Int64,
    "sync_id": pl.String,
    "segment": pl.String,
    "as_of": MOMENT,
    "previous_as_of": MOMENT,
    "planned_at": MOMENT,
    "planned_by": pl.String,
    "audience": pl.Int64,
    "adds": pl.Int64,
    "removes": pl.Int64,
    "withheld": pl.Int64,
    "without_consent": pl.Int64,
    "status": pl.String,
    "attempts": pl.Int64,
    "delivered_at": MOMENT,
    "delivered_to": pl.String,
    "last_error": pl.String,
}
CHANGE_SCHEMA = {"destination": pl.String, "seq": pl.Int64, "customer_key": pl.String, "change": pl.String}
HELD_SCHEMA = {"destination": pl.String, "customer_key": pl.String, "added_seq": pl.Int64}
PLANNED, DELIVERED, UNCHANGED = "planned", "delivered", "unchanged"


@dataclass(frozen=True)
class Audience:
    """Who a destination should hold at scoring ``as_of``: the keys, the control members withheld and the new
    holdout assignments, and how many members lacked consent."""

    as_of: dt.datetime
    keys: pl.DataFrame
    withheld: int
    assignments: pl.DataFrame | None
    without_consent: int


def audience(wh: Warehouse, destination: Destination, now: dt.datetime, salt_env: str) -> Audience:
    """The audience of ``destination`` at the latest scoring (see the module); a holdout draws members never
    assigned to its campaign at ``now``, salted from environment variable ``salt_env``."""
    forget_remembered(wh)  # the latest scoring and the catalog as they are now, not as a while ago
    as_of = resolve_as_of(wh)
    members = table(wh, MEMBERS, "segment", "customer_key", "as_of")
    statement = sa.select(members.c.customer_key).where(
        members.c.segment == destination.segment, members.c.as_of == as_of
    )
    refused = 0
    if destination.purpose is not None:
        statement = statement.where(consent.consented(wh, members.c.customer_key, destination.purpose))
        refused = consent.left_out(wh, destination.segment, as_of, destination.purpose)
    keys = fetch(wh, statement).select(pl.col("customer_key").cast(pl.String))
    withheld, assignments = 0, None
    if destination.holdout is not None:
        holdout = holdouts.holdout_from_env(destination.holdout.campaign, destination.holdout.share, salt_env)
        split = holdouts.assign_members(wh, holdout, keys["customer_key"], destination.segment, now)
        keys = keys.filter(~pl.col("customer_key").is_in(split.control.implode()))
        withheld, assignments = split.control.len(), split.new_rows
    return Audience(as_of, keys, withheld, assignments, refused)


def read_runs(wh: Warehouse, name: str) -> pl.DataFrame:
    """The sync_runs rows of destination ``name`` by seq (empty before its first sync)."""
    if not wh.exists(RUNS):
        return pl.DataFrame(schema=RUN_SCHEMA)
    return wh.read(RUNS, where={"destination": name}).cast(RUN_SCHEMA).sort("seq")  # type: ignore[arg-type]


def plan_sync(
    wh: Warehouse, config: ProjectConfig, name: str, now: dt.datetime, by: str, runs: pl.DataFrame
) -> pl.DataFrame:
    """Plan the next sync of destination ``name`` after its ``runs`` (`read_runs`) and write it (see the module);
    its sync_runs row."""
    destination = config.activation.destinations[name]
    target = audience(wh, destination, now, config.models.experiments.salt_env)
    held = _held(wh, name)
    adds = target.keys.join(held, on="customer_key", how="anti")
    removes = held.join(target.keys, on="customer_key", how="anti")
    seq = 1 if runs.is_empty() else int(runs["seq"].max()) + 1  # type: ignore[arg-type]
    previous = runs["as_of"]  # a sync still planned is delivered before this one: it is the previous too
    changes = pl.concat(
        [adds.with_columns(pl.lit("add").alias("change")), removes.with_columns(pl.lit("remove").alias("change"))]
    ).select(pl.lit(name).alias("destination"), pl.lit(seq).alias("seq"), "customer_key", "change")
    status = PLANNED if changes.height else UNCHANGED
    row = pl.DataFrame(
        [{
            "destination": name, "seq": seq, "sync_id": uuid.uuid4().hex, "segment": destination.segment,
            "as_of": target.as_of, "previous_as_of": previous.max() if previous.len() else None,
            "planned_at": now, "planned_by": by, "audience": target.keys.height, "adds": adds.height,
            "removes": removes.height, "withheld": target.withheld, "without_consent": target.without_consent,
            "status": status, "attempts": 0, "delivered_at": now if status == UNCHANGED else None,
            "delivered_to": None, "last_error": None,
        }],
        schema=RUN_SCHEMA,
    )  # fmt: skip
    added = adds.select(pl.lit(name).alias("destination"), "customer_key", pl.lit(seq).alias("added_seq"))
    with wh.transaction() as tx:
        tx.append(RUNS, row)
        tx.append(CHANGES, changes.cast(CHANGE_SCHEMA))  # type: ignore[arg-type]
        tx.replace_keys(HELD, added.cast(HELD_SCHEMA), on=["destination", "customer_key"],  # type: ignore[arg-type]
                        keys=changes.select("destination", "customer_key"))  # fmt: skip
        if target.assignments is not None and target.assignments.height:
            tx.append(holdouts.ASSIGNMENTS, target.assignments)
    return row


def _held(wh: Warehouse, name: str) -> pl.DataFrame:
    if not wh.exists(HELD):
        return pl.DataFrame(schema={"customer_key": pl.String})
    return wh.read(HELD, columns=["customer_key"], where={"destination": name}).cast({"customer_key": pl.String})
