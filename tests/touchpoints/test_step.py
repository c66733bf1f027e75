"""touchpoint_step on DuckDB and PostgreSQL: scores, history, model run, comments; a forced recomputation at the
same moment replaces its history rows."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cxdata.run_context import end_of_day, run_context
from cxdata.synth import SynthParams, generate_project
from cxdata.touchpoints.roi import SCORE_COLUMNS
from cxdata.touchpoints.step import touchpoint_step
from cxdata.warehouse import Warehouse

from .projects import person_tables, with_touchpoints


@pytest.fixture(scope="module")
def small_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("touchpoint_step")
    generate_project(root, SynthParams(customers=800, seed=29))
    config, tables = person_tables(root)
    return with_touchpoints(config, bootstrap_replicates=20), tables


def test_touchpoint_step_publishes_scores_history_and_run(small_project, warehouse_target):
    config, tables = small_project
    url, schema = warehouse_target
    with Warehouse(url, schema=schema) as wh:
        for name, frame in tables.items():
            wh.publish(name, frame)
        report = touchpoint_step(wh, config, run_context(wh, config, "r1"))
        # within the cadence a run keeps r1's figures (tests/touchpoints/test_cadence.py); forced, it recomputes
        again = touchpoint_step(wh, config, run_context(wh, config, "r2"), refit=True)
        scores = wh.read("touchpoint_scores")
        history = wh.read("touchpoint_scores_history")
        runs = wh.read("model_runs")
        comments = wh.column_comments("touchpoint_scores")
        history_comment = wh.table_comment("touchpoint_scores_history")
    assert report.failed is None and again.failed is None
    assert scores.columns == SCORE_COLUMNS
    paid = scores.filter(pl.col("cost") > 0)
    campaigns = {f"{c['channel']}/{c['campaign']}" for c in SynthParams().to_dict()["campaigns"]}
    assert set(paid["touchpoint"]) == campaigns
    assert set(paid["recommendation"]) <= {"invest", "hold", "cut"}
    assert (paid["roi_low"] <= paid["roi"]).all() and (paid["roi"] <= paid["roi_high"]).all()
    assert {"service:phone", "service:chat", "service:email"} <= set(scores["touchpoint"])
    assert scores.filter(pl.col("source") == "service")["recommendation"].null_count() == 3
    # the recomputation for the same as_of replaced the first one's rows
    assert history.height == scores.height and history["model_run_id"].unique().to_list() == ["r2/touchpoints"]
    run = runs.filter(pl.col("kind") == "touchpoints").sort("model_run_id")
    assert run["model_run_id"].to_list() == ["r1/touchpoints", "r2/touchpoints"]
    assert run["status"].to_list() == ["ok", "ok"] and run["model"].to_list() == ["markov", "markov"]
    assert run["mode"].to_list() == ["fit", "fit"]
    assert run["mode_reason"].to_list() == ["no usable touchpoints fit yet", "refit forced"]
    params = json.loads(run["params_json"][0])
    assert {r["model"] for r in params["attribution"]} >= {"markov", "shapley", "last_touch"}
    assert report.plots["roi"][:4] == b"\x89PNG" and report.plots["removal_effects"][:4] == b"\x89PNG"
    assert all(comments[c] for c in SCORE_COLUMNS) and history_comment


def test_without_orders_the_step_records_a_failed_run(tmp_path, small_project):
    config, _ = small_project
    with Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        report = touchpoint_step(wh, config, run_context(wh, config, "r0"))
        runs = wh.read("model_runs")
        assert not wh.exists("touchpoint_scores")
    assert report.failed and runs["status"].to_list() == ["failed"]


@pytest.mark.parametrize("scores", ["absent", "null_clv", "stale"])
def test_credit_is_published_without_this_moments_clv(tmp_path, small_project, scores):
    config, tables = small_project
    moment = end_of_day(config.as_of, config.timezone)
    with_clv = tables["customer_scores"].with_columns(pl.lit(moment).alias("as_of"))
    variants = {
        "absent": None,
        "null_clv": with_clv.with_columns(pl.lit(None, dtype=pl.Float64).alias("clv")),
        "stale": with_clv.with_columns(pl.lit(dt.datetime(2001, 1, 1, tzinfo=dt.UTC)).alias("as_of")),
    }
    reports, published, runs = {}, {}, {}
    for name, customer_scores in (("scored", with_clv), (scores, variants[scores])):
        with Warehouse(f"duckdb:///{tmp_path / f'{name}.duckdb'}") as wh:
            for table, frame in tables.items():
                if table != "customer_scores":
                    wh.publish(table, frame)
            if customer_scores is not None:
                wh.publish("customer_scores", customer_scores)
            reports[name] = touchpoint_step(wh, config, run_context(wh, config, "r1"))
            published[name] = wh.read("touchpoint_scores").sort("touchpoint")
            runs[name] = wh.read("model_runs").row(0, named=True)
    full, bare = reports["scored"], reports[scores]
    assert full.clv_missing is None and full.failed is None and bare.failed is None
    # every credit but CLV is the same as with this moment's CLV, for every model
    models = ["first_touch", "last_touch", "markov", "shapley"]
    credit = [pl.col("model").is_in(models)]
    same = ["model", "touchpoint", "conversions", "revenue", "removal_effect"]
    assert_frame_equal(
        full.attribution.filter(*credit).select(same), bare.attribution.filter(*credit).select(same)
    )
    assert bare.attribution.filter(pl.col("model") == "markov")["conversions"].sum() > 0
    assert full.attribution["clv"].sum() > 0 and bare.attribution["clv"].null_count() == bare.attribution.height
    assert published[scores]["attributed_clv"].null_count() == published[scores].height
    assert published["scored"]["attributed_clv"].sum() > 0
    # (float sums in the lift and cost steps are not bit-reproducible across runs, hence the tolerance)
    assert_frame_equal(
        published[scores].drop("attributed_clv"), published["scored"].drop("attributed_clv"), rel_tol=1e-9
    )
    # the reason is in the touchpoint model run, not raised
    reason = {"absent": "does not exist", "null_clv": "no CLV", "stale": "as of 2001-01-01"}[scores]
    run = runs[scores]
    assert run["status"] == "ok" and reason in run["warnings"] and "attributed CLV is null" in run["warnings"]
    assert reason in json.loads(run["params_json"])["attributed_clv_null_because"]
    assert json.loads(runs["scored"]["params_json"])["attributed_clv_null_because"] is None
