"""Update a fact mart from its delta (`cxdata.marts.delta`) instead of building it whole.

The rows to build again are those of every record whose customer can have changed: the customers identity
touched since the last build, and the customers of the records on the days restated since (their other rows
too: an order's number counts the customer's orders). Rows without a customer are few and carry no number:
the ones of the restated records and every row that had no customer before are built again too. The rows
are replaced by record id (every row those customers had, and every row built again), in one transaction with
``mart_inputs``, so a record gone from its day leaves no row behind. ``fct_surveys`` also builds again the
answers whose ticket was restated or is gone, since they take their channel from it. ``fct_web_sessions``
cuts sessions from all of a visitor's events: it builds again every session of the visitors with an event
among those records, or whose sessions belonged to those customers or to none, and replaces by visitor.

Each row is built by the mart's own definition (`cxdata.marts.step.MARTS`) from the staged rows of those
records, so an update and a full build give the same rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from cxdata.config import ProjectConfig
from cxdata.identity.records import TABLES
from cxdata.identity.step import RECORD_KEYS
from cxdata.io.days import PARTITION_COLUMN
from cxdata.marts.delta import FACT_TOUCHED, INPUTS, KEY, FactDelta, fact_touched_rows
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse

# fact mart -> the staged table it has one row per record of
FACT_SOURCES = {
    "fct_orders": "orders",
    "fct_tickets": "tickets",
    "fct_surveys": "surveys",
    "fct_touches": "touches",
    "fct_web_sessions": "web_events",
}
SESSIONS = "fct_web_sessions"
_IDS = pl.Schema({"record_id": pl.String()})
Build = Callable[[ProjectConfig, dict[str, pl.LazyFrame | None], RunContext], pl.LazyFrame]


@dataclass(frozen=True)
class Update:
    """What an update wrote: the rows built again, the seconds publishing took, facts about it, and the key
    values (one column: the record id, or the visitor of sessions) of the rows built again."""

    rows: pl.DataFrame
    seconds: float
    facts: dict[str, object]
    keys: pl.DataFrame


def update_fact(
    wh: Warehouse, config: ProjectConfig, name: str, run: RunContext, delta: FactDelta, build: Build
) -> Update | None:
    """Build again the rows of ``name`` that ``delta`` reaches with ``build`` (the mart's own build, taking the
    frames of its inputs) and put them in place of the old ones; None, with nothing written, when a row built
    again belongs to a customer outside the delta (the delta missed something: build the mart whole)."""
    source = FACT_SOURCES[name]
    restated = _on_days(wh, source, delta.days[source])
    if name == "fct_surveys":
        restated = pl.concat([restated, _answers_of_changed_tickets(wh, delta.days.get("tickets"))]).unique()
    keyed = _record_keys(wh, source, restated)
    customers = pl.concat([delta.touched, keyed.select("customer_key")]).drop_nulls().unique().cast(KEY)
    theirs = wh.read(RECORD_KEYS, columns=["record_id"], where={"source_table": source}, where_in=customers)
    rebuild = _visitor_rebuild if name == SESSIONS else _record_rebuild
    frames, unit, replaced = rebuild(wh, name, customers, restated, theirs.cast(_IDS))
    if name == "fct_surveys":
        frames["stg_tickets"] = _tickets_of(wh, frames["stg_surveys"]) if "tickets" in delta.days else None
    rows = build(config, frames, run).collect()
    outside = pl.col("customer_key").is_not_null() & ~pl.col("customer_key").is_in(
        customers["customer_key"].implode()
    )
    if rows.filter(outside).height:
        return None
    if unit != "anonymous_id":  # the rows built again replace theirs too
        built = rows.select(pl.col(unit).cast(pl.String))
        replaced = pl.concat([replaced, built]).unique()
    # customer_activity follows the customers of every row replaced, before and after (`mart_touched`)
    had = wh.read(name, columns=["customer_key"], where_in=replaced.cast({unit: rows.schema[unit]}))
    touched = fact_touched_rows(name, run.run_id, pl.concat([had, rows.select("customer_key")]))
    with wh.transaction() as tx:
        published = tx.replace_keys(name, rows, on=unit, keys=replaced)
        tx.replace_keys(INPUTS, delta.inputs, on="mart")
        tx.append(FACT_TOUCHED, touched)
    facts = {
        "mode": "incremental",
        "days_read_again": sum(days.height for days in delta.days.values()),
        "customers_rebuilt": customers.height,
        "rows_replaced": rows.height,
    }
    return Update(rows, published.seconds, facts, rows.select(unit).unique())


def _record_rebuild(
    wh: Warehouse, name: str, customers: pl.DataFrame, restated: pl.DataFrame, theirs: pl.DataFrame
) -> tuple[dict[str, pl.LazyFrame | None], str, pl.DataFrame]:
    """A fact of one row per record: the input frames of the records to build again, the key its rows are
    replaced by, and the keys to replace (every row the customers had, the restated and keyless records)."""
    source = FACT_SOURCES[name]
    key, _ = TABLES[source]
    keyless = wh.read(name, columns=[key], where={"customer_key": None}).select(pl.col(key).alias("record_id"))
    by_id = pl.concat([restated, keyless.cast(_IDS)]).unique()
    records = pl.concat([by_id, theirs]).unique()
    frames = {f"stg_{source}": _staged(wh, source, records), RECORD_KEYS: _record_keys(wh, source, records).lazy()}
    had = wh.read(name, columns=[key], where_in=customers).select(pl.col(key).cast(pl.String).alias("record_id"))
    return frames, key, _as(pl.concat([had, by_id]).unique(), key)


def _visitor_rebuild(
    wh: Warehouse, name: str, customers: pl.DataFrame, restated: pl.DataFrame, theirs: pl.DataFrame
) -> tuple[dict[str, pl.LazyFrame | None], str, pl.DataFrame]:
    """Web sessions, cut from all of a visitor's events: every event of each visitor whose sessions can have
    changed (`_visitors`), replaced per visitor (anonymous_id)."""
    visitors = _visitors(wh, customers, pl.concat([restated, theirs]).unique())
    events = wh.read("stg_web_events", where_in=visitors).lazy()
    named = events.select(pl.col("event_id").cast(pl.String).alias("record_id")).collect()
    return (
        {"stg_web_events": events, RECORD_KEYS: _record_keys(wh, "web_events", named).lazy()},
        "anonymous_id",
        visitors,
    )


def _visitors(wh: Warehouse, customers: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """The visitors (anonymous_id) whose sessions can have changed: those of ``events`` (record ids) and every
    visitor whose sessions belonged to one of ``customers`` or to no customer."""
    parts = [
        wh.read(
            "stg_web_events", columns=["anonymous_id"], where_in=_typed(wh, "stg_web_events", "event_id", events)
        ),
        wh.read(SESSIONS, columns=["anonymous_id"], where_in=customers),
        wh.read(SESSIONS, columns=["anonymous_id"], where={"customer_key": None}),
    ]
    return pl.concat([part.cast({"anonymous_id": pl.String}) for part in parts]).drop_nulls().unique()


def _on_days(wh: Warehouse, source: str, days: pl.DataFrame) -> pl.DataFrame:
    """The record ids (text) staged on ``days`` and without a day: the records to build again whatever else."""
    key, _ = TABLES[source]
    name = f"stg_{source}"
    parts = [wh.read(name, columns=[key], where={PARTITION_COLUMN: None})]
    if days.height:
        parts.append(wh.read(name, columns=[key], where_in=days.select(PARTITION_COLUMN)))
    return pl.concat(parts).select(pl.col(key).cast(pl.String).alias("record_id")).unique()


def _record_keys(wh: Warehouse, source: str, records: pl.DataFrame) -> pl.DataFrame:
    """The identity_record_keys rows (source_table, record_id, customer_key) of ``records``."""
    return wh.read(
        RECORD_KEYS,
        columns=["source_table", "record_id", "customer_key"],
        where={"source_table": source},
        where_in=records,
    )


def _staged(wh: Warehouse, source: str, records: pl.DataFrame, columns: list[str] | None = None) -> pl.LazyFrame:
    """The staged rows of ``records`` (only ``columns`` when given), read by key."""
    key, _ = TABLES[source]
    name = f"stg_{source}"
    return wh.read(name, columns=columns, where_in=_typed(wh, name, key, records)).lazy()


def _typed(wh: Warehouse, table: str, column: str, ids: pl.DataFrame) -> pl.DataFrame:
    """``ids`` (text record_id) as values of ``table``'s ``column``, in its type: a frame to read by."""
    dtype = wh.read(table, columns=[column], limit=0).schema[column]
    return ids.select(pl.col("record_id").cast(dtype).alias(column))


