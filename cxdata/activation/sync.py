"""Change-only syncs of a segment to a named destination: deliver what is pending, plan the next, deliver it.

    with Warehouse(config.warehouse, config.warehouse_schema) as wh:
        report = sync(wh, config, "meta_winback", dt.datetime.now(dt.UTC), by="notebook")

A sync first delivers the destination's planned syncs that a failure or a crash left undelivered, in order
(stopping at the first that fails: later changes must not overtake earlier ones), then plans the next
(`cxdata.activation.plan`) and delivers it (`cxdata.activation.deliver`). One sync of a destination runs at a
time: on PostgreSQL a session advisory lock per schema and destination, on DuckDB the file's single writer
(and a lock per process).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import polars as pl
import sqlalchemy as sa

from cxdata.activation.deliver import SyncError, deliver
from cxdata.activation.plan import PLANNED, plan_sync, read_runs
from cxdata.config import ProjectConfig
from cxdata.warehouse import Warehouse
from cxdata.warehouse.types import POSTGRESQL

_LOCAL_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_LOCAL_GUARD = threading.Lock()


@dataclass
class SyncReport:
    """What `sync` did: the earlier syncs it delivered, and the sync it planned (a sync_runs row, delivered
    unless it failed or had nothing to send)."""

    destination: str
    retried: list[dict[str, object]] = field(default_factory=list)
    planned: dict[str, object] | None = None


def sync(
    wh: Warehouse, config: ProjectConfig, name: str, now: dt.datetime, by: str,
    environ: Mapping[str, str] | None = None,
) -> SyncReport:  # fmt: skip
    """Bring destination ``name`` up to its segment at the latest scoring (see the module); ``by`` names the
    run or command in sync_runs. Raises SyncError when a delivery fails (the sync stays planned, recorded
    with its error, and is delivered first next time)."""
    destinations = config.activation.destinations
    if name not in destinations:
        known = ", ".join(sorted(destinations)) or "none (add activation.destinations to cxdata.yaml)"
        raise SyncError(f"no destination {name!r} in activation.destinations; known: {known}")
    report = SyncReport(name)
    with _one_at_a_time(wh, name):
        runs = read_runs(wh, name)
        for run in runs.filter(pl.col("status") == PLANNED).iter_rows(named=True):
            report.retried.append(deliver(wh, config, name, run, now, environ).row(0, named=True))
        planned = plan_sync(wh, config, name, now, by, runs).row(0, named=True)
        report.planned = planned
        if planned["status"] == PLANNED:
            report.planned = deliver(wh, config, name, planned, now, environ).row(0, named=True)
    return report


def last_syncs(wh: Warehouse, config: ProjectConfig) -> pl.DataFrame:
    """Per configured destination: its segment and its latest sync (seq, as_of, status, adds, removes,
    delivered_at, last_error), null before the first."""
    names = pl.DataFrame({"destination": list(config.activation.destinations)}, schema={"destination": pl.String})
    segments = [d.segment for d in config.activation.destinations.values()]
    names = names.with_columns(pl.Series("segment", segments, pl.String))
    latest = [read_runs(wh, name).tail(1) for name in config.activation.destinations]
    runs = pl.concat(latest).drop("segment") if latest else read_runs(wh, "").drop("segment")
    columns = ["seq", "as_of", "status", "adds", "removes", "delivered_at", "last_error"]
    return names.join(runs.select("destination", *columns), on="destination", how="left")


@contextmanager
def _one_at_a_time(wh: Warehouse, name: str) -> Iterator[None]:
    if wh.dialect != POSTGRESQL:
        key = (str(wh.engine.url.database), name)
        with _LOCAL_GUARD:
            lock = _LOCAL_LOCKS.setdefault(key, threading.Lock())
        if not lock.acquire(blocking=False):
            raise SyncError(f"a sync of destination {name!r} is already running")
        try:
            yield
        finally:
            lock.release()
        return
    lock_key = {"key": f"cxdata-sync:{wh.schema}:{name}"}
    with wh.engine.connect() as conn:
        taken = conn.execute(sa.text("select pg_try_advisory_lock(hashtext(:key))"), lock_key).scalar_one()
        conn.commit()
        if not taken:
            raise SyncError(f"a sync of destination {name!r} is already running")
        try:
            yield
        finally:
            conn.execute(sa.text("select pg_advisory_unlock(hashtext(:key))"), lock_key)
            conn.commit()
