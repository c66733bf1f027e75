"""Randomised holdouts: reproducible assignment, the experiment reading on known values, and its interval
against the generator's true effect of planted holdout campaigns."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import polars as pl
import pytest
from scipy import stats

from cxdata.synth import Campaign, SynthParams, simulate
from cxdata.synth.holdouts import assignments, experiments, kept_orders
from cxdata.synth.params import DEFAULT_CAMPAIGNS
from cxdata.touchpoints.experiments import assign, assignment_draws, read_experiments, salt_id

SALT = "a-long-random-salt-" + "x" * 16
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
AS_OF = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def test_assignment_is_reproducible_salted_and_of_the_asked_share():
    keys = pl.Series([f"C{i:08d}" for i in range(20_000)])
    groups = assign(keys, "email/winback", 0.1, SALT)
    assert groups.to_list() == assign(keys, "email/winback", 0.1, SALT).to_list()
    assert groups.head(50).to_list() == assign(keys.head(50), "email/winback", 0.1, SALT).to_list()
    control = (groups == "control").mean()
    assert abs(control - 0.1) < 4 * math.sqrt(0.1 * 0.9 / keys.len())
    # another salt, or another campaign, draws independently: groups agree as often as two coin flips would
    independent = 1 - 2 * 0.1 * 0.9
    for other in (
        assign(keys, "email/winback", 0.1, "another-salt-" + "y" * 16),
        assign(keys, "sms/x", 0.1, SALT),
    ):
        agree = (other == groups).mean()
        assert abs(agree - independent) < 4 * math.sqrt(independent * (1 - independent) / keys.len())
    draws = assignment_draws(keys, "email/winback", SALT)
    assert draws.min() >= 0 and draws.max() < 1 and abs(draws.mean() - 0.5) < 0.01
    # a larger share only moves customers from treatment to control, never back
    wider = assign(keys, "email/winback", 0.2, SALT)
    assert not ((groups == "control") & (wider == "treatment")).any()


def test_salt_id_tells_salts_apart_without_showing_them():
    assert salt_id(SALT) == salt_id(SALT) != salt_id(SALT + "!")
    assert len(salt_id(SALT)) == 12 and int(salt_id(SALT), 16) >= 0
    assert salt_id(SALT) not in SALT


def _assignment(
    key: str, group: str, at: dt.datetime, share: float = 0.5, campaign: str = "email/winback"
) -> dict:
    return {"campaign": campaign, "customer_key": key, "group": group, "share": share, "assigned_at": at}


def _order(key: str, days: float, amount: float) -> dict:
    return {"customer_key": key, "ordered_at": T0 + dt.timedelta(days=days), "amount": amount}


def test_effects_and_interval_equal_hand_computed_values():
    rows = [_assignment(k, "treatment", T0) for k in ("t1", "t2", "t3")]
    rows += [_assignment(k, "control", T0) for k in ("c1", "c2", "c3")]
    rows += [
        _assignment("t1", "control", T0 + dt.timedelta(days=1)),  # a later row never changes a group
        _assignment("late", "treatment", AS_OF - dt.timedelta(days=5)),  # response window not over yet
        _assignment("late2", "control", AS_OF - dt.timedelta(days=5)),
    ]
    orders = [
        _order("t1", 1, 10.0),
        _order("t1", 2, 20.0),
        _order("t2", 13.9, 30.0),
        _order("t3", 14.5, 99.0),  # after the 14-day window: counts for retention only
        _order("c2", 3, 6.0),
        _order("c1", -1, 50.0),  # before assignment
        _order("late", 1, 1.0),
    ]
    found = read_experiments(
        pl.DataFrame(rows).lazy(),
        pl.DataFrame(orders).lazy(),
        AS_OF,
        response_days=14,
        churn_days=30,
        interval=0.9,
    )
    row = found.row(0, named=True)
    assert found.height == 1 and row["touchpoint"] == "email/winback"
    assert (row["treated_customers"], row["control_customers"], row["holdout_share"]) == (3, 3, 0.5)
    # orders: treated [2, 1, 0] (variance 1), control [0, 1, 0] (variance 1/3, taken as the larger 1)
    variance = 1 / 3 + 1 / 3
    df = variance**2 / ((1 / 3) ** 2 / 2 + (1 / 3) ** 2 / 2)
    half = stats.t.ppf(0.95, df) * math.sqrt(variance)
    assert row["orders_effect"] == pytest.approx(1 - 1 / 3)
    assert row["orders_effect_low"] == pytest.approx(2 / 3 - half)
    assert row["orders_effect_high"] == pytest.approx(2 / 3 + half)
    assert row["incremental_orders"] == pytest.approx(3 * 2 / 3)
    assert row["incremental_orders_high"] == pytest.approx(3 * (2 / 3 + half))
    # revenue: treated [30, 30, 0], control [0, 6, 0]
    assert row["treated_revenue"] == pytest.approx(20) and row["control_revenue"] == pytest.approx(2)
    assert row["revenue_effect"] == pytest.approx(18) and row["incremental_revenue"] == pytest.approx(54)
    revenue_variance = 300 / 3 + 300 / 3  # the treated variance 300 exceeds the control's 12
    revenue_df = revenue_variance**2 / ((300 / 3) ** 2 / 2 * 2)
    revenue_half = stats.t.ppf(0.95, revenue_df) * math.sqrt(revenue_variance)
    assert row["revenue_effect_high"] - row["revenue_effect"] == pytest.approx(revenue_half)
    # retention within 30 days: treated [1, 1, 1], control [0, 1, 0]
    assert row["retention_effect"] == pytest.approx(2 / 3) and row["retention_customers"] == 6


def test_shares_are_compared_within_their_stratum_and_retention_waits_for_its_window():
    # in the first stratum (share 0.5) everybody orders once and treatment adds one order; in the second
    # (share 0.2) nobody orders and treatment adds nothing. Pooled, control would mostly come from the second
    # stratum and the difference would look far bigger than the strata's weighted effect.
    rows, orders = [], []
    for i in range(4):
        rows += [_assignment(f"a_t{i}", "treatment", T0), _assignment(f"a_c{i}", "control", T0)]
        orders += [_order(f"a_t{i}", 1, 5.0), _order(f"a_t{i}", 2, 5.0), _order(f"a_c{i}", 1, 5.0)]
    for i in range(16):
        rows.append(_assignment(f"b_t{i}", "treatment", T0 + dt.timedelta(days=20), share=0.2))
    for i in range(4):
        rows.append(_assignment(f"b_c{i}", "control", T0 + dt.timedelta(days=20), share=0.2))
    found = read_experiments(
        pl.DataFrame(rows).lazy(),
        pl.DataFrame(orders).lazy(),
        AS_OF,
        response_days=7,
        churn_days=45,
        interval=0.9,
    ).row(0, named=True)
    assert (found["treated_customers"], found["control_customers"]) == (20, 8)
    assert found["orders_effect"] == pytest.approx(8 / 28 * 1 + 20 / 28 * 0)
    # the churn window (45 days) has passed for the first stratum only
    assert found["retention_customers"] == 8 and found["retention_effect"] == pytest.approx(0)


def test_an_experiment_whose_window_has_not_passed_is_not_read():
    rows = [_assignment("a", "treatment", AS_OF), _assignment("b", "control", AS_OF)]
    found = read_experiments(
        pl.DataFrame(rows).lazy(),
        pl.DataFrame([_order("a", 1, 1.0)]).lazy(),
        AS_OF,
        response_days=14,
        churn_days=30,
        interval=0.9,
    )
    assert found.is_empty() and {"touchpoint", "incremental_revenue_high"} <= set(found.columns)


def _planted(seed: int) -> SynthParams:
    """The CRM mailings with a 20% holdout, plus a strong and an inert mailing with one."""
    held = tuple(
        dataclasses.replace(c, holdout_share=0.2) if c.audience == "subscribers" else c for c in DEFAULT_CAMPAIGNS
    )
    extra = tuple(
        Campaign("email", name, "sent", "subscribers", per_year, open_rate=0.3, click_rate=0.2,
                 incremental_order_prob=effect, cost_per_contact=0.002, holdout_share=0.2)
        for name, per_year, effect in (("flash_sale", 3.0, 0.15), ("inert", 5.0, 0.0))
    )  # fmt: skip
    return SynthParams(customers=2500, seed=seed, campaigns=held + extra)


def test_the_interval_covers_the_true_effect_of_planted_holdout_campaigns():
    read = []
    for seed in range(70, 80):  # 10 projects x 4 experiments
        sim = simulate(_planted(seed))
        keyed = pl.col("person_id").cast(pl.String).alias("customer_key")
        found = read_experiments(
            assignments(sim).with_columns(keyed).lazy(),
            kept_orders(sim).with_columns(keyed).lazy(),
            sim.timeline.cutoff_utc,
            response_days=sim.params.experiment_response_days,
            churn_days=180,
            interval=0.9,
        )
        read.append(experiments(sim).join(found, left_on="campaign", right_on="touchpoint", how="inner"))
    table = pl.concat(read)
    assert table.height == 40
    assert (table["treated"] == table["treated_customers"]).all()
    assert (table["control"] == table["control_customers"]).all()
    for outcome in ("orders", "revenue"):
        truth = pl.col(f"true_itt_{outcome}")
        inside = (pl.col(f"{outcome}_effect_low") <= truth) & (truth <= pl.col(f"{outcome}_effect_high"))
        assert table.select(inside.mean()).item() >= 0.85, outcome
        totals = (pl.col(f"incremental_{outcome}_low") <= pl.col(f"true_incremental_{outcome}")) & (
            pl.col(f"true_incremental_{outcome}") <= pl.col(f"incremental_{outcome}_high")
        )
        assert table.select(totals.mean()).item() >= 0.85, outcome
    strong = table.filter(pl.col("campaign") == "email/flash_sale")
    # the strong mailing's effect is found, not only covered: its interval excludes zero in most projects
    assert (strong["true_itt_orders"] > 0.05).all() and (strong["orders_effect_low"] > 0).mean() >= 0.7
    assert (table.filter(pl.col("campaign") == "email/inert")["true_incremental_orders"] == 0).all()
