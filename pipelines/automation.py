"""Automation: the daily schedule, the file-arrival sensor, the run-failure sensor and transient-error retries.

- ``cxdata_all``: an asset job over the whole graph. Transient warehouse errors (a lock
  timeout, a dropped connection) are retried by the warehouse resource every asset
  opens (pipelines/resources.py), in this job and in ``cxdata run`` alike; any other
  error fails the step at once — a missing column is missing on the next attempt too;
- ``cxdata_daily``: runs that job every day (project time zone);
- ``cxdata_file_arrival``: starts a run when a file source's files are new or
  changed (names, mtimes and sizes in the cursor), for the changed staging assets
  and everything downstream of them; the first tick runs everything;
- ``cxdata_record_failures``: appends every failed run to ``pipeline_failures``;
- a freshness policy (Dagster's ``FreshnessPolicy.cron``) on the tables users read daily: each updated in the
  24 hours before 07:00 (`with_freshness`).

Schedule and file sensor start stopped (turn them on in the UI, with the daemon
running); the failure sensor starts running. Whole runs that die outside a step
(a crashed run worker) are retried by ``run_retries`` in dagster.yaml.
"""

# No postponed annotations here: Dagster reads the sensors' `context` annotations when it defines them.
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import dagster as dg

from cxdata.alerts import PipelineFailure, record_failure
from cxdata.config import ProjectConfig
from cxdata.errors import IngestError
from cxdata.io.readers import source_files
from pipelines.resources import ProjectResource, WarehouseResource

if TYPE_CHECKING:  # what define_asset_job returns; dagster does not export the class
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition as AssetJob,
    )

JOB = "cxdata_all"
DAILY_CRON = "0 6 * * *"  # after a night's source extracts, before the working day
SETTLE_SECONDS = 60  # a file modified more recently may still be being copied in


def whole_graph_job() -> "AssetJob":
    """Every asset of the project; the schedule and the sensors run it."""
    return dg.define_asset_job(
        JOB,
        selection=dg.AssetSelection.all(),
        description="Every asset of the project: staging, identity, marts, models, alerts and the report.",
    )


def daily_schedule(job: "AssetJob", timezone: str) -> dg.ScheduleDefinition:
    """The whole graph once a day at 06:00 in the project's time zone; one run per scheduled day."""

    @dg.schedule(name="cxdata_daily", cron_schedule=DAILY_CRON, job=job, execution_timezone=timezone)
    def cxdata_daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        moment = context.scheduled_execution_time
        day = moment.date().isoformat() if moment else dt.date.today().isoformat()
        return dg.RunRequest(run_key=f"daily-{day}", tags={"cxdata/trigger": "schedule"})

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
    job: "AssetJob",
    assets: Sequence[dg.AssetsDefinition],
    settle_seconds: int = SETTLE_SECONDS,
) -> dg.SensorDefinition:
    """A run of the changed sources' staging assets and everything downstream when a file source changes."""

    @dg.sensor(name="cxdata_file_arrival", job=job, minimum_interval_seconds=60)
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
            request = dg.RunRequest(run_key=run_key, tags={"cxdata/trigger": "first file scan"})
        else:
            tables = changed_tables(json.loads(context.cursor), state)
            if not tables:  # only a source dropped from the config: nothing to load
                return dg.SensorResult(skip_reason=dg.SkipReason("no new or changed source files"), cursor=cursor)
            staged = dg.AssetSelection.assets(*(f"stg_{t}" for t in tables))
            selected = staged.downstream().resolve(assets)
            request = dg.RunRequest(
                run_key=run_key,
                asset_selection=sorted(selected, key=lambda key: key.to_user_string()),
                tags={"cxdata/trigger": "files changed", "cxdata/sources": ",".join(tables)},
            )
        return dg.SensorResult(run_requests=[request], cursor=cursor)

    return cxdata_file_arrival


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
    job = whole_graph_job()
    sensors = [failure_sensor()]
    if any(source.path is not None for source in config.sources.values()):
        sensors.insert(0, file_arrival_sensor(job, assets))
    return [job], [daily_schedule(job, config.timezone)], sensors
