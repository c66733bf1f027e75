"""Incrementality on a planted world: a causing campaign is found, inert and demand-capturing ones are not."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from cxdata.touchpoints.lift import LiftEstimate, _shrinkage, calibrate, estimate_lift

from .planted import DAYS, marketing_world, reachable_world, stamps, subscriber_world


@pytest.fixture(scope="module")
def lift():
    world = marketing_world()
    as_of = stamps([DAYS])[0]
    return world, estimate_lift(world["orders"].lazy(), world["touches"].lazy(), as_of, replicates=200)


def test_a_causing_campaign_gets_its_planted_orders(lift):
    world, estimate = lift
    row = estimate.table.row(by_predicate=pl.col("touchpoint") == "email/lift", named=True)
    planted = world["caused"]["orders"][0]
    assert row["contact_kind"] == "scheduled"
    # its sends are never clicked, so all of it is view-through: large and well measured, it is kept
    assert row["view_through_shrinkage"] > 0.9
    assert abs(row["incremental_orders"] - planted) < 0.2 * planted, (row, planted)
    assert row["incremental_revenue"] == pytest.approx(row["incremental_orders"] * 50.0)


def test_inert_and_demand_capturing_touchpoints_get_about_nothing(lift):
    world, estimate = lift
    planted = world["caused"]["orders"][0]
    table = estimate.table.filter(pl.col("touchpoint") != "email/lift")
    assert set(table["touchpoint"]) == {"social/none", "paid_search/brand"}
    assert (table["incremental_orders"].abs() < 0.1 * planted).all(), table
    brand = table.row(by_predicate=pl.col("touchpoint") == "paid_search/brand", named=True)
    assert brand["contact_kind"] == "click"
    # email's caused orders come after the click session, so nothing is taken away from them
    assert estimate.late_share == pytest.approx(1.0, abs=0.1)


def test_clicks_followed_by_an_order_in_their_session_are_not_scored(lift):
    _, estimate = lift
    brand = estimate.table.row(by_predicate=pl.col("touchpoint") == "paid_search/brand", named=True)
    # planted: captured clicks come before a third of the orders (1/90 a day), random ones at 1/120 a day,
    # so 4/7 of brand's clicks are captured and left out
    assert 0.35 < brand["scored_contacts"] / brand["contacts"] < 0.5, brand


def test_view_through_effects_shrink_by_their_noise_against_their_spread():
    noise = np.full(3, 1e-4)
    # per-contact effects 0.1, 0, 0 with variance 1e-4 each: tau^2 = (0.01 - 3e-4) / 3
    factor = _shrinkage(np.array([0.1, 0.0, 0.0]), noise)
    tau2 = (0.01 - 3e-4) / 3
    assert factor == pytest.approx(np.full(3, tau2 / (tau2 + 1e-4)))
    # a bootstrap replicate carries the noise twice, so twice is taken out
    again = _shrinkage(np.array([0.1, 0.0, 0.0]), noise, resampled=True)
    assert again == pytest.approx(np.full(3, (0.01 - 6e-4) / 3 / ((0.01 - 6e-4) / 3 + 1e-4)))
    # effects no larger than their noise are all shrunk to zero
    assert _shrinkage(np.array([0.001, -0.001, 0.0]), noise) == pytest.approx(np.zeros(3))


def test_calibration_gives_a_normal_with_the_larger_of_the_bootstrap_and_placebo_spread():
    rng = np.random.default_rng(3)
    reps = rng.normal(10.0, 1.0, (400, 2))
    reps[:, 1] = 5.0  # every resample the same: windows without orders
    out = calibrate(np.array([10.0, 5.0]), reps, np.array([4.0, 2.0]), sets=8)
    wanted = np.sqrt(np.array([16.0, 4.0]) * (1 + 1 / 8))
    assert out.std(axis=0, ddof=1) == pytest.approx(wanted, rel=0.02)
    assert out.mean(axis=0) == pytest.approx([10.0, 5.0])
    # each replicate keeps its rank
    assert (np.argsort(out[:, 0]) == np.argsort(reps[:, 0])).all()
    # a skewed bootstrap wider than the placebo noise keeps its spread, centred on the estimate, symmetric
    skewed = rng.exponential(3.0, (400, 1))
    wide = calibrate(np.array([1.0]), skewed, np.array([0.1]), sets=8)
    assert wide.std(ddof=1) == pytest.approx(skewed.std(ddof=1), rel=0.02)
    assert np.quantile(wide, 0.95) - 1.0 == pytest.approx(1.0 - np.quantile(wide, 0.05), rel=1e-6)


def test_bootstrap_interval_covers_the_planted_effect(lift):
    world, estimate = lift
    planted = world["caused"]["orders"][0]
    reps = estimate.replicates.filter(pl.col("touchpoint") == "email/lift")["incremental_orders"]
    assert reps.len() == 200
    assert reps.quantile(0.02) < planted < reps.quantile(0.98)
    assert reps.std() > 0


def test_no_contacts_give_an_empty_estimate():
    world = marketing_world(n=200)
    estimate = estimate_lift(world["orders"].lazy(), world["touches"].head(0).lazy(), stamps([DAYS])[0])
    assert estimate.table.height == 0 and estimate.replicates.height == 0
    assert "incremental_revenue" in estimate.table.columns


def test_an_inert_ad_shown_only_to_active_customers_gets_no_view_through_credit():
    # Being shown the ad means not having dropped out at an order before it, which thins the orders just
    # before the contact by the dropout probability: compared with that window, an ad that does nothing
    # would look like it adds rate * window * dropout orders per contact. The window after is not thinned so.
    rate, dropout, window = 1 / 30, 0.15, 3.0
    world = reachable_world(rate=rate, dropout=dropout)
    estimate = estimate_lift(
        world["orders"].lazy(), world["touches"].lazy(), stamps([DAYS])[0], response_days=window, replicates=40
    )
    row = estimate.table.row(0, named=True)
    survivor_bias = rate * window * dropout * row["scored_contacts"]
    print(f"\ninert ad: {row['incremental_orders']:.1f} orders over {row['scored_contacts']:,} contacts; "
          f"the window before would credit about {survivor_bias:.0f}")  # fmt: skip
    assert row["touchpoint"] == "display/inert" and row["scored_contacts"] > 50_000
    assert abs(row["incremental_orders"]) < 0.15 * survivor_bias


def test_an_inert_search_ad_clicked_only_by_active_customers_gets_no_credit():
    # A click shows the customer alive: every order before it was survived (thinned by the dropout
    # probability) and the customer may drop out at an order after it, so the windows around the click
    # under-state the rate just after it. The survivor correction divides that thinning out.
    rate, dropout, window = 1 / 30, 0.15, 3.0
    world = reachable_world(rate=rate, dropout=dropout, kind="click")
    as_of = stamps([DAYS])[0]

    def inert(**options) -> dict:
        estimate = estimate_lift(
            world["orders"].lazy(), world["touches"].lazy(), as_of, response_days=window, replicates=0, **options
        )
        return estimate.table.row(0, named=True)

    corrected, plain = inert(), inert(alive_correction=False)
    survivor_bias = rate * window * dropout * corrected["scored_contacts"]
    print(
        f"\ninert search ad: {corrected['incremental_orders']:.1f} orders over {corrected['scored_contacts']:,} "
        f"clicks, {plain['incremental_orders']:.1f} uncorrected; survivor bias about {survivor_bias:.0f}"
    )
    assert corrected["touchpoint"] == "paid_search/inert" and corrected["contact_kind"] == "click"
    assert plain["incremental_orders"] > 0.5 * survivor_bias
    assert abs(corrected["incremental_orders"]) < 0.15 * survivor_bias


def test_a_newsletter_clicked_by_lapsed_subscribers_gets_its_planted_orders_once():
    # Sends every 15 days: a click often falls in the response window of the send before its own too, and
    # counting it there as well credited about 10% more orders than were caused. Clicks come up to two days
    # after the send: a window from the send alone loses the orders of late clicks. Lapsed subscribers still
    # click, so a click does not show the customer alive: the survivor correction is not for email clicks.
    world = subscriber_world()
    as_of = stamps([DAYS])[0]

    def news(**options) -> LiftEstimate:
        return estimate_lift(world["orders"].lazy(), world["touches"].lazy(), as_of, replicates=40, **options)

    estimate = news()
    row = estimate.table.row(0, named=True)
    reps = estimate.replicates["incremental_orders"]
    assert row["touchpoint"] == "email/news" and row["contact_kind"] == "scheduled"
    assert abs(row["incremental_orders"] - world["caused"]) < 0.05 * world["caused"], (row, world["caused"])
    assert reps.quantile(0.02) < world["caused"] < reps.quantile(0.98)
    uncorrected = news(alive_correction=False).table.row(0, named=True)
    assert uncorrected["incremental_orders"] == pytest.approx(row["incremental_orders"])
