"""Calibration of touchpoint verdicts where users live: projects of 3,000-5,000 customers on seeds no estimator
constant was chosen on (the study seeds were 200-223; benchmarks/touchpoint_coverage.py runs the full study).

Facts are keyed by the true person (tests/facts.py), so the estimators, not identity resolution, are under test.
"""

from __future__ import annotations

import dataclasses

import polars as pl

from cxdata.synth import SynthParams, generate_project
from cxdata.synth.params import DEFAULT_CAMPAIGNS

from .projects import scored_project

PROJECTS = [(3000, 101), (3000, 102), (4000, 103), (5000, 104), (3000, 105), (4000, 106), (5000, 107), (3000, 108)]


def _verdicts(root, params: SynthParams) -> pl.DataFrame:
    generate_project(root, params)
    _, _, scores = scored_project(root, "coverage")
    truth = pl.read_csv(root / "truth" / "touchpoints.csv").filter(pl.col("channel") != "service")
    return truth.select("channel", "campaign", "true_roi", pl.col("recommendation").alias("due")).join(
        scores.select("channel", "campaign", "roi", "roi_low", "roi_high", "recommendation"),
        on=["channel", "campaign"],
    )


def test_intervals_cover_the_true_return_and_verdicts_are_rarely_confidently_wrong(tmp_path):
    table = pl.concat(
        _verdicts(tmp_path / f"p{seed}", SynthParams(customers=n, seed=seed)) for n, seed in PROJECTS
    ).with_columns(
        pl.col("true_roi").is_between(pl.col("roi_low"), pl.col("roi_high")).alias("covered"),
        (
            ((pl.col("recommendation") == "invest") & (pl.col("due") == "cut"))
            | ((pl.col("recommendation") == "cut") & (pl.col("due") == "invest"))
        ).alias("wrong"),
    )
    assert table.height == 8 * len(DEFAULT_CAMPAIGNS)
    assert table["covered"].mean() >= 0.85, table.filter(~pl.col("covered"))
    assert table["wrong"].mean() <= 0.02, table.filter(pl.col("wrong"))


INERT = dataclasses.replace(
    DEFAULT_CAMPAIGNS[0], campaign="inert", incremental_order_prob=0.0, coupon_code=None, utm_source="inert"
)


def test_a_planted_inert_campaign_gets_an_interval_around_zero(tmp_path):
    """Random sends to subscribers that cause nothing: the estimated incremental value's interval holds 0."""
    rows = []
    for seed in range(20):
        params = SynthParams(customers=1000, seed=500 + seed, campaigns=(*DEFAULT_CAMPAIGNS, INERT))
        generate_project(tmp_path / f"i{seed}", params)
        _, _, scores = scored_project(tmp_path / f"i{seed}", "inert")
        rows.append(scores.filter(pl.col("touchpoint") == "email/inert"))
    inert = pl.concat(rows)
    assert inert.height == 20
    contains = (inert["incremental_value_low"] <= 0) & (inert["incremental_value_high"] >= 0)
    assert contains.mean() >= 0.9, inert.select(
        "incremental_value", "incremental_value_low", "incremental_value_high"
    )
    assert (inert["placebo_sd"] > 0).all()
