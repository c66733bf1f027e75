"""Segments: known scores give known segment sizes, everybody lands in exactly one segment; percentile bounds
pick what customer_scores' percentile columns pick and say the value they resolved to."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from cxdata.churn.score import rank_percent
from cxdata.churn.segments import (
    assign_segments,
    definitions,
    definitions_markdown,
    resolve,
    segment_members,
    segment_summary,
    summary_png,
)
from cxdata.config import Bound, ChurnConfig, SegmentRule

REST = SegmentRule(name="rest")


def test_default_rules_give_known_sizes():
    scores = pl.DataFrame(
        {
            "customer_key": [f"c{i}" for i in range(8)],
            # champion, loyal, new, high value at risk, attention, hibernating, lost, lost (null churn)
            "clv_percentile": [90.0, 50.0, 10.0, 70.0, 20.0, 20.0, 20.0, 95.0],
            "churn_probability": [0.1, 0.35, 0.6, 0.7, 0.5, 0.8, 0.95, None],
            "frequency": [5.0, 3.0, 0.0, 4.0, 0.0, 0.0, 0.0, 1.0],
            "tenure_days": [400.0, 300.0, 30.0, 500.0, 200.0, 300.0, 600.0, 100.0],
            "days_since_last_order": [10.0, 20.0, 30.0, 100.0, 90.0, 200.0, 500.0, 5.0],
            "clv": [100.0, 50.0, 10.0, 80.0, 20.0, 15.0, 5.0, 90.0],
        }
    ).with_columns((pl.col("clv") * pl.col("churn_probability")).alias("value_at_risk"))
    rules = ChurnConfig().segments
    scored = assign_segments(scores, rules)
    expected = ["champions", "loyal", "promising_new", "high_value_at_risk", "needs_attention", "hibernating"]
    assert scored["segment"].to_list() == [*expected, "lost", "lost"]
    as_of = dt.datetime(2026, 6, 30, tzinfo=dt.UTC)
    members = segment_members(scored, as_of, "r1")
    assert members["customer_key"].n_unique() == members.height == scores.height
    summary = segment_summary(scored, rules, as_of, "r1")
    assert summary["segment"].to_list() == [r.name for r in rules]
    assert dict(zip(summary["segment"], summary["customers"], strict=True))["lost"] == 2
    assert summary["customers"].sum() == scores.height
    assert summary["total_clv"].sum() == pytest.approx(scores["clv"].sum())
    assert summary_png(summary)[:4] == b"\x89PNG"


def test_rules_need_a_catch_all_and_known_columns():
    with pytest.raises(ValueError, match="catches everybody"):
        ChurnConfig(segments=[SegmentRule(name="a", conditions={"clv": Bound(min=1)})])
    rules = [SegmentRule(name="rich", conditions={"wealth": Bound(min=1)}), SegmentRule(name="rest")]
    with pytest.raises(ValueError, match="wealth"):
        assign_segments(pl.DataFrame({"customer_key": ["a"]}), rules)


def test_every_segment_says_its_rule_in_words_and_what_to_do():
    rules = [
        *ChurnConfig().segments[:-1],
        SegmentRule(
            name="vip_lapsing", conditions={"clv": Bound(min=500), "churn_probability": Bound(min=0.2, max=0.6)}
        ),
        ChurnConfig().segments[-1],
    ]
    # clv 1..10 (value at risk 0.5..5): clv 8 is at the 80th percentile (8 of 10 values are at most it), so
    # the top 20% are from clv 8 and value at risk 4 on, the customer at the cut included
    scored = pl.DataFrame(
        {
            "customer_key": [f"c{i}" for i in range(10)],
            "segment": ["lost"] * 10,
            "clv": [float(i + 1) for i in range(10)],
            "churn_probability": [0.5] * 10,
        }
    ).with_columns((pl.col("clv") * pl.col("churn_probability")).alias("value_at_risk"))
    summary = segment_summary(scored, rules, dt.datetime(2026, 6, 30, tzinfo=dt.UTC), "r1")
    said = {row["segment"]: (row["rule"], row["suggested_action"]) for row in summary.iter_rows(named=True)}
    assert said["champions"][0] == "CLV in the top 20% (clv ≥ 8) and churn_probability ≤ 0.3"
    assert said["high_value_at_risk"][0] == "value at risk in the top 20% (value_at_risk ≥ 4)"
    assert said["promising_new"][0] == "tenure_days ≤ 90 and churn_probability ≤ 0.7"
    assert said["vip_lapsing"] == ("clv ≥ 500 and 0.2 ≤ churn_probability ≤ 0.6", None)  # a project's own name
    assert said["lost"][0] == "everyone not in an earlier segment"
    assert all(action for name, (_, action) in said.items() if name != "vip_lapsing")
    thresholds = {row["segment"]: json.loads(row["thresholds_json"]) for row in summary.iter_rows(named=True)}
    assert thresholds["champions"] == {"clv": {"min_percentile": 80, "min": 8}, "churn_probability": {"max": 0.3}}
    assert thresholds["high_value_at_risk"] == {"value_at_risk": {"min_percentile": 80, "min": 4}}
    assert thresholds["lost"] == {}
    defined = definitions(summary)
    assert defined["segment"].to_list() == [r.name for r in rules]
    assert defined["share_of_customers"].to_list() == [0.0] * (len(rules) - 1) + [1.0]
    assert "| 4 | high_value_at_risk | value at risk in the top 20% (value_at_risk ≥ 4) |" in (
        definitions_markdown(defined)
    )


@pytest.mark.parametrize("percentile", [0, 12.5, 30, 33.3, 50, 70, 80, 99.5, 100])
def test_a_percentile_bound_picks_what_the_percentile_column_picks(percentile):
    rng = np.random.default_rng(7)
    # few distinct values, so that ties straddle most cuts
    clv, churn = rng.integers(0, 40, 1000).astype(float), rng.integers(0, 25, 1000) / 25
    scores = pl.DataFrame({"clv": clv, "churn_probability": churn}).with_columns(
        # customer_scores' percentile columns as cxdata/clv/score.py and cxdata/churn/score.py compute them
        (pl.col("clv").rank("max") / pl.len() * 100).alias("clv_percentile"),
        pl.Series("churn_percentile", rank_percent(churn)),
    )
    for column, by in (("clv", "clv_percentile"), ("churn_probability", "churn_percentile")):
        for side, expected in (("min", pl.col(by) >= percentile), ("max", pl.col(by) <= percentile)):
            rules = [SegmentRule(name="x", conditions={column: Bound(**{f"{side}_percentile": percentile})}), REST]
            picked = assign_segments(scores, rules)["segment"] == "x"
            assert picked.to_list() == scores.select(expected)[by].to_list(), (column, side)


def test_ties_stay_together_and_a_cut_below_every_value_picks_nobody():
    scores = pl.DataFrame(
        {"clv": [1.0, 1.0, 2.0, 2.0, 2.0, 3.0], "empty": [None] * 6, "some": [None, 5.0, None, 1.0, 3.0, None]},
        schema_overrides={"empty": pl.Float64},
    )
    rules = [
        SegmentRule(name="top_half", conditions={"clv": Bound(min_percentile=50)}),
        SegmentRule(name="bottom_half", conditions={"clv": Bound(max_percentile=50)}),
        SegmentRule(name="bottom_tenth", conditions={"clv": Bound(max_percentile=10)}),
        SegmentRule(name="no_values", conditions={"empty": Bound(min_percentile=0)}),
        REST,
    ]
    # the percentile is over the customers with a value: of 1, 3 and 5, the top third is 5 alone
    some = [SegmentRule(name="top_third", conditions={"some": Bound(min_percentile=66.7)}), REST]
    assert assign_segments(scores, some)["segment"].to_list() == ["rest", "top_third", *["rest"] * 4]
    # percentiles: 1 -> 33.3, 2 -> 83.3, 3 -> 100; the tie at 2 straddles the median and stays whole
    segments = assign_segments(scores, rules)["segment"].to_list()
    assert segments == ["bottom_half"] * 2 + ["top_half"] * 4
    conditions = resolve(scores, rules)
    assert [(c[0].min, c[0].max) for c in conditions[:4]] == [(2.0, None), (None, 1.0), (None, None), (None, None)]
    assert all(c[0].matches_nobody for c in conditions[2:4])
    words = segment_summary(scores.with_columns(
        segment=pl.Series(segments), clv=pl.col("clv"), value_at_risk=pl.col("clv"), churn_probability=pl.lit(0.5)
    ), rules, dt.datetime(2026, 6, 30, tzinfo=dt.UTC), "r1")["rule"].to_list()  # fmt: skip
    assert words[:4] == [
        "CLV in the top 50% (clv ≥ 2)",
        "CLV in the bottom 50% (clv ≤ 1)",
        "CLV in the bottom 10% (no scored customer's clv reaches it: nobody)",
        "empty in the top 100% (no scored customer's empty reaches it: nobody)",
    ]


@pytest.mark.parametrize(
    ("bound", "message"),
    [
        ({"min_percentile": 120}, "0 to 100 (80: the top 20%), not 120"),
        ({"max_percentile": -1}, "not -1"),
        ({"min": 0.4, "min_percentile": 70}, "either 'min' (a value) or 'min_percentile'"),
        ({"max": 0.4, "max_percentile": 70}, "either 'max' (a value) or 'max_percentile'"),
        ({}, "at least one of min, max, min_percentile, max_percentile"),
        ({"min_percentile": 60, "max_percentile": 40}, "min_percentile 60 is above max_percentile 40"),
        ({"min": 2, "max": 1}, "min 2 is above max 1"),
    ],
)
def test_a_bound_that_cannot_mean_anything_is_refused(bound, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Bound(**bound)
    # a percentile side on one side and a value on the other is fine
    assert Bound(min_percentile=70, max=0.9).max == 0.9
