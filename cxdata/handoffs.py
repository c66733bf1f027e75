"""What one step of a sharded run hands to the next, kept in the warehouse: the ``shard_handoffs`` table.

The steps of a run in customer shards (`cxdata.churn.sharded`, `cxdata.touchpoints.sharded`) run in other
processes, possibly on other machines (celery or Kubernetes workers), and the warehouse is the one store
they all reach. A handoff is one Python value (a shard's partial sums, the global fits, a shard's scores),
pickled, under the key (run_id, step_key, output_name) of the step that made it; the next step loads it by
that key. A retried step replaces its own row. The publishing step drops its run's handoffs, and those
older than `KEEP_DAYS` that failed runs left behind (`drop_finished`).

The payload is a checksummed pickle (`cxdata.sealed`), loaded only from this warehouse.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from cxdata.errors import CxdataError
from cxdata.sealed import intact, seal, unseal
from cxdata.warehouse import Warehouse

TABLE = "shard_handoffs"
KEEP_DAYS = 7  # a failed run's handoffs stay this long, for a re-execution from the failed step
COLUMNS: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "step_key": pl.String(),
    "output_name": pl.String(),
    "sha256": pl.String(),
    "bytes": pl.Int64(),
    "payload": pl.Binary(),
    "written_at": pl.Datetime("us", "UTC"),
}


class MissingHandoff(CxdataError):
    """A step's input was never written, was dropped, or does not match its checksum."""


def put(wh: Warehouse, key: tuple[str, str, str], value: Any) -> int:
    """Store ``value`` under ``key`` (run_id, step_key, output_name), replacing its row; the size in bytes."""
    run_id, step_key, output_name = key
    replace = {"run_id": run_id, "step_key": step_key, "output_name": output_name}
    row = {**replace, **seal(value), "written_at": dt.datetime.now(dt.UTC)}
    wh.append(TABLE, pl.DataFrame([row], schema=COLUMNS), replace=replace)
    return row["bytes"]


def get(wh: Warehouse, key: tuple[str, str, str]) -> Any:
    """The value stored under ``key``; `MissingHandoff` says why there is none."""
    run_id, step_key, output_name = key
    named = f"the output {output_name!r} of step {step_key!r} in run {run_id}"
    if not wh.exists(TABLE):
        raise MissingHandoff(f"{named} was never stored: {TABLE} does not exist")
    rows = wh.read(TABLE, where={"run_id": run_id, "step_key": step_key, "output_name": output_name})
    if rows.height != 1:
        raise MissingHandoff(f"{named}: {rows.height} rows stored in {TABLE}, expected 1 (dropped after its run?)")
    row = rows.row(0, named=True)
    if not intact(row):
        raise MissingHandoff(f"{named}: the stored bytes do not match their sha256 and length")
    return unseal(row)


def drop_finished(wh: Warehouse, run_id: str, now: dt.datetime) -> list[str]:
    """Delete the handoffs of ``run_id`` (its publishing step is done) and of runs whose last handoff is
    `KEEP_DAYS` older than ``now``; the run ids dropped."""
    if not wh.exists(TABLE):
        return []
    # a few rows per shard and run: read without their payloads
    runs = wh.read(TABLE, columns=["run_id", "written_at"]).group_by("run_id").agg(pl.col("written_at").max())
    cutoff = now - dt.timedelta(days=KEEP_DAYS)
    stale = runs.filter((pl.col("run_id") == run_id) | (pl.col("written_at") < cutoff))["run_id"].sort()
    if stale.len():
        wh.append(TABLE, pl.DataFrame(schema=COLUMNS), replace={"run_id": stale.to_list()})
    return stale.to_list()
