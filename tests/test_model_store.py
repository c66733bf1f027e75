"""Models on a cadence: artifacts round-trip their bytes on DuckDB and PostgreSQL, a run between refits scores
with the stored fit exactly as the fit did, the cadence fits every refit_every_days, and an artifact that is
tampered with or written by other versions forces a refit that says why."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cxdata import model_store
from cxdata.churn.step import value_step
from cxdata.config import ClvConfig
from cxdata.model_runs import model_run
from cxdata.run_context import RunContext
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse

from .facts import person_facts, published_facts

UTC = dt.UTC
AS_OF = dt.datetime(2026, 6, 30, 21, 59, 59, 999999, UTC)
# every CLV and churn column a score-only run must reproduce
SCORED = [
    "customer_key", "frequency", "recency", "T", "monetary_value", "p_alive", "expected_purchases",
    "expected_spend", "clv", "clv_percentile", "churn_probability", "churn_percentile", "value_at_risk",
    "churn_reason_1", "churn_reason_2", "churn_reason_3", "segment",
]  # fmt: skip
# bytes a text path would mangle: NUL, backslashes, an escape-looking prefix, every byte value
TRICKY = b"\x00\\x41\\\\" + bytes(range(256)) + b"\r\n\x00"


def _run(run_id: str, as_of: dt.datetime, hour: int = 0) -> RunContext:
    return RunContext(run_id, as_of, as_of + dt.timedelta(hours=hour + 1))


def test_artifacts_round_trip_their_bytes(warehouse_target):
    url, schema = warehouse_target
    value = {"blob": TRICKY, "weights": [0.1, 1e-300, float("inf")], "name": "ü"}
    row = model_store.artifact("r1/clv", "clv", value)
    with Warehouse(url, schema=schema) as wh:
        with wh.transaction() as tx:
            model_store.stage(tx, row)
            tx.append("raw_bytes", pl.DataFrame({"payload": [TRICKY, b"", None]}, schema={"payload": pl.Binary}))
        stored = wh.read(model_store.TABLE)
        raw = wh.read("raw_bytes")["payload"].to_list()
        loaded = model_store.load(wh, "r1/clv", "clv")
    assert stored.schema == pl.Schema(model_store.COLUMNS)
    assert stored["payload"][0] == row["payload"][0]
    assert stored["sha256"][0] == hashlib.sha256(stored["payload"][0]).hexdigest()
    assert raw == [TRICKY, b"", None]
    assert loaded == value


def _fit_row(config: ClvConfig, run: RunContext) -> pl.DataFrame:
    return model_run(
        run, model_run_id=f"{run.run_id}/clv", kind="clv", config=config, model="bgnbd", failed=None,
        window=(None, None), n_customers=1, n_orders=1, warnings=[], reason="no usable clv fit yet",
    )  # fmt: skip


def test_a_tampered_or_foreign_artifact_forces_a_refit_that_says_why(duckdb_url):
    config, fit = ClvConfig(), _run("r1", AS_OF)
    later = _run("r2", AS_OF + dt.timedelta(days=2))
    with Warehouse(duckdb_url) as wh:
        assert model_store.decide(wh, "clv", later, 7, config).reason == "no usable clv fit yet"
        with wh.transaction() as tx:
            tx.append("model_runs", _fit_row(config, fit))
            model_store.stage(tx, model_store.artifact("r1/clv", "clv", {"fitted": True}))
        good = model_store.decide(wh, "clv", later, 7, config)
        assert not good.refit and good.model == {"fitted": True} and good.fit["model_run_id"] == "r1/clv"
        assert good.reason == "scored with r1/clv, 2 days old (refit every 7 days)"
        assert model_store.decide(wh, "clv", later, 7, config, refit=True).reason == "refit forced"
        assert "2 days old (refit every 2 days)" in model_store.decide(wh, "clv", later, 2, config).reason
        other = config.model_copy(update={"horizon_days": 30})
        assert (
            model_store.decide(wh, "clv", later, 7, other).reason
            == "the clv config differs from the last fit r1/clv's"
        )
        stored = wh.read(model_store.TABLE)
        flipped = bytes([stored["payload"][0][0] ^ 1]) + stored["payload"][0][1:]
        wh.publish(model_store.TABLE, stored.with_columns(pl.Series("payload", [flipped])))
        tampered = model_store.decide(wh, "clv", later, 7, config)
        wh.publish(model_store.TABLE, stored.with_columns(pl.lit("0.0.1").alias("scikit_learn_version")))
        foreign = model_store.decide(wh, "clv", later, 7, config)
    assert tampered.refit and tampered.reason.endswith("do not match the stored sha256 and length")
    assert foreign.refit and "written by other versions: scikit_learn_version 0.0.1 != " in foreign.reason


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A small generated project's facts keyed by true person, with fast CLV and churn settings."""
    root = tmp_path_factory.mktemp("model_store")
    generate_project(root, SynthParams(customers=600, seed=23))
    config, facts = person_facts(root)
    clv = config.models.clv.model_copy(update={"penalizers": [0.01], "model": "bgnbd"})
    churn = config.models.churn.model_copy(update={"cutoffs": 2, "max_iter": 60, "importance_repeats": 1})
    models = config.models.model_copy(update={"clv": clv, "churn": churn, "refit_every_days": 7})
    return config.model_copy(update={"models": models}), facts


