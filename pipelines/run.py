"""The run context of a Dagster run: the same id, start and as_of in every step, in every process.

``now`` is the run's start as the run record holds it, so steps running in
other processes (the multiprocess executor on PostgreSQL) read the same
moment. ``as_of`` is resolved by the first step that needs it and stored in the
``run_context`` table; later steps of the run read it from there
(`cxdata.run_context.run_context`). An asset materialised alone in the UI is a
run of its own and resolves its own context the same way.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from cxdata.config import ProjectConfig
from cxdata.run_context import RunContext
from cxdata.run_context import run_context as resolve
from cxdata.warehouse import Warehouse

Context = dg.AssetExecutionContext | dg.AssetCheckExecutionContext


def run_start(context: Context) -> dt.datetime:
    """When the step's run started, UTC, from the run record: every step of a run gets the same moment."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    if record is None:  # not stored (an ephemeral instance has every run it executes): no other moment is known
        raise dg.DagsterInvariantViolationError(f"run {context.run.run_id} has no run record")
    if record.start_time is not None:
        return dt.datetime.fromtimestamp(record.start_time, dt.UTC)
    created = record.create_timestamp
    return created if created.tzinfo is not None else created.replace(tzinfo=dt.UTC)


def run_context(context: Context, wh: Warehouse, config: ProjectConfig) -> RunContext:
    """The step's run context: the one an earlier step of the run stored, else resolved now and stored."""
    return resolve(wh, config, context.run.run_id, run_start(context))
