"""Facts keyed by the true person: every order's customer_key is its person in the identity truth, and the
churn inputs keep the kept orders only."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.synth import SynthParams, generate_project
from cxdata.synth.facts import churn_inputs, person_facts


def test_facts_are_keyed_by_the_true_person(tmp_path):
    generate_project(tmp_path, SynthParams(customers=60, seed=4, guest_order_share=0.3))
    _config, facts = person_facts(tmp_path)
    truth = (
        pl.read_parquet(tmp_path / "truth" / "identity.parquet")
        .filter(pl.col("source_table").cast(pl.String) == "orders")
        .select(pl.col("record_id").cast(pl.String), pl.col("person_id").cast(pl.String))
    )
    orders = pl.read_csv(tmp_path / "data" / "orders.csv", infer_schema=False)
    expected = orders.select(pl.col("order_no").alias("record_id")).join(truth, on="record_id", how="left")
    keyed = facts["fct_orders"].select("customer_key").to_series()
    assert keyed.null_count() == 0
    assert sorted(keyed.to_list()) == sorted(expected["person_id"].to_list())
    assert set(facts) == {"fct_orders", "fct_tickets", "fct_surveys", "fct_web_sessions", "fct_touches"}


def test_churn_inputs_keep_kept_orders_of_known_customers():
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    orders = pl.DataFrame(
        {
            "customer_key": ["a", "a", None, "b"],
            "ordered_at": [at] * 4,
            "amount": [10.0, -10.0, 5.0, 7.0],
            "is_refund": [False, True, False, False],
        }
    )
    empty = pl.DataFrame({"customer_key": pl.Series([], dtype=pl.String)})
    facts = {"fct_orders": orders} | dict.fromkeys(
        ["fct_tickets", "fct_surveys", "fct_web_sessions", "fct_touches"], empty
    )
    kept = churn_inputs(facts).orders.collect()
    assert kept.columns == ["customer_key", "ordered_at", "amount"]
    assert kept.sort("customer_key")["amount"].to_list() == [10.0, 7.0]
