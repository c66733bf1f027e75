"""churn_step on DuckDB and PostgreSQL after clv_step: churn columns, segments, history and model runs."""

from __future__ import annotations

import json

import polars as pl
import pytest

from cxdata.churn.reads import read_inputs, read_purchases
from cxdata.churn.step import churn_step
from cxdata.clv.step import clv_step
from cxdata.run_context import run_context
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse

from ..facts import person_facts


@pytest.fixture(scope="module")
def small_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("churn_step")
    generate_project(root, SynthParams(customers=1500, seed=23))
    return person_facts(root)


def test_churn_step_publishes_scores_segments_and_run(small_project, warehouse_target):
    config, facts = small_project
    clv = config.models.clv.model_copy(update={"penalizers": [0.01], "model": "bgnbd"})
    churn = config.models.churn.model_copy(update={"cutoffs": 2, "max_iter": 60, "importance_repeats": 1})
    config = config.model_copy(update={"models": config.models.model_copy(update={"clv": clv, "churn": churn})})
    url, schema = warehouse_target
    with Warehouse(url, schema=schema) as wh:
        for name, frame in facts.items():
            wh.publish(name, frame)
        assert clv_step(wh, config, run_context(wh, config, "r1")).failed is None
        report = churn_step(wh, config, run_context(wh, config, "r1"))
        again = churn_step(wh, config, run_context(wh, config, "r1"))
        scores = wh.read("customer_scores")
        history = wh.read("customer_scores_history")
        members = wh.read("segment_members")
        summary = wh.read("segment_summary")
        runs = wh.read("model_runs")
        comments = wh.column_comments("customer_scores")
        member_comment = wh.table_comment("segment_members")
    assert report.failed is None and again.failed is None, (report.failed, again.failed)
    assert report.scored_customers == scores.height > 0
    assert scores["churn_probability"].is_between(0, 1).all()
    assert (scores["value_at_risk"] - scores["clv"] * scores["churn_probability"]).abs().max() < 1e-9
    assert scores["segment"].null_count() == 0
    assert set(members["customer_key"]) == set(scores["customer_key"]) and members.height == scores.height
    assert summary["customers"].sum() == scores.height
    assert history.height == scores.height and history["churn_probability"].null_count() == 0
    run = runs.filter(pl.col("model_run_id") == "r1/churn")
    assert run.height == 2 and run["status"].to_list() == ["ok", "ok"]
    assert json.loads(run["candidates_json"][0])["btyd_baseline"]["auc"] > 0.5
    assert report.plots["calibration"][:4] == b"\x89PNG" and report.plots["segments"][:4] == b"\x89PNG"
    assert comments["churn_probability"] and comments["segment"] and member_comment


def test_the_model_inputs_do_not_depend_on_the_order_the_facts_were_written_in(small_project, tmp_path):
    # an updated fact table holds its rows in another order than a full build (cxdata.marts.incremental)
    _, facts = small_project
    read = {}
    for name, order in (("written", lambda f: f), ("reversed", lambda f: f.reverse())):
        with Warehouse(f"duckdb:///{tmp_path / name}.duckdb") as wh:
            for table, frame in facts.items():
                wh.publish(table, order(frame))
            inputs = read_inputs(wh)
            read[name] = {field: getattr(inputs, field) for field in inputs.__dataclass_fields__}
            read[name]["purchases"] = read_purchases(wh)
    for field, frame in read["written"].items():
        if frame is not None:
            assert frame.collect().equals(read["reversed"][field].collect()), field
