"""The whole path through `cxdata run`: a generated project ends with touchpoint scores (DuckDB, PostgreSQL)."""

from __future__ import annotations

import polars as pl
import pytest

from cxdata.cli import main
from cxdata.config import WAREHOUSE_SCHEMA_ENV, WAREHOUSE_URL_ENV
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("touchpoint_run")
    generated = generate_project(root, SynthParams(customers=400, seed=31))
    config = generated.config_path
    text = config.read_text(encoding="utf-8")
    assert "\nmodels:\n" in text
    config.write_text(text.replace("\nmodels:\n", "\nmodels:\n  touchpoints: {bootstrap_replicates: 20}\n"))
    return generated


@pytest.fixture
def target(request, tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    if request.param == "duckdb":
        url, schema = f"duckdb:///{tmp_path / 'wh.duckdb'}", None
    else:
        url, schema = request.getfixturevalue("pg_schema")
        monkeypatch.setenv(WAREHOUSE_SCHEMA_ENV, schema)
    monkeypatch.setenv(WAREHOUSE_URL_ENV, url)
    return url, schema


@pytest.mark.slow
@pytest.mark.parametrize("target", ["duckdb", "postgresql"], indirect=True)
def test_cxdata_run_publishes_touchpoint_scores(project, target, capsys):
    assert main(["run", "--config", str(project.config_path)]) == 0, capsys.readouterr().out
    url, schema = target
    with Warehouse(url, schema=schema) as wh:
        scores = wh.read("touchpoint_scores")
        history = wh.read("touchpoint_scores_history")
        runs = wh.read("model_runs")
        customers = wh.read("customer_scores")
    assert scores.height > 0 and history.height == scores.height
    paid = scores.filter(pl.col("cost") > 0)
    assert paid.height == len(SynthParams().campaigns)
    assert set(paid["recommendation"]) <= {"invest", "hold", "cut"}
    assert scores.filter(pl.col("source") == "service").height == 3
    run = runs.filter(pl.col("kind") == "touchpoints")
    assert run["status"].to_list() == ["ok"] and run["model_run_id"][0] == scores["model_run_id"][0]
    # attributed CLV comes from the customer_scores the same run published
    assert scores["attributed_clv"].sum() > 0 and customers.height > 0
