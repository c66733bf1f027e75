"""Touchpoint scores against the generator's truth (truth/touchpoints.csv) on a 5,000-customer project.

Facts are keyed by the true person so that the estimators, not identity resolution, are under test. The
estimators' constants were chosen on another seed (11); this seed was not used to choose anything.
"""

from __future__ import annotations

import math

import polars as pl
import pytest
from scipy.stats import spearmanr

from cxdata.synth import SynthParams, generate_project

from .projects import scored_project


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    root = tmp_path_factory.mktemp("touchpoint_truth")
    generate_project(root, SynthParams(customers=5000, seed=43))
    config, _tables, scores = scored_project(root, "truth")
    truth = pl.read_csv(root / "truth" / "touchpoints.csv").with_columns(
        pl.when(pl.col("channel") == "service")
        .then(pl.concat_str(pl.lit("service:"), pl.col("campaign")))
        .otherwise(pl.concat_str(pl.col("channel"), pl.lit("/"), pl.col("campaign")))
        .alias("touchpoint")
    )
    # the truth's own verdict must not shadow the estimated one
    truth = truth.drop("recommendation")
    return truth.join(scores.drop("channel", "campaign", "cost"), on="touchpoint", how="left"), config


def test_estimated_incremental_revenue_ranks_like_the_truth(scored):
    table, _ = scored
    campaigns = table.filter(pl.col("channel") != "service")
    assert campaigns["incremental_revenue"].null_count() == 0
    rho = spearmanr(campaigns["true_incremental_revenue"], campaigns["incremental_revenue"]).statistic
    assert rho >= 0.9, campaigns.select("touchpoint", "true_incremental_revenue", "incremental_revenue")


def _clear(table: pl.DataFrame, hurdle: float) -> pl.DataFrame:
    """Campaigns whose true return is clearly off the hurdle: by more than twice what one Poisson standard
    deviation of their caused orders (and saves) is worth, so the truth itself could not have come out the
    other way by chance."""
    per_order = table["true_incremental_revenue"].sum() / max(table["caused_orders"].sum(), 1)
    resolution = (pl.col("caused_orders") + pl.col("saves") + 1).sqrt() * per_order / pl.col("cost")
    return table.filter(
        (pl.col("channel") != "service") & ((pl.col("true_roi") - hurdle).abs() > 2 * resolution)
    ).with_columns(
        pl.when(pl.col("true_roi") > hurdle).then(pl.lit("invest")).otherwise(pl.lit("cut")).alias("due")
    )


@pytest.mark.xfail(
    strict=True,
    reason="open (issue 8): at 5,000 customers the paid search campaigns get hold, brand (true ROI 0.25) at "
    "0.20 (-1.26, 1.51) and generic (1.83) at 2.46 (0.72, 4.06): the organic orders after their clicks put a "
    "Poisson floor of 1.25 and 1.53 under any such interval's 90% half-width, where a verdict needs 0.75 and "
    "0.83 (benchmarks/touchpoint_resolution.py); newsletter and winback get invest. At 30,000 customers (dev "
    "seed 11) brand is hold at 0.34 (-0.27, 1.00), generic invest",
)
def test_clear_returns_get_the_matching_recommendation(scored):
    table, config = scored
    clear = _clear(table, config.models.touchpoints.hurdle)
    assert clear.height >= 3 and set(clear["due"]) == {"invest", "cut"}
    wrong = clear.filter(pl.col("recommendation") != pl.col("due"))
    assert wrong.height == 0, wrong.select(
        "touchpoint", "true_roi", "roi", "roi_low", "roi_high", "recommendation"
    )


def test_only_the_declared_retention_campaign_counts_a_retention_value(scored):
    table, config = scored
    assert config.models.touchpoints.retention_campaigns == ["email/winback"]  # what the generator declares
    by_name = {row["touchpoint"]: row for row in table.to_dicts()}
    assert by_name["email/newsletter"]["retention_value"] is None
    assert by_name["email/winback"]["retention_value"] > 0
    # with no retention noise on it, the newsletter's cheap, truly incremental sends are worth investing in
    assert by_name["email/newsletter"]["recommendation"] == "invest"


def test_the_planted_bad_service_channel_raises_churn(scored):
    table, _ = scored
    service = table.filter(pl.col("channel") == "service").sort("true_retention_effect")
    worst = service.row(0, named=True)
    assert worst["touchpoint"] == "service:email" and worst["true_retention_effect"] < -0.1
    assert worst["churn_effect"] > 0 and worst["churn_effect_low"] > 0, worst
    assert worst["retention_value"] < 0
    assert math.isfinite(worst["churn_effect_high"])
