"""ROI, its interval and the recommendation from known estimates and costs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from cxdata.touchpoints.lift import LiftEstimate
from cxdata.touchpoints.plots import removal_effects_png, roi_png
from cxdata.touchpoints.retention import RetentionEstimate
from cxdata.touchpoints.roi import SCORE_COLUMNS, period_costs, score_touchpoints

AS_OF = dt.datetime(2025, 6, 30, tzinfo=dt.UTC)
REPS = 101


def _estimates() -> tuple[pl.DataFrame, LiftEstimate, RetentionEstimate, pl.DataFrame]:
    attribution = pl.DataFrame(
        {
            "model": ["markov"] * 4 + ["last_touch"] * 2,
            "touchpoint": ["email/news", "search/brand", "service:email", None, "email/news", "search/brand"],
            "conversions": [10.0, 30.0, 5.0, 2.0, 20.0, 25.0],
            "revenue": [500.0, 1500.0, 250.0, 100.0, 1000.0, 1250.0],
            "clv": [50.0, 60.0, 0.0, 0.0, 1.0, 1.0],
            "removal_effect": [0.2, 0.5, 0.1, None, None, None],
        }
    )
    spread = np.linspace(-1.0, 1.0, REPS)  # replicate r of every estimate moves by spread[r] x its scale
    lift = LiftEstimate(
        table=pl.DataFrame(
            {
                "touchpoint": ["email/news", "search/brand", "social/ads"],
                "incremental_orders": [40.0, 1.0, 2.0],
                "incremental_revenue": [4000.0, 100.0, 200.0],
                "placebo_bias": [5.0, -3.0, 0.0],
                "placebo_sd": [50.0, 40.0, 300.0],
                "contacts": [1000, 500, 400],
                "linked_share": [1.0, 1.0, 1.0],
                "contact_weeks": [20.0, 20.0, 10.0],
            }
        ),
        replicates=pl.DataFrame(
            {
                "replicate": np.tile(np.arange(REPS), 3),
                "touchpoint": np.repeat(["email/news", "search/brand", "social/ads"], REPS),
                "incremental_revenue": np.r_[4000 + 1000 * spread, 100 + 100 * spread, 200 + 400 * spread],
            }
        ),
        late_share=0.5,
    )
    retention = RetentionEstimate(
        table=pl.DataFrame(
            {
                "touchpoint": ["email/news", "service:email"],
                "churn_effect": [-0.01, 0.02],
                "churn_effect_low": [-0.02, 0.01],
                "churn_effect_high": [0.0, 0.03],
                "retention_value": [1000.0, -800.0],
            }
        ),
        replicates=pl.DataFrame(
            {
                "replicate": np.tile(np.arange(REPS), 2),
                "touchpoint": np.repeat(["email/news", "service:email"], REPS),
                "retention_value": np.r_[1000 + 500 * spread, -800 + 100 * spread],
            }
        ),
    )
    costs = pl.DataFrame(
        {
            "period_start": [dt.datetime(2025, m, 1, tzinfo=dt.UTC) for m in (5, 6, 7, 5, 6, 5)],
            "channel": ["email", "email", "email", "search", "search", "social"],
            "campaign": ["news", "news", "news", "brand", "brand", "ads"],
            "cost": [1000.0, 1000.0, 99999.0, 500.0, 500.0, 200.0],
        }
    )
    return attribution, lift, retention, costs


@pytest.fixture
def scores() -> pl.DataFrame:
    attribution, lift, retention, costs = _estimates()
    spent = period_costs(costs.lazy(), AS_OF)
    return score_touchpoints(
        attribution, lift, retention, spent, as_of=AS_OF, hurdle=1.0, interval=0.90, model_run_id="r/touchpoints"
    )


def test_costs_count_only_periods_that_start_by_as_of():
    _, _, _, costs = _estimates()
    spent = dict(period_costs(costs.lazy(), AS_OF).iter_rows())
    assert spent == {"email/news": 2000.0, "search/brand": 1000.0, "social/ads": 200.0}


def test_roi_is_incremental_value_over_cost_with_the_bootstrap_interval(scores):
    assert scores.columns == SCORE_COLUMNS
    news = scores.row(by_predicate=pl.col("touchpoint") == "email/news", named=True)
    assert news["incremental_value"] == 5000.0 and news["cost"] == 2000.0 and news["roi"] == 2.5
    # replicate value 5000 + 1500 x spread, so the 5 % and 95 % quantiles are at spread -0.9 and 0.9
    assert news["roi_low"] == pytest.approx((5000 - 1350) / 2000) and news["roi_high"] == pytest.approx(3.175)
    assert (news["conversions"], news["attributed_clv"], news["removal_effect"]) == (10.0, 50.0, 0.2)
    assert (news["source"], news["channel"], news["campaign"]) == ("marketing", "email", "news")
    assert news["churn_effect"] == -0.01 and news["retention_value"] == 1000.0
    assert scores["as_of"].unique().to_list() == [AS_OF] and scores["model_run_id"].unique().to_list() == [
        "r/touchpoints"
    ]


def test_recommendation_follows_the_interval_against_the_hurdle(scores):
    verdict = dict(scores.select("touchpoint", "recommendation").iter_rows())
    assert verdict["email/news"] == "invest"  # interval [1.83, 3.18] above 1
    assert verdict["search/brand"] == "cut"  # roi 0.1, interval [0.01, 0.19]
    assert verdict["social/ads"] == "hold"  # roi 1.0, interval [-0.8, 2.8]
    assert verdict["service:email"] is None  # no cost, no return on spend
    service = scores.row(by_predicate=pl.col("touchpoint") == "service:email", named=True)
    assert (service["source"], service["channel"], service["campaign"]) == ("service", "email", None)
    assert service["roi"] is None and service["incremental_value"] == -800.0


def test_a_higher_hurdle_turns_invest_into_hold():
    attribution, lift, retention, costs = _estimates()
    scores = score_touchpoints(
        attribution, lift, retention, period_costs(costs.lazy(), AS_OF), as_of=AS_OF, hurdle=2.0
    )
    assert scores.row(by_predicate=pl.col("touchpoint") == "email/news", named=True)["recommendation"] == "hold"


def test_plots_are_pngs(scores):
    assert removal_effects_png(scores)[:4] == b"\x89PNG"
    assert roi_png(scores, 1.0)[:4] == b"\x89PNG"


def test_a_hold_says_its_evidence_is_insufficient_and_how_much_more_data_would_decide_it(scores):
    by = {row["touchpoint"]: row for row in scores.to_dicts()}
    assert by["email/news"]["evidence"] == "observational" and by["search/brand"]["evidence"] == "observational"
    assert by["email/news"]["more_data_factor"] is None and by["service:email"]["evidence"] is None
    ads = by["social/ads"]
    assert ads["evidence"] == "insufficient"
    # roi 1.0 sits on the hurdle: no amount of data at this estimate decides it
    assert ads["more_data_factor"] is None and ads["more_weeks"] is None
    assert scores["currency"].unique().to_list() == ["EUR"] and scores["hurdle"].unique().to_list() == [1.0]


def test_more_data_factor_is_the_squared_half_width_over_the_distance_to_the_hurdle():
    attribution, lift, retention, costs = _estimates()
    scores = score_touchpoints(
        attribution, lift, retention, period_costs(costs.lazy(), AS_OF), as_of=AS_OF, hurdle=2.0, currency="USD"
    )
    news = scores.row(by_predicate=pl.col("touchpoint") == "email/news", named=True)
    assert news["recommendation"] == "hold" and news["evidence"] == "insufficient"
    half = (news["roi_high"] - news["roi_low"]) / 2
    assert news["more_data_factor"] == pytest.approx((half / (news["roi"] - 2.0)) ** 2)
    assert news["more_weeks"] == pytest.approx((news["more_data_factor"] - 1) * 20.0)
    assert news["currency"] == "USD"
    # a wait beyond three years is no plan: the factor stays, the weeks do not
    far = score_touchpoints(
        attribution, lift, retention, period_costs(costs.lazy(), AS_OF), as_of=AS_OF, hurdle=2.3
    ).row(by_predicate=pl.col("touchpoint") == "email/news", named=True)
    assert (far["more_data_factor"] - 1) * 20.0 > 156 and far["more_weeks"] is None


def test_an_experiment_outranks_the_observational_estimate():
    attribution, lift, retention, costs = _estimates()
    experiments = pl.DataFrame(
        {
            "touchpoint": ["social/ads"],
            "treated_customers": [900],
            "control_customers": [100],
            # 0.5 +- 0.1 revenue per assigned customer, over the touchpoint's 400 contacts: 200 (160-240)
            "revenue_effect": [0.5],
            "revenue_effect_low": [0.4],
            "revenue_effect_high": [0.6],
        }
    )
    scores = score_touchpoints(
        attribution, lift, retention, period_costs(costs.lazy(), AS_OF), as_of=AS_OF, experiments=experiments
    )
    ads = scores.row(by_predicate=pl.col("touchpoint") == "social/ads", named=True)
    assert ads["incremental_value"] == pytest.approx(200.0)
    assert (ads["roi_low"], ads["roi_high"]) == (pytest.approx(0.8), pytest.approx(1.2))
    assert ads["experiment_treated"] == 900 and ads["experiment_control"] == 100
    # the interval crosses the hurdle, so it is still a hold; with a narrower experiment it decides
    assert ads["recommendation"] == "hold" and ads["evidence"] == "insufficient"
    decided = score_touchpoints(
        attribution,
        lift,
        retention,
        period_costs(costs.lazy(), AS_OF),
        as_of=AS_OF,
        experiments=experiments.with_columns(pl.lit(0.3).alias("revenue_effect_high")),
    ).row(by_predicate=pl.col("touchpoint") == "social/ads", named=True)
    assert decided["recommendation"] == "cut" and decided["evidence"] == "experiment"


def test_touches_the_identity_graph_did_not_link_widen_the_interval_upward_only():
    attribution, lift, retention, costs = _estimates()
    spent = period_costs(costs.lazy(), AS_OF)
    brand = pl.col("touchpoint") == "search/brand"
    # brand: revenue 100 + 100 x spread (90 % interval 10-190) on a cost of 1,000
    for share, verdict in ((0.25, "cut"), (0.05, "hold")):
        partly = LiftEstimate(
            lift.table.with_columns(pl.when(brand).then(share).otherwise(1.0).alias("linked_share")),
            lift.replicates,
            lift.late_share,
        )
        row = score_touchpoints(attribution, partly, retention, spent, as_of=AS_OF).row(
            by_predicate=brand, named=True
        )
        assert row["linked_share"] == share and row["incremental_value"] == 100.0
        assert row["roi_low"] == pytest.approx(0.01)
        assert row["roi_high"] == pytest.approx(190.0 / share / 1000.0)
        assert row["recommendation"] == verdict
