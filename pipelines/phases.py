"""The phases of one update: the daily-partitioned staging of event days, then every other asset.

One Dagster job cannot mix partitions definitions, so a `cxdata run` is two runs in a row on one instance
(automation starts the same assets' runs on its own conditions, `pipelines.automation`):

1. ``cxdata_staging`` (STAGING_JOB): the staging assets of the event sources read from files, over a range
   of daily partitions given by the range tags. `cxdata run` restages the days the library finds stale
   (`cxdata.io.partitions.days_to_stage`; a first load or a full refresh loads whole, as the last
   partition, as is a run with nothing stale, which still restages the rows without a day: `restage_range`);
2. ``cxdata_build`` (BUILD_JOB): everything else, unpartitioned: snapshot and SQL sources are staged here,
   whole, on every run, then identity, marts, models, checks, alerts, the report.

Both runs carry ``cxdata/run_id`` (`pipelines.run.RUN_TAG`), so their steps share one run id, start and as_of.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

import dagster as dg

from cxdata.config import ProjectConfig
from cxdata.errors import CxdataError
from cxdata.io.partitions import days_to_stage, file_sources
from cxdata.warehouse import Warehouse, WarehouseError
from pipelines.reconstruct import reconstructable_phase, runs_out_of_process
from pipelines.run import RUN_TAG
from pipelines.staging import FULL_REFRESH_TAG, daily_partitions

if TYPE_CHECKING:  # what define_asset_job returns; dagster does not export the class
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition as AssetJob,
    )

STAGING_JOB = "cxdata_staging"
BUILD_JOB = "cxdata_build"
# On the runs `cxdata run` starts itself, to tell them apart from automated runs in the UI.
RUNNER_TAG = "cxdata/runner"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
# The staging assets' freshness check (pipelines/automation.py): automation runs it on its own, outside the
# phase jobs, so a `cxdata run` of past data does not report it.
FRESHNESS_CHECK = "latest_day_staged"


def partitioned_keys(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    """The assets of phase 1: those partitioned by day (the event sources' staging)."""
    return sorted((key for a in assets if a.partitions_def is not None for key in a.keys), key=str)


def phase_jobs(assets: Sequence[dg.AssetsDefinition]) -> list[AssetJob]:
    """The build job over every unpartitioned asset, preceded by the staging job when any asset is
    partitioned."""
    staged = partitioned_keys(assets)
    build = dg.define_asset_job(
        BUILD_JOB,
        selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*staged),
        description="Everything after the staging of event days: snapshot and SQL sources, identity, marts, "
        "models, alerts and the report.",
    )
    if not staged:
        return [build]
    staging = dg.define_asset_job(
        STAGING_JOB,
        selection=dg.AssetSelection.assets(*staged)
        - dg.AssetSelection.checks(*(dg.AssetCheckKey(key, FRESHNESS_CHECK) for key in staged)),
        description="The event sources' staging over a range of days: run it with a partition range (a "
        "backfill restates days before the lookback too); the build job follows.",
    )
    return [staging, build]


def range_tags(config: ProjectConfig, first: dt.date, last: dt.date) -> dict[str, str]:
    """The run tags of a staging run over the partitions from ``first`` to ``last``, each held inside the
    partitions (the first and last partition hold the days beyond them)."""
    partitions = daily_partitions(config)
    low = dt.date.fromisoformat(partitions.get_first_partition_key())
    high = dt.date.fromisoformat(partitions.get_last_partition_key())
    start, end = (min(max(day, low), high) for day in (first, last))
    return {RANGE_START: start.isoformat(), RANGE_END: end.isoformat()}


def lookback_tags(config: ProjectConfig, today: dt.date) -> dict[str, str]:
    """The range tags of the days a daily run restates without reading the warehouse: the lookback window
    ending ``today``."""
    return range_tags(config, today - dt.timedelta(days=config.incremental.lookback_days), today)


def restage_range(config: ProjectConfig) -> tuple[dt.date, dt.date]:
    """The first and last day phase 1 of a run restages: spanning the stale days of the event sources staged
    by day, else the last partition. A source loaded whole (never staged by day, or in a full refresh) does
    not widen the range: it loads whole in any range, while Dagster writes two events per partition of a range
    (minutes for a 900-day history on the sqlite instance). A source the library cannot plan (a missing file,
    an unreadable one), or a warehouse that cannot be read now, adds nothing: the staging steps run and say
    what is wrong (retrying a transient warehouse error)."""
    found: list[dt.date] = []
    try:
        with Warehouse(config.warehouse, schema=config.warehouse_schema) as wh:
            for table in sorted(config.sources):
                if file_sources(config, table):
                    try:
                        found.extend(days_to_stage(wh, config, table) or ())
                    except CxdataError:
                        continue
    except WarehouseError:
        found = []
    return (min(found), max(found)) if found else (dt.date.max, dt.date.max)


def run_phases(
    defs: dg.Definitions,
    config: ProjectConfig,
    instance: dg.DagsterInstance,
    tags: dict[str, str] | None = None,
    run_config: dict | None = None,
    build: Sequence[dg.AssetKey] | None = None,
    as_of: str | None = None,
) -> dict[str, dg.ExecuteInProcessResult | dg.JobExecutionResult]:
    """The phases of one cxdata run, by job name: the staging of the days to restage (`restage_range`), in
    process, then, unless it failed, the build (only ``build``'s assets, when given; none when empty), in
    process or, when the project runs in shards or names an executor (`runs_out_of_process`), on that
    executor (each step a process or a celery task; ``as_of`` is the command line's, for the definitions the
    steps rebuild). The first run's Dagster id is the cxdata run id both carry; a full refresh when ``tags``
    say so."""
    tags = dict(tags or {})
    tags.setdefault(RUN_TAG, str(uuid.uuid4()))
    names = {job.name for job in defs.jobs or ()}
    results: dict[str, dg.ExecuteInProcessResult] = {}
    if STAGING_JOB in names:
        full = tags.get(FULL_REFRESH_TAG) == "true"
        restaged = (dt.date.max, dt.date.max) if full else restage_range(config)
        results[STAGING_JOB] = defs.resolve_job_def(STAGING_JOB).execute_in_process(
            run_config=run_config,
            instance=instance,
            raise_on_error=False,
            tags=tags | range_tags(config, *restaged),
            run_id=tags[RUN_TAG],
        )
        if not results[STAGING_JOB].success:
            return results
    if build is not None and not build:  # only the staging was asked for
        return results
    if runs_out_of_process(config):
        job = reconstructable_phase(config, BUILD_JOB, as_of)
        # the phase's own loggers: a step process cannot call back into this one
        console = {"loggers": {"console": (run_config or {}).get("loggers", {}).get("console", {})}}
        results[BUILD_JOB] = dg.execute_job(
            job, instance, run_config=console, tags=tags, raise_on_error=False, asset_selection=build
        )
        return results
    results[BUILD_JOB] = defs.resolve_job_def(BUILD_JOB).execute_in_process(
        run_config=run_config,
        instance=instance,
        raise_on_error=False,
        tags=tags,
        run_id=None if results else tags[RUN_TAG],
        asset_selection=build,
    )
    return results
