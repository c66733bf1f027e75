"""The value step in customer shards (cxdata/churn/sharded.py) on DuckDB and PostgreSQL: 2 and 3 shards publish
what one shard publishes, to 1e-9, on a fit day and on a score-only day, with every sample of the global
fits (CLV evaluation, boosted and churn training, feature populations) smaller than the customers."""

from __future__ import annotations

import datetime as dt
import json
import math

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cxdata.churn import sharded
from cxdata.churn.reads import sample_shard
from cxdata.churn.step import value_step
from cxdata.clv import evaluate
from cxdata.clv.partials import combine
from cxdata.run_context import RunContext
from cxdata.shards import Shard, shards
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse

from ..facts import person_facts, published_facts

RUN_COLUMNS = [
    "kind", "mode", "model", "params_json", "candidates_json", "holdout_mae", "holdout_auc", "n_customers",
    "n_orders",
]  # fmt: skip
RUN_IDS = ["model_run_id", "churn_model_run_id", "run_id", "fitted_run_id"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A generated project's facts with fast models and every sample cap below its 500 customers."""
    root = tmp_path_factory.mktemp("sharded")
    generate_project(root, SynthParams(customers=500, seed=31))
    config, facts = person_facts(root)
    clv = config.models.clv
    boosted = clv.boosted.model_copy(update={"max_iter": 30, "max_train_rows": 600, "cutoffs": 3})
    clv = clv.model_copy(update={"penalizers": [0.01], "boosted": boosted})
    churn = config.models.churn.model_copy(
        update={"cutoffs": 2, "max_iter": 40, "importance_repeats": 1, "max_train_rows": 1_000,
                "btyd_fit_customers": 300}
    )  # fmt: skip
    models = config.models.model_copy(update={"clv": clv, "churn": churn, "refit_every_days": 7})
    return config.model_copy(update={"models": models}), facts


def _published(wh: Warehouse, run_id: str) -> dict[str, pl.DataFrame]:
    runs = wh.read("model_runs", where={"run_id": run_id})
    as_of = runs["as_of"][0]
    return {
        "customer_scores": wh.read("customer_scores").drop(RUN_IDS[:2]).sort("customer_key"),
        "customer_rfm": wh.read("customer_rfm").sort("customer_key"),
        "segment_members": wh.read("segment_members", where={"as_of": as_of}).drop("run_id").sort("customer_key"),
        "segment_summary": wh.read("segment_summary", where={"as_of": as_of}).drop("run_id").sort("segment"),
        "model_runs": runs.select(RUN_COLUMNS).sort("kind"),
    }


def _assert_close(mine, theirs, where: str = "") -> None:
    """Two model runs' JSON values equal, numbers to 1e-9 (relative), fit times left out."""
    if isinstance(mine, dict):
        keys = {k for k in mine if not k.endswith("seconds")}
        assert keys == {k for k in theirs if not k.endswith("seconds")}, where
        for key in keys:
            _assert_close(mine[key], theirs[key], f"{where}/{key}")
    elif isinstance(mine, list):
        assert len(mine) == len(theirs), where
        for n, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            _assert_close(a, b, f"{where}[{n}]")
    elif isinstance(mine, float) and isinstance(theirs, float):
        assert math.isclose(mine, theirs, rel_tol=1e-9, abs_tol=1e-12) or mine == theirs, (where, mine, theirs)
    else:
        assert mine == theirs, (where, mine, theirs)


def test_partials_of_any_split_sum_to_the_unsharded_one(project, duckdb_url):
    config, facts = project
    with Warehouse(duckdb_url) as wh:
        as_of = published_facts(wh, facts)
        run = RunContext("p", as_of, as_of)
        whole = sharded.value_partial(wh, config, run, Shard(0, 1))
        split = combine([sharded.value_partial(wh, config, run, s) for s in shards(3)])
    assert whole.customers > 400 and split.customers == whole.customers and split.orders == whole.orders
    assert (split.first, split.last, split.channels) == (whole.first, whole.last, whole.channels)
    for name in ("amounts", "histories", "spend"):
        assert getattr(split, name).equals(getattr(whole, name)), name
    assert split.mean_amount == whole.mean_amount
    # every sample of the run below is a part of the customers, not all of them
    assert sample_shard(whole.customers, 1_000 // 4).count > 1 and sample_shard(whole.customers, 300).count > 1


def test_sharded_runs_publish_what_one_shard_publishes(project, warehouse_target, monkeypatch):
    config, facts = project
    clv = config.models.clv.model_copy(update={"evaluation_customers": 250})  # the CLV holdout on about half
    config = config.model_copy(update={"models": config.models.model_copy(update={"clv": clv})})
    # the last candidate (the boosted one once evaluated) is chosen, so its sharded features are compared too
    monkeypatch.setattr(evaluate, "choose", lambda candidates, max_error: (len(candidates) - 1, None))
    url, schema = warehouse_target
    published: dict[tuple[str, int], dict[str, pl.DataFrame]] = {}
    with Warehouse(url, schema=schema) as wh:
        end = published_facts(wh, facts)
        for day, as_of, refit in (("fit", end - dt.timedelta(days=1), True), ("score", end, False)):
            for count in (3, 2, 1):
                run = RunContext(f"{day}{count}", as_of, as_of + dt.timedelta(hours=count))
                clv, churn = value_step(wh, config, run, refit=refit, shard_count=count)
                assert clv.failed is None and churn is not None and churn.failed is None
                assert clv.mode == churn.mode == day, (clv.mode_reason, churn.mode_reason)
                published[(day, count)] = _published(wh, run.run_id)
    models = published[("fit", 1)]["model_runs"]["model"].to_list()
    assert models[1] == "boosted_poisson", models  # the boosted model's features are sharded too
    for day in ("fit", "score"):
        one = published[(day, 1)]
        assert one["customer_scores"]["churn_probability"].null_count() == 0
        for count in (2, 3):
            for name, frame in published[(day, count)].items():
                if name == "model_runs":
                    for column in ("params_json", "candidates_json"):
                        for mine, theirs in zip(frame[column], one[name][column], strict=True):
                            _assert_close(json.loads(mine), json.loads(theirs), f"{day} {count} {column}")
                    frame, one_frame = (f.drop("params_json", "candidates_json") for f in (frame, one[name]))
                else:
                    one_frame = one[name]
                assert_frame_equal(frame, one_frame, check_exact=False, rel_tol=0, abs_tol=1e-9)
