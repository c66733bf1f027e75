"""The daily schedule, the file-arrival sensor, the run-failure sensor and transient-only retries."""

# No postponed annotations here: Dagster reads the `context` annotation of the test assets.
import datetime as dt
import itertools
import json
import os
import time

import dagster as dg
import duckdb
import pytest
import sqlalchemy as sa

from cxdata.config import load_config
from cxdata.warehouse import Warehouse, WarehouseError
from cxdata.warehouse.errors import is_transient
from pipelines import automation, resources
from pipelines.definitions import build_definitions
from pipelines.phases import BUILD_JOB, RANGE_END, RANGE_START, RUNNER_TAG, STAGING_JOB
from pipelines.resources import ProjectResource, WarehouseResource
from pipelines.run import RUN_TAG

_MOMENTS = itertools.count(int(time.time()) - 3600)


def settle(*paths) -> None:
    """Give files an mtime past the sensor's settling time, a different one on every call."""
    moment = next(_MOMENTS)
    for path in paths:
        os.utime(path, (moment, moment))


@pytest.fixture
def project(tmp_path, warehouse_target):
    url, schema = warehouse_target
    (tmp_path / "surveys").mkdir()
    (tmp_path / "orders.csv").write_text("order_id,customer_ref,ordered_at,amount\n1,a,2024-01-01,3\n")
    (tmp_path / "surveys" / "week1.csv").write_text(
        "response_id,customer_ref,responded_at,kind,score\n1,a,2024-01-02,nps,3\n"
    )
    settle(tmp_path / "orders.csv", tmp_path / "surveys" / "week1.csv")
    schema_line = f"warehouse_schema: {schema}\n" if schema else ""
    (tmp_path / "cxdata.yaml").write_text(
        f"name: auto\nwarehouse: {url}\n{schema_line}sources:\n"
        "  orders: {path: orders.csv}\n  surveys: {path: surveys}\n"
        "  customers: {url: 'sqlite:///crm.db', query: select 1}\n"
    )
    return tmp_path


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as test_instance:  # in memory: a run, its events, nothing on disk
        yield test_instance


@pytest.fixture
def defs(project):
    return build_definitions(load_config(project / "cxdata.yaml"))


# Definitions do not depend on the backend: these run once, on a DuckDB file.
DUCKDB_ONLY = pytest.mark.parametrize("warehouse_target", [("duckdb:///wh.duckdb", None)])


def keys(selection) -> set[str]:
    return {key.to_user_string() for key in selection}


@DUCKDB_ONLY
def test_definitions_load_with_the_phase_jobs_schedule_and_sensors(defs):
    dg.Definitions.validate_loadable(defs)
    staging, build = defs.resolve_job_def(STAGING_JOB), defs.resolve_job_def(BUILD_JOB)
    # the event files' daily staging is one job, everything else the other: together the whole graph
    assert keys(staging.asset_layer.executable_asset_keys) == {"stg_orders", "stg_surveys"}
    assert isinstance(staging.partitions_def, dg.DailyPartitionsDefinition) and build.partitions_def is None
    everything = keys(staging.asset_layer.executable_asset_keys) | keys(build.asset_layer.executable_asset_keys)
    assert everything == keys(defs.resolve_all_asset_keys()) and "stg_customers" in everything
    assert "cx_alerts" in keys(defs.resolve_all_asset_keys())
    assert defs.resolve_schedule_def("cxdata_daily").cron_schedule == automation.DAILY_CRON
    names = {s.name for s in defs.sensors}
    assert names == {"cxdata_file_arrival", "cxdata_after_staging", "cxdata_record_failures"}
    for running in ("cxdata_after_staging", "cxdata_record_failures"):
        assert defs.resolve_sensor_def(running).default_status == dg.DefaultSensorStatus.RUNNING
    # the tables users read daily carry a freshness policy: updated in the 24 hours before 07:00, project zone
    policies = {spec.key.to_user_string(): spec.freshness_policy for spec in defs.resolve_all_asset_specs()}
    fresh = {name for name, policy in policies.items() if policy is not None}
    assert fresh == set(automation.FRESH_DAILY)
    policy = policies["customer_scores"]
    assert policy.deadline_cron == automation.FRESHNESS_DEADLINE_CRON
    assert policy.lower_bound_delta == dt.timedelta(hours=24)


