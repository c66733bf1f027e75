"""Automation: Dagster's declarative automation (``AutomationCondition``) over the phase jobs, freshness,
the run-failure sensor and transient-error retries.

A job cannot mix partitions definitions, so `cxdata run` runs the graph as the two phase jobs of
`pipelines.phases` (``cxdata_staging``, ``cxdata_build``). Between `cxdata run`s, the automation condition
sensor ``cxdata_automation`` (starts stopped: turn it on in the UI, with the daemon running) starts the runs
the conditions ask for:

- ``raw_<table>``: an observable source per file source. An event source is partitioned by day like its
  staging and observed every 5 minutes as one run (``cron_tick_passed`` within the latest time window: on
  its own it would ask for one run per day of history); the observation returns the version of each day
  whose files differ from those it was staged from (`cxdata.io.arrivals.day_stamps`: the manifest, reading
  only new or changed files). A snapshot source's version is its files' names, times and sizes
  (`snapshot_stamp`);
- a staging asset of an event source restages the days whose ``raw_`` version changed inside the
  lookback window (``incremental.lookback_days`` + 1 days ending today): ``eager`` over every partition of
  that window, not only the latest. Older changed days wait for a backfill from the UI (their rows are
  counted late, as in `cxdata run`);
- a staging asset of a query source runs daily at 06:00 in the project's zone (``on_cron``): a query cannot
  be observed without running it on the source system;
- every other asset, unpartitioned, follows its dependencies: ``eager`` without its "no dependency
  missing" part, since a day without data (a staging partition never materialised) would otherwise hold the
  whole build back for good. Snapshot staging follows its ``raw_`` source the same way;
- ``<stg_table>:latest_day_staged`` (`staging_freshness`): on each staging asset, whether the last full
  day before 07:00 (project zone) has been staged; evaluated at 07:00 and after every staging of the asset
  (its own automation condition), severity warning;
- a freshness policy (Dagster's ``FreshnessPolicy.cron``) on the tables users read daily: each updated in
  the 24 hours before 07:00 (`with_freshness`);
- ``cxdata_record_failures``: appends every failed run to ``pipeline_failures``.

The first evaluation after automation is switched on requests nothing (conditions need a change between two
evaluations), so switching it on does not start a run; `cxdata run` does. An automated staging run and the
build run after it are two cxdata runs (each its Dagster run id), where `cxdata run` carries one id over
both phases. Transient warehouse errors (a lock timeout, a dropped connection) are retried by the warehouse
resource every asset opens (pipelines/resources.py), in these runs and in ``cxdata run`` alike; any other
error fails the step at once. Whole runs that die outside a step (a crashed run worker) are retried by
``run_retries`` in dagster.yaml.
"""

# No postponed annotations here: Dagster reads the `context` annotations when it defines the sensor, source
# and check.
import datetime as dt
import warnings
from collections.abc import Iterator, Sequence
from zoneinfo import ZoneInfo

import dagster as dg
from dagster._core.definitions.external_asset import create_external_asset_from_source_asset

from cxdata.alerts import PipelineFailure, record_failure
from cxdata.config import ProjectConfig
from cxdata.errors import IngestError
from cxdata.io import arrivals
from cxdata.io.partitions import file_sources
from pipelines.phases import FRESHNESS_CHECK, partitioned_keys
from pipelines.resources import ProjectResource, WarehouseResource
from pipelines.staging import daily_partitions

AUTOMATION_SENSOR = "cxdata_automation"
OBSERVE_CRON = "*/5 * * * *"
QUERY_CRON = "0 6 * * *"  # after a night's source extracts, before the working day
FRESHNESS_HOUR = 7  # an hour after the query sources' daily run
FRESHNESS_DEADLINE_CRON = f"0 {FRESHNESS_HOUR} * * *"