def _value(wh: Warehouse, config, run: RunContext, refit: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    clv, churn = value_step(wh, config, run, refit)
    assert clv.failed is None and churn is not None and churn.failed is None, (clv.failed, churn and churn.failed)
    runs = wh.read("model_runs", where={"run_id": run.run_id}).sort("kind")
    return wh.read("customer_scores", columns=SCORED).sort("customer_key"), runs


def test_a_score_only_run_reproduces_the_fit_runs_scores(project, warehouse_target):
    config, facts = project
    url, schema = warehouse_target
    with Warehouse(url, schema=schema) as wh:
        as_of = published_facts(wh, facts)
        fitted, fit_runs = _value(wh, config, _run("r1", as_of))
        scored, score_runs = _value(wh, config, _run("r2", as_of, 1))
        artifacts = wh.read(model_store.TABLE, columns=["model_run_id", "kind", "bytes"])
    assert fit_runs["mode"].to_list() == ["fit", "fit"] and score_runs["mode"].to_list() == ["score", "score"]
    assert score_runs["fitted_run_id"].to_list() == ["r1/churn", "r1/clv"]
    assert score_runs["mode_reason"].str.starts_with("scored with r1/").all()
    # the fit's columns are carried, not recomputed: the holdout metrics are the fit's
    for column in ("params_json", "holdout_mae", "holdout_auc", "candidates_json", "calibration_end"):
        assert score_runs[column].to_list() == fit_runs[column].to_list(), column
    assert sorted(artifacts["kind"].to_list()) == ["churn", "clv"] and (artifacts["bytes"] > 0).all()
    assert set(artifacts["model_run_id"]) == {"r1/clv", "r1/churn"}  # the score run stored nothing
    assert scored["churn_probability"].null_count() == 0
    assert_frame_equal(fitted, scored, check_exact=False, rel_tol=0, abs_tol=1e-9)


def test_the_cadence_fits_every_refit_every_days_and_after_a_tampered_artifact(project, duckdb_url):
    config, facts = project
    with Warehouse(duckdb_url) as wh:
        end = published_facts(wh, facts)
        day = end - dt.timedelta(days=7)
        modes = {}
        for n, (run_id, as_of) in enumerate([("d0", day), ("d3", day + dt.timedelta(days=3))]):
            modes[run_id] = _value(wh, config, _run(run_id, as_of, n))[1]
        # a flipped byte in the stored churn model: the next run refits churn and says why; CLV still scores
        stored = wh.read(model_store.TABLE)
        cut = [p[1:] if kind == "churn" else p for kind, p in zip(stored["kind"], stored["payload"], strict=True)]
        wh.publish(model_store.TABLE, stored.with_columns(pl.Series("payload", cut, pl.Binary)))
        modes["d3b"] = _value(wh, config, _run("d3b", day + dt.timedelta(days=3), 5))[1]
        modes["d7"] = _value(wh, config, _run("d7", day + dt.timedelta(days=7), 9))[1]
    said = {run: dict(zip(r["kind"], r["mode"], strict=True)) for run, r in modes.items()}
    assert said == {
        "d0": {"churn": "fit", "clv": "fit"},
        "d3": {"churn": "score", "clv": "score"},
        "d3b": {"churn": "fit", "clv": "score"},
        "d7": {"churn": "score", "clv": "fit"},  # churn's last fit, d3b, is 4 days old
    }
    reasons = {run: dict(zip(r["kind"], r["mode_reason"], strict=True)) for run, r in modes.items()}
    assert reasons["d0"]["clv"] == "no usable clv fit yet"
    assert reasons["d3"]["clv"] == "scored with d0/clv, 3 days old (refit every 7 days)"
    assert reasons["d3b"]["churn"] == (
        "the stored churn model of d0/churn is unusable: its bytes do not match the stored sha256 and length"
    )
    assert reasons["d3b"]["clv"] == "scored with d0/clv, 3 days old (refit every 7 days)"
    assert reasons["d7"]["clv"] == "the last fit d0/clv is 7 days old (refit every 7 days)"
    assert reasons["d7"]["churn"] == "scored with d3b/churn, 4 days old (refit every 7 days)"
    assert json.loads(modes["d7"].filter(pl.col("kind") == "clv")["params_json"][0])
