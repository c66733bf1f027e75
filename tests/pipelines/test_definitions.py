"""The Dagster definitions load, and materialising every asset works on DuckDB and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from cxdata import schema
from cxdata.config import WAREHOUSE_URL_ENV, load_config
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse
from pipelines.definitions import build_definitions
from pipelines.runner import run_project

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small_project(tmp_path_factory):
    return generate_project(tmp_path_factory.mktemp("project"), SynthParams(customers=300, seed=7))


@pytest.fixture(autouse=True)
def dagster_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()


IDENTITY = {"identity_record_keys", "customer_identity", "identity_merges"}
CUSTOMER_WIDE = {"dim_customer", "cx_kpis_daily"}
FACTS = {"fct_orders", "fct_tickets", "fct_surveys", "fct_web_sessions", "fct_touches"}
VALUE = {
    "customer_rfm",
    "customer_scores",
    "customer_scores_history",
    "model_runs",
    "segment_members",
    "segment_summary",
}
TOUCHPOINTS = {"touchpoint_scores", "touchpoint_scores_history"}
# membership history replayed from the scorings (no sync without activation.destinations)
ACTIVATION = {"segment_membership", "segment_events", "segment_scorings"}
DELIVERY = {
    "dim_customer_pii",
    "bi_customer_overview",
    "bi_kpis_daily",
    "bi_segments",
    "segment_definitions",
    "bi_touchpoint_investment",
    "bi_people",
    "bi_orders_by_channel_daily",
    "marketing_segment_export",
    "bi_segment_membership",
    "cx_report",
}
# the views of one source's records by their own channel, for the sources beyond orders
SOURCE_VIEWS = {"bi_tickets_by_channel_daily", "bi_surveys_by_channel_daily", "bi_web_by_channel_daily"}
# built from the customers source's consent columns
CRM = {"customer_consent"}
# who read personal data, flushed from the outbox on every run
PRIVACY = {"pii_access_log"}
# alerts need surveys or tickets; the generated project syncs its win-back segment to a Meta audience folder
GENERATED_ONLY = {"cx_alerts", "sync_winback_meta"}
EVERY_DOMAIN = (
    IDENTITY | FACTS | CUSTOMER_WIDE | VALUE | TOUCHPOINTS | ACTIVATION | DELIVERY | SOURCE_VIEWS | CRM | PRIVACY
)


def test_every_asset_has_owners_from_its_group_and_every_group_is_described(small_project, tmp_path):
    from pipelines.catalog import GROUPS

    config = load_config(small_project.config_path).model_copy(
        update={"owners": {"default": ["team:data"], "value": ["ana@example.com", "team:crm"]}}
    )
    defs = build_definitions(config)
    specs = list(defs.resolve_all_asset_specs())
    assert {spec.group_name for spec in specs} <= set(GROUPS)
    for spec in specs:
        expected = ["ana@example.com", "team:crm"] if spec.group_name == "value" else ["team:data"]
        assert list(spec.owners) == expected, spec.key
    groups = defs.metadata["asset_groups"].value
    assert all(f"| {group} |" in groups for group in {spec.group_name for spec in specs})


def test_an_owner_that_is_not_an_email_or_team_is_refused(small_project, tmp_path):
    text = small_project.config_path.read_text(encoding="utf-8") + "owners:\n  value: [marketing]\n"
    path = tmp_path / "cxdata.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(Exception, match=r"owners\.value.*'marketing'.*team:<name>"):
        load_config(path)


def test_the_executor_follows_the_warehouse_unless_named(small_project):
    config = load_config(small_project.config_path)
    assert build_definitions(config).executor is dg.in_process_executor
    assert build_definitions(config, executor="multiprocess").executor.name == "multiprocess"


def test_definitions_have_staging_identity_and_marts_with_lineage(small_project):
    defs = build_definitions(load_config(small_project.config_path))
    dg.Definitions.validate_loadable(defs)
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    # every source of the generated project is a file: each has its observable raw_ source (automation)
    raw = {f"raw_{t}" for t in schema.TABLES}
    assert keys == {f"stg_{t}" for t in schema.TABLES} | raw | EVERY_DOMAIN | GENERATED_ONLY
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    assert specs["stg_orders"].group_name == "sales"
    assert specs["stg_tickets"].group_name == "service"
    assert specs["stg_web_events"].group_name == "web"
    assert specs["stg_touchpoint_costs"].group_name == "marketing"
    assert specs["dim_customer"].group_name == "customer"
    assert specs["customer_scores"].group_name == "value"
    assert {dep.asset_key.to_user_string() for dep in specs["customer_scores"].deps} == {
        "fct_orders",
        "dim_customer",
    }
    upstream = {dep.asset_key.to_user_string() for dep in specs["customer_identity"].deps}
    assert upstream == {f"stg_{t}" for t in schema.TABLES if t != "touchpoint_costs"}
    assert {dep.asset_key.to_user_string() for dep in specs["fct_orders"].deps} == {
        "stg_orders",
        "identity_record_keys",
    }
    assert {dep.asset_key.to_user_string() for dep in specs["cx_kpis_daily"].deps} == FACTS - {"fct_touches"} | {
        "dim_customer"
    }
    assert "customer_identity" in {dep.asset_key.to_user_string() for dep in specs["dim_customer"].deps}


def test_erasure_requests_run_after_identity_and_before_every_customer_mart(small_project):
    config = small_project.out_dir / "erasing.yaml"
    text = small_project.config_path.read_text(encoding="utf-8")
    config.write_text(text + "privacy:\n  requests: {path: requests, format: csv}\n", encoding="utf-8")
    specs = build_definitions(load_config(config)).resolve_all_asset_specs()
    deps = {s.key.to_user_string(): {d.asset_key.to_user_string() for d in s.deps} for s in specs}
    assert deps["erasure_log"] == IDENTITY
    readers = {name for name, upstream in deps.items() if "erasure_log" in upstream}
    assert readers >= FACTS | {"dim_customer", "dim_customer_pii", "customer_consent"}


def test_a_failed_clv_check_gates_only_what_reads_clv(small_project):
    defs = build_definitions(load_config(small_project.config_path))
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    # the touchpoint step runs after the value step through an output that step always materialises
    touchpoint_deps = {dep.asset_key.to_user_string() for dep in specs["touchpoint_scores"].deps}
    assert "customer_rfm" in touchpoint_deps and "customer_scores" not in touchpoint_deps
    value = defs.resolve_assets_def("customer_scores")
    assert {key.to_user_string() for key in value.keys} >= {"customer_rfm", "customer_scores"}
    skippable = {spec.key.to_user_string() for spec in value.specs if spec.skippable}
    assert skippable == {"customer_scores", "customer_scores_history", "segment_members", "segment_summary"}
    # a blocking check failure would fail the whole value step and skip the touchpoint step with it
    usable = next(spec for spec in value.check_specs if spec.name == "clv_model_usable")
    assert not usable.blocking
    readers = {
        name
        for name, spec in specs.items()
        if "customer_scores" in {d.asset_key.to_user_string() for d in spec.deps}
    }
    assert {"cx_alerts", "bi_customer_overview"} <= readers
    # the views that need no scores, and the report, do not wait for them
    assert not {"bi_kpis_daily", "bi_touchpoint_investment", "cx_report"} & readers
    steps = {
        name: {key.to_user_string() for key in defs.resolve_assets_def(name).keys}
        for name in ("bi_kpis_daily", "bi_customer_overview", "bi_segments", "marketing_segment_export")
    }
    assert steps["bi_kpis_daily"] == {
        "bi_kpis_daily",
        "bi_touchpoint_investment",
        "bi_people",
        "bi_orders_by_channel_daily",
        *SOURCE_VIEWS,
    }
    assert steps["bi_customer_overview"] == {"bi_customer_overview"}
    assert steps["bi_segments"] == {"bi_segments", "segment_definitions"} and steps[
        "marketing_segment_export"
    ] == {"marketing_segment_export"}
    names = {defs.resolve_assets_def(name).node_def.name for name in steps}
    assert names == {
        "bi_views",
        "bi_views_after_customer_scores",
        "bi_views_after_segment_summary",
        "bi_views_after_customer_scores_segment_members",
    }


def test_minimal_project_has_only_orders(tmp_path):
    (tmp_path / "orders.csv").write_text("order_id,ordered_at,amount\n1,2024-01-01,3\n", encoding="utf-8")
    (tmp_path / "cxdata.yaml").write_text("name: m\nsources:\n  orders: {path: orders.csv}\n", encoding="utf-8")
    defs = build_definitions(load_config(tmp_path / "cxdata.yaml"))
    keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    # no surveys or tickets: nothing to alert on
    assert (
        keys
        == {"raw_orders", "stg_orders", "fct_orders"}
        | IDENTITY
        | CUSTOMER_WIDE
        | VALUE
        | TOUCHPOINTS
        | ACTIVATION
        | DELIVERY
        | PRIVACY
    )
    dg.Definitions.validate_loadable(defs)


def test_dagster_itself_loads_the_code_location_from_pyproject(small_project):
    # The same entry point `dagster dev` uses: [tool.dagster] in pyproject.toml, the project from CXDATA_CONFIG.
    env = {**os.environ, "CXDATA_CONFIG": str(small_project.config_path)}
    done = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def expected_rows(project) -> dict[str, int]:
    return {f"stg_{table}": rows for table, rows in project.row_counts.items()}


def check_published(url: str, db_schema: str | None, project, run_id: str) -> None:
    with Warehouse(url, schema=db_schema) as wh:
        counts = {name: wh.row_count(name) for name in expected_rows(project)}
        orders = wh.read("stg_orders")
        keys = wh.read("identity_record_keys")
        facts = wh.read("fct_orders")
        customers = wh.read("dim_customer")
        scores = wh.read("customer_scores")
        runs = wh.read("model_runs", where={"run_id": run_id})  # the last run's; earlier runs' stay logged
        members = wh.read("segment_members")
        rfm = wh.read("customer_rfm")
        touchpoints = wh.read("touchpoint_scores")
        touchpoint_history = wh.read("touchpoint_scores_history")
    assert counts == expected_rows(project)
    assert orders.schema["ordered_at"] == pl.Datetime("us", "UTC")
    assert orders["order_id"].n_unique() == orders.height
    # Every identity-bearing record resolved once; every order reaches a customer of dim_customer.
    identity_rows = sum(n for t, n in project.row_counts.items() if t != "touchpoint_costs")
    assert keys.height == identity_rows
    assert facts.height == orders.height
    assert facts["customer_key"].null_count() == 0
    assert customers["customer_key"].n_unique() == customers.height
    assert set(facts["customer_key"]) <= set(customers["customer_key"])
    # every buyer is scored by a run that model_runs records
    assert set(scores["customer_key"]) <= set(customers["customer_key"])
    assert scores.height == facts.filter(~pl.col("is_refund"))["customer_key"].n_unique()
    assert scores["p_alive"].is_between(0, 1).all()
    # the published summary is the one the scores were computed from
    joined = rfm.join(scores, on="customer_key", suffix="_scored")
    assert joined.height == scores.height == rfm.height
    assert (joined["frequency"] == joined["frequency_scored"]).all() and (joined["T"] == joined["T_scored"]).all()
    assert set(scores["model_run_id"]) <= set(runs["model_run_id"])
    # churn ran after CLV in the same asset: every scored customer has a probability and one segment
    assert scores["churn_probability"].is_between(0, 1).all()
    assert scores["segment"].null_count() == 0
    assert set(scores["churn_model_run_id"]) <= set(runs["model_run_id"])
    assert members.sort("customer_key")["segment"].to_list() == scores.sort("customer_key")["segment"].to_list()
    # touchpoints: every campaign with a cost is scored and recommended, service channels get a retention row
    paid = touchpoints.filter(pl.col("cost") > 0)
    assert paid.height == len(SynthParams().campaigns)
    assert set(paid["recommendation"]) <= {"invest", "hold", "cut"}
    service = set(touchpoints.filter(pl.col("source") == "service")["channel"])
    assert service and service <= {channel.name for channel in SynthParams().ticket_channels}
    # the history holds each computation once; a later run within the cadence kept these figures
    assert touchpoint_history.height == touchpoints.height
    touchpoint_run = runs.filter(pl.col("kind") == "touchpoints")
    assert touchpoint_run["status"].to_list() == ["ok"]
    assert set(touchpoints["model_run_id"]) == set(touchpoint_run["fitted_run_id"])
    assert set(touchpoint_history["model_run_id"]) == set(touchpoint_run["fitted_run_id"])
    assert touchpoints["attributed_clv"].sum() > 0


def test_materialise_everything_on_duckdb(materialised_on_duckdb):
    run = materialised_on_duckdb  # the session's shared runs (tests/conftest.py): the last one is checked
    assert run.outcome.success, run.outcome.failures
    assert set(run.outcome.materialised) == set(expected_rows(run.project)) | EVERY_DOMAIN | GENERATED_ONLY
    check_published(run.url, None, run.project, run.outcome.run_id)


def test_materialise_everything_on_postgresql(materialised_on_postgresql):
    run = materialised_on_postgresql  # the session's shared run (tests/conftest.py): same project as above
    assert run.outcome.success, run.outcome.failures
    assert set(run.outcome.materialised) == set(expected_rows(run.project)) | EVERY_DOMAIN | GENERATED_ONLY
    check_published(run.url, run.schema, run.project, run.outcome.run_id)


def test_a_source_over_its_quarantine_limit_fails_its_asset_with_the_reason(tmp_path, monkeypatch):
    (tmp_path / "orders.csv").write_text("order_id,ordered_at,amount\n1,2024-01-01,lots\n", encoding="utf-8")
    (tmp_path / "cxdata.yaml").write_text("name: m\nsources:\n  orders: {path: orders.csv}\n", encoding="utf-8")
    monkeypatch.setenv(WAREHOUSE_URL_ENV, f"duckdb:///{tmp_path / 'wh.duckdb'}")
    outcome = run_project(load_config(tmp_path / "cxdata.yaml"))
    assert not outcome.success
    assert list(outcome.failures) == ["stg_orders"]
    message = outcome.failures["stg_orders"]
    assert message.startswith("source 'orders' (orders.csv): 1 of 1 row(s) (100.0%) failed the row rules")
    assert "'lots' in column 'amount' (record 1 of orders.csv)" in message


def test_an_unexpected_error_fails_its_asset_with_one_line(tmp_path, monkeypatch):
    import pipelines.staging

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(pipelines.staging, "stage_step", broken)
    (tmp_path / "orders.csv").write_text("order_id,ordered_at,amount\n1,2024-01-01,3\n", encoding="utf-8")
    (tmp_path / "cxdata.yaml").write_text("name: m\nsources:\n  orders: {path: orders.csv}\n", encoding="utf-8")
    monkeypatch.setenv(WAREHOUSE_URL_ENV, f"duckdb:///{tmp_path / 'wh.duckdb'}")
    outcome = run_project(load_config(tmp_path / "cxdata.yaml"))
    assert list(outcome.failures) == ["stg_orders"]
    assert outcome.failures["stg_orders"] == "RuntimeError: boom"
    # the whole error, stack included, stays in Dagster's event log
    with dg.DagsterInstance.get() as instance:
        logged = [
            entry.dagster_event.step_failure_data.error.to_string()
            for entry in instance.all_logs(outcome.run_id)
            if entry.dagster_event is not None and entry.dagster_event.is_step_failure
        ]
    assert len(logged) == 1 and "second line" in logged[0] and "in broken" in logged[0]
