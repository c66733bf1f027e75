"""Churn features on hand-made facts: signs of life after the last order and what they change."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxdata.churn.features import ChurnInputs, build_features
from cxdata.churn.reads import sampled_inputs
from cxdata.config import ChurnConfig

UTC = dt.UTC
CUTOFF = dt.datetime(2025, 6, 30, tzinfo=UTC)


def _orders() -> pl.LazyFrame:
    # 300 customers with a year of monthly-ish orders that stop at different times, so BTYD can fit
    rows = []
    for c in range(300):
        for k in range(1 + c % 7):
            rows.append(
                (f"c{c:03d}", dt.datetime(2024, 7, 1, tzinfo=UTC) + dt.timedelta(days=40 * k + c % 11), 20.0)
            )
    return pl.DataFrame(rows, schema=["customer_key", "ordered_at", "amount"], orient="row").lazy()


def _touches() -> pl.LazyFrame:
    late = dt.datetime(2025, 6, 1, tzinfo=UTC)
    return pl.DataFrame(
        {
            "customer_key": ["c000", "c001", "c002", "c003", "c004"],
            "occurred_at": [late, late, late, late, dt.datetime(2030, 1, 1, tzinfo=UTC)],
            "channel": ["social", "email", "email", "paid_search", "social"],
            "kind": ["impression", "sent", "open", "click", "impression"],
        }
    ).lazy()


@pytest.fixture(scope="module")
def features() -> pl.DataFrame:
    inputs = ChurnInputs(orders=_orders(), touches=_touches())
    return build_features(inputs, CUTOFF, ChurnConfig(horizon_days=90)).sort("customer_key")


def test_a_click_or_impression_after_the_last_order_counts_as_seen_alive(features):
    row = {r["customer_key"]: r for r in features.to_dicts()}
    # c000 impression, c003 click: seen after their last order; c001 a send, c002 an open: not seen
    # (mail clients report opens nobody made); c004's impression is after the cutoff: not known yet
    assert [row[c]["contacts_seen_since_last_order"] for c in ("c000", "c001", "c002", "c003", "c004")] == [
        1.0, 0.0, 0.0, 1.0, 0.0,
    ]  # fmt: skip
    for c in ("c000", "c003"):
        assert row[c]["btyd_p_no_purchase_seen"] == row[c]["btyd_p_no_purchase_if_alive"]
    # c003 bought four times and then stopped: BTYD doubts it is alive, the click settles it (c000 bought
    # once, which BG/NBD counts as alive for sure, so nothing changes there)
    assert row["c003"]["btyd_p_no_purchase_seen"] < row["c003"]["btyd_p_no_purchase"] - 0.01
    assert row["c000"]["btyd_p_no_purchase_seen"] == pytest.approx(row["c000"]["btyd_p_no_purchase"])
    for c in ("c001", "c002", "c004", "c100"):
        assert row[c]["btyd_p_no_purchase_seen"] == row[c]["btyd_p_no_purchase"]


def test_touches_since_last_order_are_counted_per_channel(features):
    row = {r["customer_key"]: r for r in features.to_dicts()}
    assert row["c000"]["touches_social_since_last_order"] == 1.0
    assert row["c001"]["touches_email_since_last_order"] == 1.0
    assert row["c100"]["touches_social_since_last_order"] == 0.0  # no touch at all: a count of zero


def test_orders_alone_give_no_seen_feature():
    frame = build_features(ChurnInputs(orders=_orders()), CUTOFF, ChurnConfig(horizon_days=90))
    assert "btyd_p_no_purchase_seen" not in frame.columns
    assert frame["btyd_p_no_purchase_if_alive"].is_between(0, 1).all()


def test_silence_after_the_last_order_lowers_p_alive_of_customers_whose_visits_are_tracked():
    # 400 customers with 1-3 orders 40 days apart; the even ones visit every 10 days between their first and
    # last order (tracked), and those with k % 4 == 0 keep visiting after it (seen alive); k % 4 == 2 go
    # silent after their last order; the odd ones never visit (not tracked), so their silence says nothing
    start = dt.datetime(2024, 9, 1, tzinfo=UTC)
    cutoff = start + dt.timedelta(days=150)
    orders, sessions = [], []
    for k in range(400):
        days = [40 * j + k % 13 for j in range(1 + k % 3)]
        orders += [(f"k{k:03d}", start + dt.timedelta(days=d), 20.0) for d in days]
        if k % 2 == 0:
            until = 145 if k % 4 == 0 else days[-1]
            sessions += [(f"k{k:03d}", start + dt.timedelta(days=d + 0.5)) for d in range(days[0], until, 10)]
    inputs = ChurnInputs(
        orders=pl.DataFrame(orders, schema=["customer_key", "ordered_at", "amount"], orient="row").lazy(),
        sessions=pl.DataFrame(sessions, schema=["customer_key", "started_at"], orient="row")
        .with_columns(page_views=pl.lit(1), converted=pl.lit(False))
        .lazy(),
    )
    frame = build_features(inputs, cutoff, ChurnConfig(horizon_days=90)).with_columns(
        pl.col("customer_key").str.slice(1).cast(pl.Int64).alias("k"),
        (pl.col("btyd_p_no_purchase_seen") - pl.col("btyd_p_no_purchase")).alias("shift"),
    )
    seen = frame.filter(pl.col("k") % 4 == 0)
    silent = frame.filter((pl.col("k") % 4 == 2) & (pl.col("n_orders") > 1))
    untracked = frame.filter(pl.col("k") % 2 == 1)
    assert (seen["btyd_p_no_purchase_seen"] == seen["btyd_p_no_purchase_if_alive"]).all()
    # silent after months of visits: most likely gone
    assert silent["shift"].min() > 0.05 and silent["shift"].mean() > 0.1, silent.select("k", "shift")
    # never tracked: no news, so close to BTYD's figure, and never more sure of being alive than BTYD
    assert untracked["shift"].min() >= -1e-12 and untracked["shift"].max() < 0.02


def test_sampled_inputs_keep_every_table_of_the_same_seeded_customers():
    keys = [f"c{i}" for i in range(50)]
    orders = pl.LazyFrame({"customer_key": keys * 2, "amount": [1.0] * 100})
    sessions = pl.LazyFrame({"customer_key": [*keys[::2], "web_only"]})
    inputs = ChurnInputs(orders=orders, sessions=sessions)
    assert sampled_inputs(inputs, 50, seed=0) is inputs  # no more customers than the cap: untouched
    first, again = sampled_inputs(inputs, 10, seed=0), sampled_inputs(inputs, 10, seed=0)
    kept = set(first.orders.collect()["customer_key"])
    assert len(kept) == 10 and first.orders.collect().height == 20  # both orders of each kept customer
    assert set(again.orders.collect()["customer_key"]) == kept
    assert set(first.sessions.collect()["customer_key"]) == kept & set(keys[::2])
    assert first.tickets is None
    assert set(sampled_inputs(inputs, 10, seed=1).orders.collect()["customer_key"]) != kept
