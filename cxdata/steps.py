"""Warehouse-to-warehouse steps: read published inputs, call the library, publish the result.

Each step is what one orchestrated asset does, without the orchestrator, so a
notebook can run the same thing:

    with Warehouse(config.warehouse) as wh:
        profiles = identity_step(wh, config, run_id="notebook")
        mart_step(wh, config, "dim_customer")
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl

from cxdata import marts
from cxdata.config import ProjectConfig
from cxdata.identity import resolve
from cxdata.identity.records import columns_needed
from cxdata.profile import Profile, table_profile
from cxdata.warehouse import Warehouse

IDENTITY_TABLES = ("customers", "orders", "tickets", "surveys", "web_events", "touches")
RECORD_KEYS = "identity_record_keys"
_PREVIOUS_COLUMNS = ["identifier_type", "identifier_value", "customer_key", "status", "first_seen"]


@dataclass(frozen=True)
class Mart:
    """A mart: the staged or mart tables it reads and how it is built from them."""

    inputs: tuple[str, ...]
    build: Callable[[ProjectConfig, dict[str, pl.LazyFrame | None]], pl.LazyFrame]
    requires: str | None = None  # the input table without which the mart does not exist


def _keys(frames: dict[str, pl.LazyFrame | None], table: str) -> pl.LazyFrame:
    keys = frames[RECORD_KEYS]
    assert keys is not None
    return keys.filter(pl.col("source_table") == table)


def _as_of(config: ProjectConfig, frames: dict[str, pl.LazyFrame | None]) -> dt.datetime:
    if config.as_of is not None:
        return end_of_day(config.as_of, config.timezone)
    return marts.as_of_default(
        orders=frames.get("fct_orders"),
        tickets=frames.get("fct_tickets"),
        surveys=frames.get("fct_surveys"),
        sessions=frames.get("fct_web_sessions"),
        touches=frames.get("fct_touches"),
    )


def end_of_day(day: dt.date, timezone: str) -> dt.datetime:
    """The last microsecond of ``day`` in the project's zone, in UTC: everything up to it counts as of that day."""
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=ZoneInfo(timezone))
    return (midnight - dt.timedelta(microseconds=1)).astimezone(dt.UTC)


MARTS: dict[str, Mart] = {
    "fct_orders": Mart(
        ("stg_orders", RECORD_KEYS), lambda c, f: marts.fct_orders(f["stg_orders"], _keys(f, "orders")), "orders"
    ),
    "fct_tickets": Mart(
        ("stg_tickets", RECORD_KEYS),
        lambda c, f: marts.fct_tickets(f["stg_tickets"], _keys(f, "tickets")),
        "tickets",
    ),
    "fct_surveys": Mart(
        ("stg_surveys", "stg_tickets", RECORD_KEYS),
        lambda c, f: marts.fct_surveys(f["stg_surveys"], _keys(f, "surveys"), tickets=f["stg_tickets"]),
        "surveys",
    ),
    "fct_web_sessions": Mart(
        ("stg_web_events", RECORD_KEYS),
        lambda c, f: marts.fct_web_sessions(
            f["stg_web_events"], _keys(f, "web_events"), timeout_minutes=c.journey.session_timeout_minutes
        ),
        "web_events",
    ),
    "fct_touches": Mart(
        ("stg_touches", RECORD_KEYS),
        lambda c, f: marts.fct_touches(f["stg_touches"], _keys(f, "touches")),
        "touches",
    ),
    "dim_customer": Mart(
        ("fct_orders", "fct_tickets", "fct_surveys", "fct_web_sessions", "fct_touches", RECORD_KEYS),
        lambda c, f: marts.dim_customer(
            _as_of(c, f),
            c.journey,
            orders=f["fct_orders"],
            tickets=f["fct_tickets"],
            surveys=f["fct_surveys"],
            sessions=f["fct_web_sessions"],
            touches=f["fct_touches"],
            record_keys=f[RECORD_KEYS],
        ),
    ),
    "cx_kpis_daily": Mart(
        ("fct_orders", "fct_tickets", "fct_surveys", "fct_web_sessions"),
        lambda c, f: marts.cx_kpis_daily(
            orders=f["fct_orders"],
            tickets=f["fct_tickets"],
            surveys=f["fct_surveys"],
            sessions=f["fct_web_sessions"],
        ),
    ),
}


def marts_for(config: ProjectConfig) -> list[str]:
    """The marts a project has: those whose required source it configures, plus the customer-wide ones."""
    return [name for name, mart in MARTS.items() if mart.requires is None or mart.requires in config.sources]


def _read_input(wh: Warehouse, mart: str, table: str) -> pl.LazyFrame | None:
    if not wh.exists(table):
        return None
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


def mart_step(wh: Warehouse, config: ProjectConfig, name: str) -> Profile:
    """Build one mart from what is published in the warehouse and publish it."""
    mart = MARTS[name]
    frames = {table: _read_input(wh, name, table) for table in mart.inputs}
    frame = mart.build(config, frames).collect()
    published = wh.publish(name, frame)
    return table_profile(frame, published.seconds)


