"""The staging asset factory: one `stg_<table>` asset per configured input table.

Event sources read from files are partitioned by day in the project's zone (`daily_partitions`): a run of a
range of partitions (a `cxdata run`'s first phase, an automated run, a backfill from the UI) restates the days of
that range that the files hold or that were staged before. The first partition also holds every earlier day
and the last one (today) every later day, so no row falls outside the partitions; rows without a readable
time (the null partition) are restaged with every load. Snapshot sources and SQL queries are unpartitioned and
loaded whole.
"""

# No postponed annotations here: Dagster reads the `context` annotation when it defines the asset.

import datetime as dt
import warnings

import dagster as dg

from cxdata import schema
from cxdata.config import ProjectConfig
from cxdata.errors import QuarantineError
from cxdata.io.partitions import days_between, days_to_stage, file_sources
from cxdata.io.step import stage_step
from cxdata.warehouse import Warehouse
from pipelines import checks
from pipelines.metadata import to_metadata
from pipelines.resources import ProjectResource, WarehouseResource
from pipelines.run import run_id, run_start

# A run tagged so loads every source whole instead of the stale days of its event tables.
FULL_REFRESH_TAG = "cxdata/full_refresh"
# The first daily partition when the config sets no `incremental.start_date`: the definitions cannot read the
# warehouse when they load, so an early fixed day; the first partition holds every day before it anyway.
DEFAULT_START = dt.date(2000, 1, 1)


def daily_partitions(config: ProjectConfig) -> dg.DailyPartitionsDefinition:
    """The days of the event sources, in the project's zone, from `incremental.start_date` to today."""
    start = config.incremental.start_date or DEFAULT_START
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone=config.timezone, end_offset=1)


def staging_asset(
    config: ProjectConfig,
    table: str,
    group: str,
    kinds: set[str],
    partitions: dg.DailyPartitionsDefinition | None = None,
) -> dg.AssetsDefinition:
    """An asset that ingests one source onto the contract, quarantines bad rows, publishes atomically and
    checks what it published; daily ``partitions`` for an event source staged by day."""
    spec = schema.table(table)

    with warnings.catch_warnings():
        # backfill_policy is beta in Dagster 1.13; a one-run backfill is what staging by day relies on
        warnings.simplefilter("ignore", dg.BetaWarning)
        decorate = dg.asset(
            name=f"stg_{table}",
            group_name=group,
            kinds=kinds,
            description=f"{spec.name} from the {spec.system} system, mapped onto the input contract, "
            "timestamps in UTC, unknown source columns kept. Rows failing the row rules go to "
            f"quarantine_{table}; every load is counted in load_audit.",
            tags={"layer": "staging"},
            partitions_def=partitions,
            # the source's files, observed by automation (pipelines/automation.py); none for a query source
            deps=[f"raw_{table}"] if config.sources[table].path is not None else None,
            backfill_policy=dg.BackfillPolicy.single_run() if partitions is not None else None,
            check_specs=checks.quality_specs(config, [f"stg_{table}"]),
        )

    @decorate
    def _stage(
        context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        config = project.load()
        full = context.run.tags.get(FULL_REFRESH_TAG) == "true"
        with warehouse.get() as wh:
            try:
                days = None if full else _days(context, wh, config, table, partitions)
                report = stage_step(wh, config, table, run_id(context), run_start(context), days=days)
                staged = f"stg_{table}"
                rewritten = {staged: report.staged.rewritten}
                checked = checks.quality_results(context, wh, config, staged, rewritten=rewritten)
            except QuarantineError as exc:
                # The quarantine preview and counts, not the staged table's: that is what the team must look at.
                held = to_metadata(exc.report.quarantine, f"quarantine_{table}")
                shown = {key: value for key, value in held.items() if not key.startswith("dagster/")}
                raise dg.Failure(description=str(exc), metadata=shown) from exc
        if int(report.audit.get("rows_late") or 0):
            context.log.warning(
                f"stg_{table}: {report.audit['rows_late']} rows on days before the lookback changed "
                f"in their files ({report.staged.facts['late_days']}); backfill those partitions to load them"
            )
        return dg.MaterializeResult(metadata=to_metadata(report.staged, f"stg_{table}"), check_results=checked)

    return _stage


def _days(
    context: dg.AssetExecutionContext,
    wh: Warehouse,
    config: ProjectConfig,
    table: str,
    partitions: dg.DailyPartitionsDefinition | None,
) -> tuple[dt.date, ...] | None:
    """The days the step restates: those of its partition range (widened at the first and last partition);
    unpartitioned, the stale days (`days_to_stage`)."""
    if partitions is None:
        return days_to_stage(wh, config, table)
    first, last = range_days(partitions, context.partition_key_range)
    return days_between(wh, config, table, first, last)


def range_days(
    partitions: dg.DailyPartitionsDefinition, keys: dg.PartitionKeyRange
) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day of a partition range; None for an end at the first or last partition, which
    also holds every earlier or later day."""
    first = None if keys.start == partitions.get_first_partition_key() else dt.date.fromisoformat(keys.start)
    last = None if keys.end == partitions.get_last_partition_key() else dt.date.fromisoformat(keys.end)
    return first, last


def staging_assets(config: ProjectConfig, group: str, tables: tuple[str, ...]) -> list[dg.AssetsDefinition]:
    """Staging assets for those tables of one domain that the project configures; the event sources read
    from files partitioned by day."""
    kinds = {"polars", config.warehouse_kind}
    daily = daily_partitions(config)
    return [
        staging_asset(config, t, group, kinds, daily if file_sources(config, t) else None)
        for t in tables
        if t in config.sources
    ]
