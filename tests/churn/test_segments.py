"""Segments: known scores give known segment sizes, everybody lands in exactly one segment."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxdata.churn.segments import assign_segments, segment_members, segment_summary, summary_png
from cxdata.config import Bound, ChurnConfig, SegmentRule


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
    scored = pl.DataFrame(
        {
            "customer_key": ["c1"],
            "segment": ["lost"],
            "clv": [1.0],
            "value_at_risk": [1.0],
            "churn_probability": [0.9],
        }
    )
    summary = segment_summary(scored, rules, dt.datetime(2026, 6, 30, tzinfo=dt.UTC), "r1")
    said = {row["segment"]: (row["rule"], row["suggested_action"]) for row in summary.iter_rows(named=True)}
    assert said["champions"][0] == "clv_percentile ≥ 80 and churn_probability ≤ 0.3"
    assert said["vip_lapsing"] == ("clv ≥ 500 and 0.2 ≤ churn_probability ≤ 0.6", None)  # a project's own name
    assert said["lost"][0] == "everyone not in an earlier segment"
    assert all(action for name, (_, action) in said.items() if name != "vip_lapsing")