class _StagedInputs(Mapping[str, pl.LazyFrame]):
    """The staged identity inputs, as warehouse scans that resolution reads a column at a time.

    Resolution takes one table at a time and keeps only its record ids, times and the hashes of its identifiers,
    so reading on access lets each identifier column's strings go before the next is read instead of holding
    every input (a third of this step's peak memory) until resolution ends.
    """

    def __init__(self, wh: Warehouse, tables: list[str], config: ProjectConfig) -> None:
        self._wh, self._tables, self._probabilistic = wh, tables, config.identity.probabilistic.enabled

    def __getitem__(self, table: str) -> pl.LazyFrame:
        if table not in self._tables:
            raise KeyError(table)
        name = f"stg_{table}"
        # only keys, times and identifiers: the other columns would multiply this step's memory
        return self._wh.scan(name).select(columns_needed(table, self._wh.columns(name), self._probabilistic))

    def __contains__(self, table: object) -> bool:
        return table in self._tables  # without reading it, as Mapping's own test would

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)


def identity_step(
    wh: Warehouse, config: ProjectConfig, run_id: str, now: dt.datetime | None = None
) -> dict[str, Profile]:
    """Resolve identities over the staged tables, keeping keys stable against the previous run's mapping."""
    tables = _StagedInputs(wh, [t for t in IDENTITY_TABLES if t in config.sources], config)
    # only what keys are inherited by: blocked and shared rows carry no key, and the other columns are
    # gigabytes at millions of identifiers; read lazily, when the keys are assigned after the graph is built
    previous = (
        wh.scan("customer_identity", where={"status": "linked"}).select(_PREVIOUS_COLUMNS)
        if wh.exists("customer_identity")
        else None
    )
    result = resolve(tables, config.identity, previous=previous, run_id=run_id, now=now or dt.datetime.now(dt.UTC))
    facts = {**result.stats, "merges_this_run": result.identity_merges.height}
    outputs = {
        "identity_merges": result.identity_merges,
        RECORD_KEYS: result.record_keys,
        "customer_identity": result.customer_identity,
    }
    # the result's explanations hold the graph and every record, gigabytes that publishing does not need;
    # each output, too, goes as soon as it is staged
    del result, previous
    profiles = {}
    # keys and their merge log change together or not at all: a crash between them would lose the log
    with wh.transaction() as tx:
        for name in list(outputs):
            frame = outputs.pop(name)
            # the merge log keeps every run's events: this run's are added to what is there
            staged = tx.append(name, frame) if name == "identity_merges" else tx.publish(name, frame)
            profiles[name] = table_profile(frame, staged.seconds)
            del frame
    profiles["customer_identity"] = profiles["customer_identity"].with_facts(facts)
    return profiles


@dataclass(frozen=True)
class StageReport:
    """What `stage_step` published: profiles of the staged and the quarantine table, and the audit row."""

    staged: Profile
    quarantine: Profile
    audit: dict[str, object]


def stage_step(wh: Warehouse, config: ProjectConfig, table: str, run_id: str) -> StageReport:
    """Ingest one source with its row rules: publish stg_ and quarantine_<table>, append to ``load_audit``.

    The quarantine table is published on every run, empty when nothing failed,
    so BI shows a zero rather than last run's rows. Over the table's
    quarantine limit, `QuarantineError` is raised only after all three are
    published, so the data team can look at what was held back.
    """
    # Imported here so that this step, added last, leaves the module's shared import block alone.
    from cxdata.io.staging import stage_table
    from cxdata.profile import staging_profile
    from cxdata.validate.quarantine import by_rule, share, threshold_error

    staged = stage_table(config, table)
    audit = {"run_id": run_id, **staged.audit}
    # the staged rows, the rows held back and the audit that counts both change together
    with wh.transaction() as tx:
        stg = tx.publish(f"stg_{table}", staged.accepted)
        held = tx.publish(f"quarantine_{table}", staged.quarantined)
        # The audit keeps every run's loads: this load's row is added to what was there.
        tx.append("load_audit", pl.DataFrame([audit], schema_overrides={"loaded_at": pl.Datetime("us", "UTC")}))
    facts = {
        "rows_in": audit["rows_in"],
        "rows_accepted": audit["rows_accepted"],
        "rows_quarantined": audit["rows_quarantined"],
        "quarantine_share": round(share(int(audit["rows_in"]), int(audit["rows_quarantined"])), 6),
        "quarantine_threshold": audit["threshold"],
        "quarantined_by_rule": by_rule(staged.quarantined) or "none",
    }
    report = StageReport(
        staging_profile(staged.accepted, table, str(audit["source"]), stg.seconds).with_facts(facts),
        table_profile(staged.quarantined, held.seconds).with_facts(facts),
        audit,
    )
    if not staged.passed:
        raise threshold_error(staged.audit, staged.quarantined, report)
    return report
