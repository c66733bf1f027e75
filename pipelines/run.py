"""The run context of a Dagster run: the same id, start and as_of in every step, in every process.

One `cxdata run` is several Dagster runs in a row (its phases, `pipelines.phases`): the staging of event
days, then everything else. They share one cxdata run: every phase run carries the tag ``cxdata/run_id``
(RUN_TAG) naming the first phase's Dagster run, and a step takes its run id and start from that run. A run
without the tag (an asset materialised alone in the UI) is a cxdata run of its own.

``now`` is the cxdata run's start as the run record holds it, so steps running in
other processes (the multiprocess executor on PostgreSQL) read the same
moment. ``as_of`` is resolved by the first step that needs it and stored in the
``run_context`` table; later steps of the run read it from there
(`cxdata.run_context.run_context`).
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from cxdata.config import ProjectConfig
from cxdata.run_context import RunContext
from cxdata.run_context import run_context as resolve
from cxdata.warehouse import Warehouse

Context = dg.AssetExecutionContext | dg.AssetCheckExecutionContext
# The Dagster run whose id and start the run's steps share: the first phase of one `cxdata run`.
RUN_TAG = "cxdata/run_id"


def run_id(context: Context) -> str:
    """The cxdata run id of the step: the ``cxdata/run_id`` tag's, else the Dagster run's own."""
    return context.run.tags.get(RUN_TAG) or context.run.run_id


def run_start(context: Context) -> dt.datetime:
    """When the step's cxdata run started, UTC, from its run record: every step of its phases gets the same
    moment."""
    record = context.instance.get_run_record_by_id(run_id(context))
    if record is None:  # the tag names a run this instance never stored: the phase's own start
        record = context.instance.get_run_record_by_id(context.run.run_id)
    if record is None:  # not stored (an ephemeral instance has every run it executes): no other moment is known
        raise dg.DagsterInvariantViolationError(f"run {context.run.run_id} has no run record")
    if record.start_time is not None:
        return dt.datetime.fromtimestamp(record.start_time, dt.UTC)
    created = record.create_timestamp
    return created if created.tzinfo is not None else created.replace(tzinfo=dt.UTC)


def run_context(context: Context, wh: Warehouse, config: ProjectConfig) -> RunContext:
    """The step's run context: the one an earlier step of the run stored, else resolved now and stored."""
    return resolve(wh, config, run_id(context), run_start(context))
