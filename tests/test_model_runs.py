"""The one model_runs builder: every kind's row has the documented columns in order, the run's moments, and
publishes to the same table on DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from cxdata.config import ChurnConfig, ClvConfig, TouchpointConfig
from cxdata.model_runs import COLUMNS, TABLE, model_run
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse
from cxdata.warehouse.comments import comments_for

UTC = dt.UTC
RUN = RunContext("r1", dt.datetime(2026, 6, 30, 21, 59, 59, 999999, UTC), dt.datetime(2026, 7, 1, 6, tzinfo=UTC))
WINDOW = (dt.datetime(2024, 1, 2, tzinfo=UTC), dt.datetime(2026, 6, 30, 9, tzinfo=UTC))


def rows() -> dict[str, pl.DataFrame]:
    common = {"window": WINDOW, "n_customers": 10, "n_orders": 25}
    return {
        "clv": model_run(
            RUN, model_run_id="r1/clv", kind="clv", config=ClvConfig(), model="bgnbd", failed=None,
            warnings=["a", "b"], params_json={"r": 0.5, "alpha": 3.0}, holdout_mae=0.25, period="D", **common,
        ),
        "churn": model_run(
            RUN, model_run_id="r1/churn", kind="churn", config=ChurnConfig(), model=None,
            failed="not enough history", warnings=[], holdout_auc=None, training_rows=None, **common,
        ),
        "touchpoints": model_run(
            RUN, model_run_id="r1/touchpoints", kind="touchpoints", config=TouchpointConfig(), model="markov",
            failed=None, warnings=[], params_json={"attribution": []}, **common,
        ),
    }  # fmt: skip


def test_columns_are_the_documented_ones_in_their_order():
    documented = [c.column for c in comments_for(TABLE) if c.column is not None]
    assert list(COLUMNS) == documented


def test_every_kind_gets_every_column_and_the_runs_moments():
    built = rows()
    for kind, row in built.items():
        assert row.schema == pl.Schema(COLUMNS), kind
        assert (row["run_id"][0], row["kind"][0]) == ("r1", kind)
        assert (row["trained_at"][0], row["as_of"][0]) == (RUN.now, RUN.as_of)
        assert (row["data_first_order"][0], row["data_last_order"][0]) == WINDOW
    clv, churn = built["clv"].row(0, named=True), built["churn"].row(0, named=True)
    assert clv["status"] == "ok" and clv["warnings"] == "a; b" and clv["seed"] == ClvConfig().seed
    assert json.loads(clv["params_json"]) == {"alpha": 3.0, "r": 0.5} and clv["holdout_auc"] is None
    assert json.loads(clv["config_json"]) == json.loads(json.dumps(ClvConfig().model_dump(), default=str))
    assert (churn["status"], churn["failure_reason"], churn["warnings"]) == ("failed", "not enough history", None)
    assert churn["params_json"] is None and churn["holdout_mae"] is None


def test_a_kind_cannot_set_a_shared_or_unknown_column():
    with pytest.raises(ValueError, match="as_of"):
        model_run(RUN, model_run_id="x", kind="clv", config=ClvConfig(), model=None, failed=None, window=WINDOW,
                  n_customers=0, n_orders=0, warnings=[], as_of=RUN.now)  # fmt: skip
    with pytest.raises(ValueError, match="holdout_accuracy"):
        model_run(RUN, model_run_id="x", kind="clv", config=ClvConfig(), model=None, failed=None, window=WINDOW,
                  n_customers=0, n_orders=0, warnings=[], holdout_accuracy=0.9)  # fmt: skip


def test_every_kind_appends_to_one_table_on_both_backends(warehouse_target):
    url, schema = warehouse_target
    built = rows()
    with Warehouse(url, schema=schema) as wh:
        for row in built.values():
            wh.append(TABLE, row)
        stored = wh.read(TABLE)
        assert wh.columns(TABLE) == list(COLUMNS)
    assert stored.schema == pl.Schema(COLUMNS)
    assert stored.sort("model_run_id").equals(pl.concat(built.values()).sort("model_run_id"))
