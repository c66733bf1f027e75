"""`cxdata run` as phase runs: the daily staging of event files, then every other asset, one cxdata run id."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from cxdata.config import WAREHOUSE_SCHEMA_ENV, WAREHOUSE_URL_ENV, load_config
from cxdata.warehouse import Warehouse
from pipelines.definitions import build_definitions
from pipelines.phases import BUILD_JOB, STAGING_JOB, range_tags, restage_range
from pipelines.run import RUN_TAG
from pipelines.runner import run_project

from ..conftest import SEVEN_CUSTOMER_ORDERS

CUSTOMERS = "customer_ref,email,created_at\n" + "".join(f"c{n},p{n}@example.com,2023-12-01\n" for n in range(7))


@pytest.fixture
def project(tmp_path, warehouse_target, monkeypatch):
    url, schema = warehouse_target
    (tmp_path / "orders.csv").write_text(SEVEN_CUSTOMER_ORDERS, encoding="utf-8")
    (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (tmp_path / "cxdata.yaml").write_text(
        "name: phases\nas_of: 2024-03-31\nincremental: {start_date: 2024-01-01}\n"
        "sources:\n  orders: {path: orders.csv}\n  customers: {path: customers.csv}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv(WAREHOUSE_URL_ENV, url)
    if schema:
        monkeypatch.setenv(WAREHOUSE_SCHEMA_ENV, schema)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    return load_config(tmp_path / "cxdata.yaml")


# A whole run is ~1 min here: once, on DuckDB. The shared PostgreSQL runs (tests/conftest.py) go through the same
# phases, and tests/pipelines/test_run_context.py checks one start and as_of per run on them.
DUCKDB_ONLY = pytest.mark.parametrize("warehouse_target", [("duckdb:///wh.duckdb", None)])


@DUCKDB_ONLY
def test_a_run_is_a_staging_and_a_build_run_with_one_run_id(project):
    outcome = run_project(project)
    assert outcome.success, outcome.failures
    assert list(outcome.phase_runs) == [STAGING_JOB, BUILD_JOB]
    assert outcome.phase_runs[STAGING_JOB] == outcome.run_id != outcome.phase_runs[BUILD_JOB]
    assert {"stg_orders", "stg_customers", "dim_customer", "cx_report"} <= set(outcome.materialised)
    assert outcome.materialised.count("stg_orders") == 1  # once, however many days its range held
    with Warehouse(project.warehouse, schema=project.warehouse_schema) as wh:
        loads = wh.read("load_audit", columns=["table_name", "run_id", "loaded_at"])
        contexts = wh.read("run_context")
        checked = wh.read("validation_runs", columns=["run_id"])
        models = wh.read("model_runs", columns=["run_id"])
    # the event staging (phase 1) and the snapshot's (phase 2) are loads of the same run, at the same start
    assert set(loads["table_name"]) == {"orders", "customers"} and set(loads["run_id"]) == {outcome.run_id}
    assert loads["loaded_at"].n_unique() == 1 and contexts.height == 1
    assert contexts["run_id"][0] == outcome.run_id and contexts["started_at"][0] == loads["loaded_at"][0]
    assert set(checked["run_id"]) == set(models["run_id"]) == {outcome.run_id}
    with dg.DagsterInstance.get() as instance:
        phases = instance.get_run_records(dg.RunsFilter(tags={RUN_TAG: outcome.run_id}))
    assert {record.dagster_run.job_name for record in phases} == {STAGING_JOB, BUILD_JOB}
    # nothing stale next time: the last partition alone, which restates nothing
    last = dt.date.fromisoformat(
        build_definitions(project).resolve_job_def(STAGING_JOB).partitions_def.get_last_partition_key()
    )
    assert range_tags(project, *restage_range(project)) == range_tags(project, last, last)


@DUCKDB_ONLY
def test_a_failed_staging_phase_skips_the_build(project, tmp_path):
    (tmp_path / "orders.csv").write_text("order_id,ordered_at,amount\n1,2024-01-01,lots\n", encoding="utf-8")
    outcome = run_project(project)
    assert list(outcome.failures) == ["stg_orders"] and list(outcome.phase_runs) == [STAGING_JOB]
    assert {"stg_customers", "fct_orders", "dim_customer", "cx_report"} <= set(outcome.not_materialised)
