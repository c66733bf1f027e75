"""Churn reasons on a generated project, through the warehouse steps: nearly every high_value_at_risk member
has one, and a planted long gap is the reason of the customer who has it.

The project's seed is not one the reasons were developed on. The planted customers are two histories of
twelve monthly orders added to the facts: one ending 400 days before as_of, one 10 days before.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxdata.churn.step import churn_step
from cxdata.clv.step import clv_step
from cxdata.run_context import end_of_day, run_context
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse

from ..facts import person_facts

# the words of the features that say how long ago the last order was (cxdata.churn.score.WORDS)
RECENCY = ("no order for ", "chance of no purchase in the horizon", "probability still active ")


def _monthly_orders(orders: pl.DataFrame, key: str, last: dt.datetime) -> pl.DataFrame:
    template = orders.filter(~pl.col("is_refund")).head(1)
    return pl.concat(
        template.with_columns(
            pl.lit(key).alias("customer_key"),
            pl.lit(f"{key}-{i}").alias("order_id"),
            pl.lit(last - dt.timedelta(days=30 * i)).alias("ordered_at"),
            pl.lit(60.0).alias("amount"),
        )
        for i in range(12)
    )


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> pl.DataFrame:
    root = tmp_path_factory.mktemp("reasons")
    generate_project(root, SynthParams(customers=2000, seed=31))
    config, facts = person_facts(root)
    as_of = end_of_day(config.as_of, config.timezone)
    orders = facts["fct_orders"]
    planted = [_monthly_orders(orders, "gap", as_of - dt.timedelta(days=400)),
               _monthly_orders(orders, "recent", as_of - dt.timedelta(days=10))]  # fmt: skip
    facts["fct_orders"] = pl.concat([orders, *planted])
    with Warehouse(f"duckdb:///{root / 'warehouse.duckdb'}") as wh:
        for name, frame in facts.items():
            wh.publish(name, frame)
        run = run_context(wh, config, "r1")
        assert clv_step(wh, config, run).failed is None
        assert churn_step(wh, config, run).failed is None
        return wh.read("customer_scores")


def test_nearly_every_high_value_at_risk_member_has_a_reason(scores):
    members = scores.filter(pl.col("segment") == "high_value_at_risk")
    share = members["churn_reason_1"].is_not_null().mean()
    print(f"\nhigh_value_at_risk: {members.height} members, {share:.1%} with a reason")
    assert members.height >= 0.05 * scores.height
    assert share >= 0.95


def test_a_planted_long_gap_is_the_reason(scores):
    planted = {row["customer_key"]: row for row in scores.filter(pl.col("customer_key").is_in(["gap", "recent"]))
               .iter_rows(named=True)}  # fmt: skip
    gap, recent = planted["gap"], planted["recent"]
    assert gap["churn_probability"] > 0.9 > 0.5 > recent["churn_probability"]
    assert gap["churn_reason_1"] is not None and any(words in gap["churn_reason_1"] for words in RECENCY)
    said = [recent[c] for c in ("churn_reason_1", "churn_reason_2", "churn_reason_3") if recent[c] is not None]
    assert not [reason for reason in said if any(words in reason for words in RECENCY)]
