"""Retention: the raw rows of an event table are kept `privacy.retain_days` days, counted back from the run's
day in the project's zone; older days are purged on every run and never staged again.

    from cxdata.privacy.retention import expired_before, purge_expired
    purge_expired(wh, config, run_id, now)        # after staging, before identity

A day is *expired* when it lies before ``expired_before`` (today minus the table's retain_days). Three things
keep it gone, so an incremental run and a full rebuild from the same files agree:

- ingest drops the expired rows it reads (`cxdata.io.staging.stage_table`), counted in
  `load_audit.rows_expired`, whatever reads them (a whole load, a restated day tied by a key, a backfill);
- staging by day never plans an expired day (`cxdata.io.partitions.plan`) nor records one;
- `purge_expired` deletes the expired days' rows from ``stg_<table>`` and ``quarantine_<table>`` and their
  ``stg_partitions`` rows, in one transaction with its `retention_log` rows. Identity and the fact marts
  then find those days gone (`cxdata.io.consumed.changed_days`): their records leave the identity graph and
  the facts on that run, as when a source file is emptied.

Rows without a day (an unreadable event time, held in quarantine) have no age and stay until their files
change. The identity graph and the marts keep nothing of a purged record: its links, keys and fact rows go
with it; what was computed from it before (model fits, history rows of scores) is aggregate or keyed by
customer and stays.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl

from cxdata.config import ProjectConfig
from cxdata.schema import PARTITION_COLUMN
from cxdata.warehouse import Warehouse

RETENTION_LOG = "retention_log"
STAGED = "stg_partitions"  # cxdata.io.partitions.STAGED, which imports this module's caller


def expired_before(config: ProjectConfig, table: str, now: dt.datetime) -> dt.date | None:
    """The first day of ``table`` still kept at ``now`` (earlier days are expired); None when kept forever."""
    days = config.privacy.retain_days.get(table)
    if days is None:
        return None
    return now.astimezone(ZoneInfo(config.timezone)).date() - dt.timedelta(days=days)


def purge_expired(wh: Warehouse, config: ProjectConfig, run_id: str, now: dt.datetime) -> pl.DataFrame:
    """Delete the expired days of every table with a retention from its staged and quarantine tables; the
    `retention_log` rows written (one per table purged from)."""
    log = []
    with wh.transaction() as tx:
        for table in sorted(t for t in config.privacy.retain_days if t in config.sources):
            cutoff = expired_before(config, table, now)
            days = _expired_days(wh, table, cutoff)
            if days.is_empty():
                continue
            for name in (f"stg_{table}", f"quarantine_{table}"):
                if wh.exists(name) and PARTITION_COLUMN in wh.columns(name):
                    purged = tx.delete_keys(name, days, [PARTITION_COLUMN])
                    log.append((run_id, now, table, name, cutoff, days.height, purged))
            tx.delete_keys(
                STAGED, days.with_columns(source_table=pl.lit(table)), ["source_table", PARTITION_COLUMN]
            )
        rows = pl.DataFrame(
            log,
            schema={"run_id": pl.String, "purged_at": pl.Datetime("us", "UTC"), "source_table": pl.String,
                    "table_name": pl.String, "expired_before": pl.Date, "days": pl.Int64, "rows_purged": pl.Int64},
            orient="row",
        )  # fmt: skip
        if rows.height or not wh.exists(RETENTION_LOG):
            tx.append(RETENTION_LOG, rows)
    return rows


def _expired_days(wh: Warehouse, table: str, cutoff: dt.date | None) -> pl.DataFrame:
    """The staged days of ``table`` before ``cutoff`` (each staged day has its ``stg_partitions`` row)."""
    empty = pl.DataFrame(schema={PARTITION_COLUMN: pl.Date})
    if cutoff is None or not wh.exists(STAGED):
        return empty
    staged = wh.read(STAGED, columns=[PARTITION_COLUMN], where={"source_table": table})
    old = staged.cast({PARTITION_COLUMN: pl.Date}).filter(pl.col(PARTITION_COLUMN) < cutoff)
    return old.unique().sort(PARTITION_COLUMN)
