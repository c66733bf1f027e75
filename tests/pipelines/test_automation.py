"""The automated definitions (jobs, conditions, freshness), the run-failure sensor and transient-only retries."""

# No postponed annotations here: Dagster reads the `context` annotation of the test assets.
import datetime as dt

import dagster as dg
import duckdb
import pytest
import sqlalchemy as sa

from cxdata.config import load_config
from cxdata.warehouse import Warehouse, WarehouseError
from cxdata.warehouse.errors import is_transient
from pipelines import automation, resources
from pipelines.definitions import build_definitions
from pipelines.phases import BUILD_JOB, FRESHNESS_CHECK, STAGING_JOB
from pipelines.resources import ProjectResource, WarehouseResource


@pytest.fixture
def project(tmp_path, warehouse_target):
    url, schema = warehouse_target
    (tmp_path / "surveys").mkdir()
    (tmp_path / "orders.csv").write_text("order_id,customer_ref,ordered_at,amount\n1,a,2024-01-01,3\n")
    (tmp_path / "surveys" / "week1.csv").write_text(
        "response_id,customer_ref,responded_at,kind,score\n1,a,2024-01-02,nps,3\n"
    )
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
def test_definitions_load_with_the_phase_jobs_conditions_and_the_failure_sensor(defs):
    dg.Definitions.validate_loadable(defs)
    staging, build = defs.resolve_job_def(STAGING_JOB), defs.resolve_job_def(BUILD_JOB)
    # the event files' daily staging is one job, everything else the other: together the whole graph
    assert keys(staging.asset_layer.executable_asset_keys) == {"stg_orders", "stg_surveys"}
    assert isinstance(staging.partitions_def, dg.DailyPartitionsDefinition) and build.partitions_def is None
    everything = keys(staging.asset_layer.executable_asset_keys) | keys(build.asset_layer.executable_asset_keys)
    assert everything == keys(defs.resolve_all_asset_keys()) - {"raw_orders", "raw_surveys"}
    assert "stg_customers" in everything and "cx_alerts" in everything
    # no schedule and no hand-made sensor: the automation sensor evaluates the conditions (Dagster adds no
    # default one beside it), one sensor records failures
    assert not defs.schedules and {s.name for s in defs.sensors} == {"cxdata_automation", "cxdata_record_failures"}
    assert "default_automation_condition_sensor" not in {s.name for s in defs.get_repository_def().sensor_defs}
    assert defs.resolve_sensor_def("cxdata_automation").default_status == dg.DefaultSensorStatus.STOPPED
    assert defs.resolve_sensor_def("cxdata_record_failures").default_status == dg.DefaultSensorStatus.RUNNING
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    # the file sources are observable, by day for an event source; a query source has none
    assert specs["raw_orders"].partitions_def == specs["stg_orders"].partitions_def
    assert "raw_customers" not in specs and not list(specs["stg_customers"].deps)
    assert {dep.asset_key.to_user_string() for dep in specs["stg_surveys"].deps} == {"raw_surveys"}
    labels = {name: spec.automation_condition.get_label() for name, spec in specs.items()}
    assert labels["stg_customers"].startswith("on_cron(")  # a query is not observed: once a day
    conditions = {name: str(spec.automation_condition) for name, spec in specs.items()}
    assert "InLatestTimeWindowCondition" in conditions["stg_orders"]
    assert all(spec.automation_condition is not None for spec in specs.values())
    # the staging freshness checks run on their own trigger, outside the phase jobs
    fresh = {key for key in defs.resolve_asset_graph().asset_check_keys if key.name == FRESHNESS_CHECK}
    assert {key.asset_key.to_user_string() for key in fresh} == {"stg_orders", "stg_surveys"}
    assert not fresh & set(staging.asset_layer.asset_graph.asset_check_keys)
    # the tables users read daily carry a freshness policy: updated in the 24 hours before 07:00, project zone
    policies = {name: spec.freshness_policy for name, spec in specs.items()}
    assert {name for name, policy in policies.items() if policy is not None} == set(automation.FRESH_DAILY)
    policy = policies["customer_scores"]
    assert policy.deadline_cron == automation.FRESHNESS_DEADLINE_CRON
    assert policy.lower_bound_delta == dt.timedelta(hours=24)


def test_without_event_files_there_is_one_job_and_snapshots_are_observed(tmp_path):
    (tmp_path / "costs.csv").write_text("month,channel,campaign,spend\n2024-07-01,email,a,1\n")
    (tmp_path / "cxdata.yaml").write_text(
        "name: q\nwarehouse: duckdb:///wh.duckdb\nsources:\n  orders: {url: 'sqlite:///o.db', query: select 1}\n"
        "  touchpoint_costs: {path: costs.csv}\n"
    )
    defs = build_definitions(load_config(tmp_path / "cxdata.yaml"))
    dg.Definitions.validate_loadable(defs)
    assert {job.name for job in defs.jobs} == {BUILD_JOB}  # a query source is not partitioned
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    assert specs["raw_touchpoint_costs"].partitions_def is None
    assert specs["stg_orders"].automation_condition.get_label().startswith("on_cron(")


@pytest.mark.parametrize("moment, due", [("2026-03-02 07:00", "2026-03-01"), ("2026-03-02 06:59", "2026-02-28")])
def test_the_day_due_is_the_last_full_day_before_the_latest_deadline(moment, due):
    assert automation.due_day(dt.datetime.fromisoformat(moment)) == dt.date.fromisoformat(due)


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
