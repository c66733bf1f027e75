"""The cx_report asset: after every asset a run always materialises; the page beside the project, plots in
metadata."""

from __future__ import annotations

import base64
import datetime as dt

import dagster as dg
import polars as pl

from cxdata.config import load_config
from cxdata.warehouse import Warehouse
from pipelines.definitions import DOMAINS, build_definitions
from pipelines.report import report_asset
from pipelines.resources import ProjectResource, WarehouseResource

UTC = pl.Datetime("us", "UTC")


def kpis() -> pl.DataFrame:
    days = [dt.date(2025, 3, 3) + dt.timedelta(days=d) for d in range(21)]
    n = len(days)
    return pl.DataFrame(
        {
            "date": days, "dimension": ["total"] * n, "dimension_value": ["all"] * n, "csat": [0.8] * n,
            "csat_responses": [5] * n,
            "nps": [20.0] * n, "nps_responses": [4] * n, "ces_mean": [None] * n, "ces_responses": [0] * n,
            "median_first_response_hours": [2.0] * n, "tickets_opened": [3] * n, "sessions": [10] * n,
            "converted_sessions": [2] * n, "orders": list(range(n)), "revenue": [10.0 * d for d in range(n)],
            "new_customers": [1] * n, "repeat_customers": [1] * n,
        },
        schema_overrides={"ces_mean": pl.Float64},
    )  # fmt: skip


def test_report_asset_writes_the_page_and_shows_its_plots(tmp_path):
    (tmp_path / "orders.csv").write_text("order_id,ordered_at,amount\n1,2025-03-01,3\n", encoding="utf-8")
    (tmp_path / "cxdata.yaml").write_text(
        "name: m\nwarehouse: duckdb:///wh.duckdb\nsources:\n  orders: {path: orders.csv}\n", encoding="utf-8"
    )
    config = load_config(tmp_path / "cxdata.yaml")
    with Warehouse(config.warehouse) as wh:
        wh.publish("cx_kpis_daily", kpis())
        # materialised alone, the report's run resolves its as_of from what is staged: the last order's day
        last_order = dt.datetime(2025, 3, 23, 18, tzinfo=dt.UTC)
        wh.publish("stg_orders", pl.DataFrame({"ordered_at": [last_order]}, schema={"ordered_at": UTC}))
    project = ProjectResource(config_path=str(config.path))
    result = dg.materialize(
        [report_asset([])], resources={"project": project, "warehouse": WarehouseResource(project=project)}
    )
    assert result.success
    metadata = result.asset_materializations_for_node("cx_report")[0].metadata
    page = tmp_path / ".cxdata" / "report.html"
    assert metadata["path"].value == str(page) and page.exists()
    plot = metadata["plot_kpi_trends"].value
    png = base64.b64decode(plot.split("base64,", 1)[1].rstrip(")"))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and base64.b64encode(png).decode() in page.read_text("utf-8")
    assert [k for k in metadata if k.startswith("plot_")] == ["plot_kpi_trends"]
    assert "No touchpoint scores yet" in metadata["sections_without_data"].value
    assert "2025-03-23 23:59 UTC" in page.read_text("utf-8")  # the end of that day in the project's zone (UTC)


def test_report_asset_depends_on_every_asset_a_run_always_materialises(tmp_path):
    (tmp_path / "orders.csv").write_text("order_id,ordered_at,amount\n1,2025-03-01,3\n", encoding="utf-8")
    (tmp_path / "cxdata.yaml").write_text("name: m\nsources:\n  orders: {path: orders.csv}\n", encoding="utf-8")
    config = load_config(tmp_path / "cxdata.yaml")
    defs = build_definitions(config)
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    upstream = {dep.asset_key.to_user_string() for dep in specs["cx_report"].deps}
    domains = {key.to_user_string() for d in DOMAINS for a in d.assets(config) for key in a.keys}
    # a run without a usable CLV model skips the scores and segments (and the membership history replayed from
    # them): the report is written without them
    skippable = {"customer_scores", "customer_scores_history", "segment_members", "segment_summary"}
    skippable |= {"segment_membership", "segment_events", "segment_scorings"}
    assert upstream == domains - skippable
    assert {"dim_customer", "cx_kpis_daily", "customer_rfm", "model_runs", "touchpoint_scores"} <= upstream
    assert specs["cx_report"].group_name == "report"


def test_report_asset_labels_amounts_with_the_project_currency(tmp_path):
    (tmp_path / "orders.csv").write_text("order_id,ordered_at,amount\n1,2025-03-01,3\n", encoding="utf-8")
    (tmp_path / "cxdata.yaml").write_text(
        "name: m\ncurrency: SEK\nwarehouse: duckdb:///wh.duckdb\nsources:\n  orders: {path: orders.csv}\n",
        encoding="utf-8",
    )
    config = load_config(tmp_path / "cxdata.yaml")
    with Warehouse(config.warehouse) as wh:
        wh.publish("cx_kpis_daily", kpis())
        # materialised alone, the report's run resolves its as_of from what is staged: the last order's day
        last_order = dt.datetime(2025, 3, 23, 18, tzinfo=dt.UTC)
        wh.publish("stg_orders", pl.DataFrame({"ordered_at": [last_order]}, schema={"ordered_at": UTC}))
    project = ProjectResource(config_path=str(config.path))
    result = dg.materialize(
        [report_asset([])], resources={"project": project, "warehouse": WarehouseResource(project=project)}
    )
    assert result.success
    page = (tmp_path / ".cxdata" / "report.html").read_text("utf-8")
    assert "SEK" in page and "EUR" not in page
