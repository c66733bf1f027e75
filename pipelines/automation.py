"""Automation: the daily schedule, the file-arrival sensor, the phase chain, the run-failure sensor and
transient-error retries.

A job cannot mix partitions definitions, so the graph runs as the two phase jobs of `pipelines.phases`:
``cxdata_staging`` (the event sources' daily partitions) and ``cxdata_build`` (everything else). Until
declarative automation (``AutomationCondition``) replaces the hand-made parts:

- ``cxdata_daily``: the staging job every day (project time zone) over the lookback window ending that
  day (``incremental.lookback_days``); a project without event files runs the build job;
- ``cxdata_file_arrival``: when a file source's files are new or changed (names, mtimes and sizes in the
  cursor), the changed event sources' staging over the lookback window, or, when only snapshot sources
  changed, the build job from their staging down; the first tick stages over the lookback window too (a
  source never staged by day is loaded whole whatever the range);
- ``cxdata_after_staging``: the build job after every successful staging run (a schedule's, a sensor's or a
  backfill launched from the UI), with the same ``cxdata/run_id`` so both runs are one cxdata run; `cxdata
  run` chains its phases itself and is left alone;
- ``cxdata_record_failures``: appends every failed run to ``pipeline_failures``;
- a freshness policy (Dagster's ``FreshnessPolicy.cron``) on the tables users read daily: each updated in the
  24 hours before 07:00 (`with_freshness`).

Transient warehouse errors (a lock timeout, a dropped connection) are retried by the warehouse resource every
asset opens (pipelines/resources.py), in these jobs and in ``cxdata run`` alike; any other error fails the
step at once. Schedule and file sensor start stopped (turn them on in the UI, with the daemon running); the
chain and the failure sensor start running. Whole runs that die outside a step (a crashed run worker) are
retried by ``run_retries`` in dagster.yaml.
"""

# No postponed annotations here: Dagster reads the sensors' `context` annotations when it defines them.
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import dagster as dg

from cxdata.alerts import PipelineFailure, record_failure
from cxdata.config import ProjectConfig
from cxdata.errors import IngestError
from cxdata.io.readers import source_files
from pipelines.phases import BUILD_JOB, RUNNER_TAG, STAGING_JOB, lookback_tags, phase_jobs
from pipelines.resources import ProjectResource, WarehouseResource
from pipelines.run import RUN_TAG
from pipelines.staging import FULL_REFRESH_TAG

if TYPE_CHECKING:  # what define_asset_job returns; dagster does not export the class
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition as AssetJob,
    )

DAILY_CRON = "0 6 * * *"  # after a night's source extracts, before the working day
SETTLE_SECONDS = 60  # a file modified more recently may still be being copied in


def daily_schedule(config: ProjectConfig, job: "AssetJob") -> dg.ScheduleDefinition:
    """The first phase once a day at 06:00 in the project's time zone, over the lookback window ending that
    day (the build job, when ``job`` is it); one run per scheduled day."""

    @dg.schedule(name="cxdata_daily", cron_schedule=DAILY_CRON, job=job, execution_timezone=config.timezone)
    def cxdata_daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        moment = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        day = moment.astimezone(ZoneInfo(config.timezone)).date()
        window = lookback_tags(config, day) if job.name == STAGING_JOB else {}
        return dg.RunRequest(run_key=f"daily-{day.isoformat()}", tags={"cxdata/trigger": "schedule", **window})

    return cxdata_daily


def file_state(config: ProjectConfig) -> dict[str, dict[str, list[int]]]:
    """Per file source, each file (relative to the project folder) with its mtime in ns and size in bytes; a
    source whose files are missing has none (staging reports that; the sensor waits for them)."""
    state: dict[str, dict[str, list[int]]] = {}
    for table, source in sorted(config.sources.items()):
        if source.path is None:
            continue
        try:
            files = source_files(config, table)
        except IngestError:
            files = []
        listed = {}
        for file in files:
            stat = file.stat()
            name = file.relative_to(config.base_dir) if file.is_relative_to(config.base_dir) else file
            listed[str(name)] = [stat.st_mtime_ns, stat.st_size]
        state[table] = listed
    return state


def changed_tables(before: dict[str, dict[str, list[int]]], after: dict[str, dict[str, list[int]]]) -> list[str]:
    """Sources whose files were added, removed or modified between two states."""
    return sorted(table for table in after if before.get(table) != after[table])