@DUCKDB_ONLY
def test_schedule_requests_one_staging_run_of_the_lookback_window_per_day(defs, instance):
    schedule = defs.resolve_schedule_def("cxdata_daily")
    morning = dt.datetime(2026, 3, 1, 6, tzinfo=dt.UTC)
    request = schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=morning))
    again = schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=morning))
    next_day = schedule(
        dg.build_schedule_context(instance=instance, scheduled_execution_time=morning + dt.timedelta(days=1))
    )
    assert schedule.job_name == STAGING_JOB and request.asset_selection is None  # None: every asset of the job
    assert request.run_key == again.run_key == "daily-2026-03-01" != next_day.run_key
    # the days of the default lookback (3) up to the scheduled day; the chain sensor builds the rest
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("2026-02-26", "2026-03-01")


def test_without_event_files_the_schedule_and_sensor_run_the_build(tmp_path, instance):
    (tmp_path / "orders.csv").write_text("order_id,customer_ref,ordered_at,amount\n1,a,2024-01-01,3\n")
    (tmp_path / "cxdata.yaml").write_text(
        "name: q\nwarehouse: duckdb:///wh.duckdb\nsources:\n  orders: {url: 'sqlite:///o.db', query: select 1}\n"
        "  touchpoint_costs: {path: costs.csv}\n"
    )
    defs = build_definitions(load_config(tmp_path / "cxdata.yaml"))
    dg.Definitions.validate_loadable(defs)
    assert {job.name for job in defs.jobs} == {BUILD_JOB}  # a query source is not partitioned
    schedule = defs.resolve_schedule_def("cxdata_daily")
    morning = dt.datetime(2026, 3, 1, 6, tzinfo=dt.UTC)
    request = schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=morning))
    assert schedule.job_name == BUILD_JOB and RANGE_START not in request.tags
    assert {s.name for s in defs.sensors} == {"cxdata_file_arrival", "cxdata_record_failures"}


@DUCKDB_ONLY
def test_file_sensor_runs_on_new_or_changed_files_only(defs, project, instance):
    sensor = defs.resolve_sensor_def("cxdata_file_arrival")
    resources = {"project": ProjectResource(config_path=str(project / "cxdata.yaml"))}

    def tick(cursor):
        return sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources))

    first = tick(None)
    assert len(first.run_requests) == 1 and first.run_requests[0].asset_selection is None
    assert first.run_requests[0].job_name == STAGING_JOB and RANGE_START in first.run_requests[0].tags
    state = json.loads(first.cursor)
    assert set(state) == {"orders", "surveys"}  # the SQL source is not watched
    assert set(state["surveys"]) == {os.path.join("surveys", "week1.csv")}

    same = tick(first.cursor)
    assert not same.run_requests and "no new or changed" in same.skip_reason.skip_message

    new_file = project / "surveys" / "week2.csv"
    new_file.write_text("response_id,customer_ref,responded_at,kind,score\n2,a,2024-01-09,csat,1\n")
    copying = tick(first.cursor)  # just written: maybe still being copied in
    assert not copying.run_requests and copying.cursor in (None, first.cursor)
    settle(new_file)
    arrived = tick(first.cursor)
    (request,) = arrived.run_requests
    # the changed event source's staging over the lookback window; the chain sensor builds the rest
    assert keys(request.asset_selection) == {"stg_surveys"} and request.job_name == STAGING_JOB
    assert request.tags["cxdata/sources"] == "surveys" and RANGE_END in request.tags

    assert not tick(arrived.cursor).run_requests  # the same state never runs twice
    settle(project / "orders.csv")  # same name and size, new mtime
    touched = tick(arrived.cursor)
    (again,) = touched.run_requests
    assert "stg_orders" in keys(again.asset_selection) and "stg_surveys" not in keys(again.asset_selection)
    assert len({first.run_requests[0].run_key, request.run_key, again.run_key}) == 3


