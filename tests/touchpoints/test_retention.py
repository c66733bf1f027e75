"""Retention effect on a planted world: the bad service channel raises churn, the good one does not."""

from __future__ import annotations

import polars as pl
import pytest

from cxdata.touchpoints.retention import estimate_retention

from .planted import DAYS, service_world, stamps


@pytest.fixture(scope="module")
def retention():
    world = service_world()
    as_of = stamps([DAYS])[0]
    # 200 replicates: at 60 the neutral channel's 5% quantile lies within its Monte Carlo noise of zero, so
    # whether its interval holds zero would depend on the bootstrap seed rather than on the estimate
    return estimate_retention(
        world["orders"].lazy(), world["tickets"].lazy(), None, as_of, churn_days=120, replicates=200
    )


def test_the_planted_bad_channel_raises_churn_with_an_interval_above_zero(retention):
    email = retention.table.row(by_predicate=pl.col("touchpoint") == "service:email", named=True)
    # planted: dropout 0.40 instead of 0.08 after an email ticket; "churned" also counts slow buyers
    assert 0.2 < email["churn_effect"] < 0.4
    assert email["churn_effect_low"] > 0.15
    assert email["retention_value"] < 0 and email["revenue_effect"] < 0
    assert email["source"] == "service"


def test_the_neutral_channel_interval_holds_zero(retention):
    phone = retention.table.row(by_predicate=pl.col("touchpoint") == "service:phone", named=True)
    assert phone["churn_effect_low"] < 0 < phone["churn_effect_high"]
    assert abs(phone["churn_effect"]) < 0.05


def test_overlap_diagnostics_are_reported(retention):
    table = retention.table
    assert table["overlap_share"].is_between(0, 1).all()
    # tickets are assigned at random, so the confounders are balanced before and after weighting
    assert (table["max_smd_before"] < 0.2).all() and (table["max_smd_after"] < 0.1).all()
    assert (table["propensity_treated_min"] > 0).all() and (table["control_ess"] > 1000).all()
    reps = retention.replicates
    assert reps.group_by("touchpoint").len()["len"].to_list() == [200, 200]


def test_no_tickets_and_no_touches_give_an_empty_estimate():
    world = service_world(n=300)
    estimate = estimate_retention(world["orders"].lazy(), None, None, stamps([DAYS])[0], replicates=5)
    assert estimate.table.height == 0 and estimate.replicates.height == 0


def test_only_the_declared_retention_campaigns_are_estimated():
    world = service_world(n=2000)
    sends = world["orders"].select(
        "customer_key", (pl.col("ordered_at") - pl.duration(days=3)).alias("occurred_at")
    )
    touches = pl.concat(
        [
            sends.with_columns(channel=pl.lit("email"), campaign=pl.lit(name), kind=pl.lit("sent"))
            for name in ("newsletter", "winback")
        ]
    ).lazy()
    as_of = stamps([DAYS])[0]

    def estimated(campaigns: list[str] | None) -> list[str]:
        estimate = estimate_retention(
            world["orders"].lazy(), world["tickets"].lazy(), touches, as_of, replicates=5, campaigns=campaigns
        )
        assert set(estimate.replicates["touchpoint"]) == set(estimate.table["touchpoint"])
        return estimate.table["touchpoint"].to_list()

    service = ["service:email", "service:phone"]
    # the newsletter is not there to keep customers: no retention estimate; service channels always get one
    assert estimated(["email/winback"]) == ["email/winback", *service]
    assert estimated([]) == service
    assert estimated(None) == ["email/newsletter", "email/winback", *service]