def raw_sources(config: ProjectConfig, assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """The observable ``raw_<table>`` source of each file source, in its staging asset's group."""
    groups = {spec.key.to_user_string(): spec.group_name for a in assets for spec in a.specs}
    return [
        raw_source(config, table, groups.get(f"stg_{table}"))
        for table, source in sorted(config.sources.items())
        if source.path is not None
    ]


def raw_source(config: ProjectConfig, table: str, group: str | None) -> dg.AssetsDefinition:
    """The observable files of one source: by day for an event source, whole for a snapshot."""
    daily = file_sources(config, table)
    condition = dg.AutomationCondition.cron_tick_passed(OBSERVE_CRON, config.timezone)
    with warnings.catch_warnings():
        # observable sources are beta in Dagster 1.13; they are how automation learns of new files
        warnings.simplefilter("ignore", dg.BetaWarning)
        decorate = dg.observable_source_asset(
            name=f"raw_{table}",
            group_name=group,
            description=f"The {table} source files as they are now: "
            + (
                "the version of each day whose files changed since it was staged."
                if daily
                else "their names, times and sizes."
            ),
            partitions_def=daily_partitions(config) if daily else None,
            automation_condition=condition & dg.AutomationCondition.in_latest_time_window()
            if daily
            else condition,
        )

    @decorate
    def _observe(
        context: dg.OpExecutionContext, project: ProjectResource, warehouse: WarehouseResource
    ) -> dg.DataVersion | dg.DataVersionsByPartition:
        config = project.load()
        if not daily:
            return dg.DataVersion(arrivals.snapshot_stamp(config, table))
        try:
            if not arrivals.settled(config, table):
                context.log.info(f"raw_{table}: a file changed in the last minute; observed on the next tick")
                return dg.DataVersionsByPartition({})
            with warehouse.get() as wh:
                stamps = arrivals.day_stamps(wh, config, table)
        except IngestError as exc:  # files missing: staging says so when it runs; nothing to observe
            context.log.warning(str(exc))
            return dg.DataVersionsByPartition({})
        return dg.DataVersionsByPartition({day.isoformat(): stamp for day, stamp in stamps.items()})

    # what Definitions does with a source asset, done here so the catalog's owners apply to it too; it reads
    # the op's deprecated `version` on the way
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return create_external_asset_from_source_asset(_observe)


def conditions(config: ProjectConfig, assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """``assets`` with their automation conditions (see the module)."""
    condition = dg.AutomationCondition
    window = dt.timedelta(days=config.incremental.lookback_days + 1)
    staging = condition.eager().without(condition.in_latest_time_window()) & condition.in_latest_time_window(
        window
    )
    build = condition.eager().without(~condition.any_deps_missing())
    queries = {f"stg_{table}" for table, source in config.sources.items() if source.path is None}
    daily = {key.to_user_string() for key in partitioned_keys(assets)}

    def conditioned(spec: dg.AssetSpec) -> dg.AssetSpec:
        name = spec.key.to_user_string()
        if name in daily:
            chosen = staging
        elif name in queries:
            chosen = condition.on_cron(QUERY_CRON, config.timezone)
        else:
            chosen = build
        return spec.replace_attributes(automation_condition=chosen)

    return [definition.map_asset_specs(conditioned) for definition in assets]


def due_day(now: dt.datetime) -> dt.date:
    """The day whose staging is due at ``now`` (project zone): the last full day before the latest
    07:00."""
    return (now - dt.timedelta(hours=FRESHNESS_HOUR)).date() - dt.timedelta(days=1)


def staging_freshness(
    config: ProjectConfig, assets: Sequence[dg.AssetsDefinition]
) -> list[dg.AssetChecksDefinition]:
    """A check on each daily staging asset that the day due (`due_day`) was staged; run at 07:00 and after each
    staging of its asset. Dagster's `build_time_partition_freshness_checks` expects the partition holding the
    deadline, which with the staging's ``end_offset=1`` is the day just begun."""
    staged = partitioned_keys(assets)
    if not staged:
        return []
    trigger = (
        dg.AutomationCondition.cron_tick_passed(FRESHNESS_DEADLINE_CRON, config.timezone)
        | dg.AutomationCondition.any_deps_updated()
    )
    specs = [
        dg.AssetCheckSpec(
            FRESHNESS_CHECK,
            asset=key,
            description=f"The last full day before {FRESHNESS_HOUR}:00 (project zone) is staged.",
            automation_condition=trigger,
        )
        for key in staged
    ]
    zone = ZoneInfo(config.timezone)

    @dg.multi_asset_check(specs=specs, name="staging_freshness", can_subset=True)
    def _fresh(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
        day = due_day(dt.datetime.now(zone)).isoformat()
        for key in context.selected_asset_check_keys:
            wanted = dg.AssetRecordsFilter(asset_key=key.asset_key, asset_partitions=[day])
            found = bool(context.instance.fetch_materializations(wanted, limit=1).records)
            yield dg.AssetCheckResult(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=found,
                severity=dg.AssetCheckSeverity.WARN,
                description=f"day {day} " + ("is staged" if found else "is not staged yet"),
                metadata={"day": day},
            )

    return [_fresh]


def failure_sensor() -> dg.SensorDefinition:
    """Records every failed run of the code location in pipeline_failures (job, steps, error classes)."""

    @dg.run_failure_sensor(name="cxdata_record_failures", default_status=dg.DefaultSensorStatus.RUNNING)
    def cxdata_record_failures(context: dg.RunFailureSensorContext, warehouse: WarehouseResource) -> None:
        steps = context.get_step_failure_events()
        errors = []
        for event in steps:
            error = event.step_failure_data.error if event.step_failure_data else None
            # Dagster wraps the asset's exception; the first cause is the one the asset raised.
            if error is not None:
                errors.append(error.cause.cls_name if error.cause else error.cls_name)
        failure = PipelineFailure(
            run_id=context.dagster_run.run_id,
            job_name=context.dagster_run.job_name,
            failed_at=dt.datetime.now(dt.UTC),
            failed_steps=[event.step_key for event in steps if event.step_key],
            error_types=errors,
            message=context.failure_event.message or "",
        )
        with warehouse.get() as wh:
            record_failure(wh, failure)
        context.log.info(f"recorded the failure of run {failure.run_id} in pipeline_failures")

    return cxdata_record_failures


# the tables users read every day: stale when the daily run has not refreshed them by an hour after it starts
FRESH_DAILY = ("dim_customer", "customer_scores", "segment_members", "touchpoint_scores", "cx_kpis_daily")
FRESHNESS_DEADLINE_CRON = "0 7 * * *"


def with_freshness(config: ProjectConfig, assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """``assets`` with Dagster's freshness policy on the daily tables: each updated in the 24 hours before 07:00
    (project time zone), an hour after the query sources' daily run."""
    policy = dg.FreshnessPolicy.cron(
        deadline_cron=FRESHNESS_DEADLINE_CRON, lower_bound_delta=dt.timedelta(hours=24), timezone=config.timezone
    )

    def fresh(spec: dg.AssetSpec) -> dg.AssetSpec:
        return (
            spec.replace_attributes(freshness_policy=policy) if spec.key.to_user_string() in FRESH_DAILY else spec
        )

    return [definition.map_asset_specs(fresh) for definition in assets]


def automation(
    config: ProjectConfig, assets: Sequence[dg.AssetsDefinition]
) -> tuple[list[dg.AssetsDefinition], list[dg.AssetChecksDefinition], list[dg.SensorDefinition]]:
    """The automated graph of a project whose assets are ``assets``: them with their conditions and freshness
    policies, the ``raw_`` sources, the staging freshness checks and the failure sensor."""
    automated = [*with_freshness(config, conditions(config, assets)), *raw_sources(config, assets)]
    return automated, staging_freshness(config, assets), [automation_sensor(), failure_sensor()]


def automation_sensor() -> dg.AutomationConditionSensorDefinition:
    """The sensor that evaluates every condition of the graph (sources and checks included), every 30 s;
    it starts stopped, like any automation that launches runs on its own."""
    with warnings.catch_warnings():
        # include_sources is beta in Dagster 1.13; without it the raw_ sources would fall to a default sensor
        warnings.simplefilter("ignore", dg.BetaWarning)
        everything = dg.AssetSelection.all(include_sources=True) | dg.AssetSelection.all_asset_checks()
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR, target=everything, default_status=dg.DefaultSensorStatus.STOPPED
    )
