"""clv_step on DuckDB and PostgreSQL: scores, history and model runs published and consistent."""

from __future__ import annotations

import json

import polars as pl

from cxdata.clv.step import clv_step
from cxdata.run_context import run_context
from cxdata.warehouse import Warehouse


def test_clv_step_publishes_scores_history_and_runs(truth_project, warehouse_target):
    _root, config, orders = truth_project
    clv = config.models.clv.model_copy(update={"penalizers": [0.0, 0.01]})
    config = config.model_copy(update={"models": config.models.model_copy(update={"clv": clv})})
    url, schema = warehouse_target
    with Warehouse(url, schema=schema) as wh:
        wh.publish("fct_orders", orders.with_columns(pl.lit(None, pl.String).alias("channel")))
        first = clv_step(wh, config, run_context(wh, config, "r1"))
        second = clv_step(wh, config, run_context(wh, config, "r2"))
        scores = wh.read("customer_scores")
        history = wh.read("customer_scores_history")
        runs = wh.read("model_runs")
        comment = wh.table_comment("customer_scores")
    assert first.failed is None and second.failed is None, (first.failed, second.failed)
    assert first.plots["tracking"][:4] == b"\x89PNG" and first.plots["calibration_vs_holdout"][:4] == b"\x89PNG"
    buyers = orders.filter(~pl.col("is_refund"))["customer_key"].n_unique()
    assert scores.height == first.scored_customers == buyers
    assert set(scores["model_run_id"]) == {"r2/clv"}
    # the second run is at the same moment: it replaces the first's history rows instead of adding a copy
    assert history.height == scores.height and set(history["model_run_id"]) == {"r2/clv"}
    assert scores["churn_probability"].null_count() == scores.height  # every column, churn null until it runs
    assert set(history["model_run_id"]) <= set(runs["model_run_id"])
    assert scores["p_alive"].is_between(0, 1).all()
    assert (scores["clv"] >= 0).all() and scores["clv_percentile"].max() == 100
    run = runs.filter(pl.col("model_run_id") == "r1/clv").row(0, named=True)
    assert run["status"] == "ok" and run["model"] == first.model
    assert json.loads(run["params_json"]) and json.loads(run["attempts_json"])
    assert run["calibration_end"] < run["holdout_end"]
    assert comment and "Lifetime-value" in comment
