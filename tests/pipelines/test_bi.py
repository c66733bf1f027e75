"""The BI views step: created with the project's currency and hurdle, one step per set of skippable tables."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from cxdata.config import load_config
from cxdata.warehouse import Warehouse
from cxdata.warehouse.views import VIEWS
from pipelines.bi import step_name, views_asset
from pipelines.resources import ProjectResource, WarehouseResource

# a touchpoint_scores of the version before evidence, currency and hurdle: the view shows the project's
SCORES = pl.DataFrame(
    {
        "touchpoint": ["email/winback", "display/retargeting"],
        "recommendation": ["invest", "hold"],
        "roi": [3.0, 0.9],
        "roi_low": [2.0, 0.1],
        "roi_high": [4.0, 1.7],
    }
).with_columns(
    pl.lit(dt.datetime(2025, 6, 30, tzinfo=dt.UTC)).alias("as_of"), pl.lit("marketing").alias("source"),
    pl.col("touchpoint").str.split("/").list.first().alias("channel"), pl.lit("c").alias("campaign"),
    pl.lit(2.0).alias("conversions"), pl.lit(80.0).alias("revenue"), pl.lit(40.0).alias("attributed_clv"),
    pl.lit(0.0).alias("retention_value"), pl.lit(1.0).alias("incremental_orders"),
    (pl.col("roi") * 100).alias("incremental_revenue"), (pl.col("roi") * 100).alias("incremental_value"),
    pl.lit(100.0).alias("cost"), pl.lit("t1").alias("model_run_id"),
)  # fmt: skip


def test_views_take_the_project_currency_and_hurdle(tmp_path):
    (tmp_path / "orders.csv").write_text("order_id,ordered_at,amount\n1,2025-03-01,3\n", encoding="utf-8")
    (tmp_path / "cxdata.yaml").write_text(
        "name: m\ncurrency: GBP\nwarehouse: duckdb:///wh.duckdb\nsources:\n  orders: {path: orders.csv}\n"
        "models:\n  touchpoints: {hurdle: 1.25}\n",
        encoding="utf-8",
    )
    config = load_config(tmp_path / "cxdata.yaml")
    with Warehouse(config.warehouse) as wh:
        wh.publish("touchpoint_scores", SCORES)
    view = next(v for v in VIEWS if v.name == "bi_touchpoint_investment")
    project = ProjectResource(config_path=str(config.path))
    result = dg.materialize(
        [views_asset([view], {"sql"})],
        resources={"project": project, "warehouse": WarehouseResource(project=project)},
    )
    assert result.success
    with Warehouse(config.warehouse) as wh:
        rows = wh.read("bi_touchpoint_investment", columns=["touchpoint", "currency", "hurdle", "decision_note"])
    assert set(rows["currency"]) == {"GBP"} and set(rows["hurdle"]) == {1.25}
    note = rows.filter(pl.col("touchpoint") == "email/winback")["decision_note"].item()
    assert "GBP per 1 GBP spent" in note and "hurdle 1.25" in note


def test_step_names_say_what_they_wait_for():
    assert step_name(()) == "bi_views"
    assert step_name(("segment_members", "customer_scores")) == "bi_views_after_customer_scores_segment_members"