@DUCKDB_ONLY
def test_a_staging_run_is_followed_by_the_build_as_the_same_cxdata_run(defs, project, instance):
    sensor = defs.resolve_sensor_def("cxdata_after_staging")
    staging = defs.resolve_job_def(STAGING_JOB)

    def after(tags):
        run = instance.create_run_for_job(staging, tags=tags, status=dg.DagsterRunStatus.SUCCESS)
        success = dg.DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name=STAGING_JOB, message="done")
        with dg.build_run_status_sensor_context(
            sensor_name=sensor.name, dagster_event=success, dagster_instance=instance, dagster_run=run
        ) as context:
            return run, sensor(context)

    run, request = after({"cxdata/trigger": "schedule"})
    assert sensor.job_name == BUILD_JOB and request.run_key == f"after-{run.run_id}"
    assert request.tags[RUN_TAG] == run.run_id
    _, request = after({RUN_TAG: "cycle-1", "cxdata/full_refresh": "true"})
    assert request.tags[RUN_TAG] == "cycle-1" and request.tags["cxdata/full_refresh"] == "true"
    _, skipped = after({RUN_TAG: "cycle-2", RUNNER_TAG: "true"})  # `cxdata run` builds the rest itself
    assert isinstance(skipped, dg.SkipReason)


def test_failure_sensor_records_the_failed_run_once(project, defs, instance):
    @dg.op
    def load_stage():
        raise WarehouseError("publishing table 'stg_orders' failed: lock timeout")

    @dg.job
    def nightly():
        load_stage()

    sensor = defs.resolve_sensor_def("cxdata_record_failures")
    project_resource = ProjectResource(config_path=str(project / "cxdata.yaml"))
    resources = {"warehouse": WarehouseResource(project=project_resource)}
    result = nightly.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    for _ in range(2):  # a sensor evaluated twice for one run must not record it twice
        with dg.build_run_status_sensor_context(
            sensor_name="cxdata_record_failures",
            dagster_event=result.get_run_failure_event(),
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            resources=resources,
        ) as context:
            sensor(context)
    config = load_config(project / "cxdata.yaml")
    with Warehouse(config.warehouse, schema=config.warehouse_schema) as wh:
        failures = wh.read("pipeline_failures")
        comments = wh.column_comments("pipeline_failures")
    assert failures.height == 1
    row = failures.row(0, named=True)
    assert row["run_id"] == result.run_id and row["job_name"] == "nightly"
    assert row["failed_steps"] == "load_stage" and row["error_types"] == "WarehouseError"
    assert "load_stage" in row["message"] and "lock timeout" not in row["message"]
    assert comments["error_types"]


class _Locked(Exception):
    sqlstate = "55P03"


def test_transient_errors_are_recognised_through_the_warehouse_error_chain(tmp_path):
    with pytest.raises(WarehouseError) as refused:
        Warehouse("postgresql://postgres@127.0.0.1:1/test")
    assert is_transient(refused.value)
    with duckdb.connect(str(tmp_path / "a.duckdb")) as conn:
        conn.execute("create table t (x int)")
    with Warehouse(f"duckdb:///{tmp_path / 'a.duckdb'}") as wh, pytest.raises(WarehouseError) as missing:
        wh.read("no_such_table")
    assert not is_transient(missing.value)
    locked = WarehouseError("swap failed")
    locked.__cause__ = sa.exc.OperationalError("ALTER TABLE", {}, _Locked("lock timeout"))
    assert is_transient(locked)
    assert is_transient(duckdb.IOException('Could not set lock on file "wh.duckdb"'))
    assert not is_transient(ValueError("column 'amount' is not a number"))


def test_steps_retry_transient_warehouse_errors_only(monkeypatch, instance, tmp_path):
    monkeypatch.setattr(resources, "RETRY_DELAY_SECONDS", 0)
    config = tmp_path / "cxdata.yaml"
    config.write_text("name: r\nsources:\n  orders: {path: orders.csv}\n", encoding="utf-8")
    project = resources.ProjectResource(config_path=str(config))
    attempts = {"flaky": 0, "broken": 0}

    @dg.asset
    def flaky(warehouse: resources.WarehouseResource) -> None:
        with warehouse.get():
            attempts["flaky"] += 1
            if attempts["flaky"] < 3:
                raise WarehouseError("swap failed") from ConnectionResetError("connection reset by peer")

    @dg.asset
    def broken(warehouse: resources.WarehouseResource) -> None:
        with warehouse.get():
            attempts["broken"] += 1
            raise WarehouseError("table 'fct_orders' has no column(s) ['amount']")

    defs = dg.Definitions(
        assets=[flaky, broken], resources={"warehouse": resources.WarehouseResource(project=project)}
    )
    result = dg.materialize([flaky, broken], resources=defs.resources, instance=instance, raise_on_error=False)
    assert attempts == {"flaky": 3, "broken": 1}
    failed = {event.step_key for event in result.all_events if event.is_step_failure}
    assert failed == {"broken"}