def _tickets_of(wh: Warehouse, answers: pl.LazyFrame) -> pl.LazyFrame:
    """The staged tickets the survey ``answers`` name, for their channel."""
    named = answers.select(pl.col("ticket_id").cast(pl.String).alias("record_id")).drop_nulls().unique()
    return _staged(wh, "tickets", named.collect())


def _answers_of_changed_tickets(wh: Warehouse, days: pl.DataFrame | None) -> pl.DataFrame:
    """The survey answers (record_id) whose ticket was restated on ``days`` or is no longer staged."""
    changed = _on_days(wh, "tickets", days) if days is not None else pl.DataFrame(schema=_IDS)
    # an answer whose ticket was never staged has no channel to lose
    had = wh.read("fct_surveys", columns=["ticket_id", "channel"]).filter(pl.col("channel").is_not_null())
    named = had.select("ticket_id").drop_nulls().unique()
    # only the key: whether each ticket is still staged
    staged = _staged(wh, "tickets", named.select(pl.col("ticket_id").alias("record_id")), columns=["ticket_id"])
    present = staged.select(pl.col("ticket_id").cast(pl.String)).collect()
    gone = named.join(present, on="ticket_id", how="anti").select(pl.col("ticket_id").alias("record_id"))
    tickets = pl.concat([changed, gone]).unique()
    if tickets.is_empty():
        return pl.DataFrame(schema=_IDS)
    answers = wh.read(
        "stg_surveys", columns=["response_id"], where_in=_typed(wh, "stg_surveys", "ticket_id", tickets)
    )
    return answers.select(pl.col("response_id").cast(pl.String).alias("record_id"))


def _as(ids: pl.DataFrame, column: str) -> pl.DataFrame:
    return ids.select(pl.col("record_id").alias(column))
