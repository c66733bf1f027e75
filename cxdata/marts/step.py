"""The mart step: build one mart from what is published in the warehouse and publish it.

What one orchestrated mart asset does, without the orchestrator, so a notebook can run the same thing:

    with Warehouse(config.warehouse) as wh:
        mart_step(wh, config, "dim_customer", run_context(wh, config, run_id="notebook"))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import polars as pl

from cxdata import marts
from cxdata.config import ProjectConfig
from cxdata.identity.step import RECORD_KEYS
from cxdata.marts.customer_step import IDENTITY, NAME, dim_customer_step, full_activity, read_contacts
from cxdata.marts.delta import FACT_TOUCHED, INPUTS, fact_delta, fact_touched_rows
from cxdata.marts.incremental import FACT_SOURCES, update_fact
from cxdata.marts.kpis import INPUT_COLUMNS
from cxdata.profile import Profile, table_profile
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse


@dataclass(frozen=True)
class Mart:
    """A mart: the staged or mart tables it reads and how it is built from them."""

    inputs: tuple[str, ...]
    build: Callable[[ProjectConfig, dict[str, pl.LazyFrame | None], RunContext], pl.LazyFrame]
    requires: str | None = None  # the input table without which the mart does not exist
    # inputs the plan uses more than once: read once, only these columns, instead of scanned on every use
    read: dict[str, tuple[str, ...]] | None = None


def _keys(frames: dict[str, pl.LazyFrame | None], table: str) -> pl.LazyFrame:
    keys = frames[RECORD_KEYS]
    assert keys is not None
    return keys.filter(pl.col("source_table") == table)


MARTS: dict[str, Mart] = {
    "fct_orders": Mart(
        ("stg_orders", RECORD_KEYS),
        lambda c, f, r: marts.fct_orders(f["stg_orders"], _keys(f, "orders"), currency=c.currency),
        "orders",
    ),
    "fct_tickets": Mart(
        ("stg_tickets", RECORD_KEYS),
        lambda c, f, r: marts.fct_tickets(f["stg_tickets"], _keys(f, "tickets")),
        "tickets",
    ),
    "fct_surveys": Mart(
        ("stg_surveys", "stg_tickets", RECORD_KEYS),
        lambda c, f, r: marts.fct_surveys(f["stg_surveys"], _keys(f, "surveys"), tickets=f["stg_tickets"]),
        "surveys",
    ),
    "fct_web_sessions": Mart(
        ("stg_web_events", RECORD_KEYS),
        lambda c, f, r: marts.fct_web_sessions(
            f["stg_web_events"], _keys(f, "web_events"), timeout_minutes=c.journey.session_timeout_minutes
        ),
        "web_events",
    ),
    "fct_touches": Mart(
        ("stg_touches", RECORD_KEYS),
        lambda c, f, r: marts.fct_touches(f["stg_touches"], _keys(f, "touches")),
        "touches",
    ),
    "dim_customer": Mart(
        ("fct_orders", "fct_tickets", "fct_surveys", "fct_web_sessions", "fct_touches", RECORD_KEYS, IDENTITY),
        lambda c, f, r: marts.dim_customer(
            r.as_of,
            c.journey,
            orders=f["fct_orders"],
            tickets=f["fct_tickets"],
            surveys=f["fct_surveys"],
            sessions=f["fct_web_sessions"],
            touches=f["fct_touches"],
            record_keys=f[RECORD_KEYS],
            contacts=f[IDENTITY],
            currency=c.currency,
        ),
    ),
    "cx_kpis_daily": Mart(
        ("fct_orders", "fct_tickets", "fct_surveys", "fct_web_sessions", "dim_customer"),
        lambda c, f, r: marts.cx_kpis_daily(
            orders=f["fct_orders"],
            tickets=f["fct_tickets"],
            surveys=f["fct_surveys"],
            sessions=f["fct_web_sessions"],
            customers=f["dim_customer"],
            currency=c.currency,
        ),
        read=INPUT_COLUMNS,
    ),
}


def marts_for(config: ProjectConfig) -> list[str]:
    """The marts a project has: those whose required source it configures, plus the customer-wide ones."""
    return [name for name, mart in MARTS.items() if mart.requires is None or mart.requires in config.sources]


def _read_input(wh: Warehouse, mart: str, table: str) -> pl.LazyFrame | None:
    if table == IDENTITY:
        return read_contacts(wh) if wh.exists(RECORD_KEYS) else pl.LazyFrame(schema=marts.CONTACTS_SCHEMA)
    if not wh.exists(table):
        return None
    read = MARTS[mart].read
    if read is not None and table in read:
        return wh.read(table, columns=list(read[table])).lazy()
    if table != RECORD_KEYS:
        # a scan: the mart's plan decides which columns leave the warehouse
        return wh.scan(table)
    # the record keys of every source are by far the largest input: read only the part a mart uses
    source = MARTS[mart].requires
    if source is not None:
        # and only the columns it joins on (linked_by alone is a string per record)
        columns = ["source_table", "record_id", "customer_key"]
        return wh.read(table, columns=columns, where={"source_table": source}).lazy()
    return wh.read(table, columns=["customer_key"]).lazy()


def mart_step(wh: Warehouse, config: ProjectConfig, name: str, run: RunContext) -> Profile:
    """Build one mart from what is published in the warehouse, as of ``run``'s as_of, and publish it. A fact
    mart of one row per record is updated instead when its last build left a delta to follow
    (`cxdata.marts.incremental`), and dim_customer is projected from customer_activity, brought up to date
    the same way (`cxdata.marts.customer_step`); the profile's facts say which, and why."""
    mart = MARTS[name]
    if name == NAME:
        return dim_customer_step(wh, config, run, lambda table: _read_input(wh, name, table))
    if name not in FACT_SOURCES:
        frame = build_mart(wh, config, name, run)
        return table_profile(frame, wh.publish(name, frame).seconds)
    tables = [t.removeprefix("stg_") for t in mart.inputs if t.startswith("stg_") and wh.exists(t)]
    delta = fact_delta(wh, config, name, tables)
    reason = delta.full_reason
    if reason is None:
        update = update_fact(wh, config, name, run, delta, mart.build)
        if update is not None:
            # the profile describes the table as it is now, not the rows this update replaced
            profile = replace(
                table_profile(update.rows, update.seconds), rows=wh.row_count(name), rewritten=update.keys
            )
            return profile.with_facts(update.facts)
        reason = "an updated row belonged to a customer outside the delta"
    frame = build_mart(wh, config, name, run)
    with wh.transaction() as tx:
        published = tx.publish(name, frame)
        tx.replace_keys(INPUTS, delta.inputs, on="mart")
        tx.append(FACT_TOUCHED, fact_touched_rows(name, run.run_id, None))
    return table_profile(frame, published.seconds).with_facts({"mode": "full", "mode_reason": reason})


def build_mart(wh: Warehouse, config: ProjectConfig, name: str, run: RunContext) -> pl.DataFrame:
    """Mart ``name`` as a full build from what is published now would make it, without publishing it."""
    mart = MARTS[name]
    return mart.build(config, {table: _read_input(wh, name, table) for table in mart.inputs}, run).collect()


def build_activity(wh: Warehouse, config: ProjectConfig, run: RunContext) -> pl.DataFrame:
    """customer_activity as a full build from what is published now would make it, without publishing it."""
    return full_activity(run, lambda table: _read_input(wh, NAME, table), config.currency).collect()