def file_arrival_sensor(
    jobs: Sequence["AssetJob"],
    assets: Sequence[dg.AssetsDefinition],
    settle_seconds: int = SETTLE_SECONDS,
) -> dg.SensorDefinition:
    """A run when a file source changes: the changed event sources' staging over the lookback window (the
    chain runs the rest), else the build job from the changed snapshot sources' staging down."""
    names = {job.name for job in jobs}

    @dg.sensor(name="cxdata_file_arrival", jobs=list(jobs), minimum_interval_seconds=60)
    def cxdata_file_arrival(context: dg.SensorEvaluationContext, project: ProjectResource) -> dg.SensorResult:
        config = project.load()
        state = file_state(config)
        cursor = json.dumps(state, sort_keys=True)
        if context.cursor == cursor:
            return dg.SensorResult(skip_reason=dg.SkipReason("no new or changed source files"))
        newest = max((mtime for files in state.values() for mtime, _ in files.values()), default=0)
        if dt.datetime.now(dt.UTC).timestamp() - newest / 1e9 < settle_seconds:
            # Leave the cursor as it was, so the next tick sees the change again once the copy has finished.
            return dg.SensorResult(skip_reason=dg.SkipReason(f"files changed in the last {settle_seconds} s"))
        run_key = "files-" + hashlib.sha256(cursor.encode()).hexdigest()[:16]
        if context.cursor is None:
            request = _first_scan(config, names, run_key)
        else:
            tables = changed_tables(json.loads(context.cursor), state)
            if not tables:  # only a source dropped from the config: nothing to load
                return dg.SensorResult(skip_reason=dg.SkipReason("no new or changed source files"), cursor=cursor)
            request = _changed(config, names, assets, tables, run_key)
        return dg.SensorResult(run_requests=[request], cursor=cursor)

    return cxdata_file_arrival


def _first_scan(config: ProjectConfig, jobs: set[str], run_key: str) -> dg.RunRequest:
    """The first tick's run: the staging over the lookback window (the chain builds the rest), else the build."""
    tags = {"cxdata/trigger": "first file scan"}
    if STAGING_JOB not in jobs:
        return dg.RunRequest(run_key=run_key, job_name=BUILD_JOB, tags=tags)
    window = lookback_tags(config, dt.datetime.now(ZoneInfo(config.timezone)).date())
    return dg.RunRequest(run_key=run_key, job_name=STAGING_JOB, tags={**tags, **window})


def _changed(
    config: ProjectConfig, jobs: set[str], assets: Sequence[dg.AssetsDefinition], tables: list[str], run_key: str
) -> dg.RunRequest:
    """The run for changed sources: their partitioned staging over the lookback window, when any is
    partitioned; else the build from their staging down."""
    tags = {"cxdata/trigger": "files changed", "cxdata/sources": ",".join(tables)}
    partitioned = {key.to_user_string() for a in assets if a.partitions_def is not None for key in a.keys}
    staged = sorted(f"stg_{t}" for t in tables if f"stg_{t}" in partitioned)
    if staged and STAGING_JOB in jobs:
        today = dt.datetime.now(ZoneInfo(config.timezone)).date()
        keys = [dg.AssetKey(name) for name in staged]
        return dg.RunRequest(
            run_key=run_key,
            job_name=STAGING_JOB,
            asset_selection=keys,
            tags={**tags, **lookback_tags(config, today)},
        )
    selected = dg.AssetSelection.assets(*(f"stg_{t}" for t in tables)).downstream().resolve(assets)
    return dg.RunRequest(
        run_key=run_key,
        job_name=BUILD_JOB,
        asset_selection=sorted(selected, key=lambda key: key.to_user_string()),
        tags=tags,
    )


def chain_sensor(staging: "AssetJob", build: "AssetJob") -> dg.SensorDefinition:
    """The build job after each successful staging run that `cxdata run` did not start, as the same cxdata
    run (its ``cxdata/run_id``) and with its full-refresh tag."""

    @dg.run_status_sensor(
        name="cxdata_after_staging",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[staging],
        request_job=build,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def cxdata_after_staging(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
        run = context.dagster_run
        if run.tags.get(RUNNER_TAG) == "true":
            return dg.SkipReason(f"run {run.run_id} belongs to a `cxdata run`, which builds the rest itself")
        tags = {RUN_TAG: run.tags.get(RUN_TAG) or run.run_id, "cxdata/trigger": "staging succeeded"}
        if FULL_REFRESH_TAG in run.tags:
            tags[FULL_REFRESH_TAG] = run.tags[FULL_REFRESH_TAG]
        return dg.RunRequest(run_key=f"after-{run.run_id}", tags=tags)

    return cxdata_after_staging


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
    (project time zone), an hour after the daily schedule starts."""
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
) -> tuple[list["AssetJob"], list[dg.ScheduleDefinition], list[dg.SensorDefinition]]:
    """The jobs, schedules and sensors of a project whose graph is ``assets``."""
    jobs = phase_jobs(assets)
    sensors = [failure_sensor()]
    if len(jobs) == 2:
        sensors.insert(0, chain_sensor(*jobs))
    if any(source.path is not None for source in config.sources.values()):
        sensors.insert(0, file_arrival_sensor(jobs, assets))
    return jobs, [daily_schedule(config, jobs[0])], sensors
