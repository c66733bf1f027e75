"""Churn features on hand-made facts: signs of life after the last order and what they change."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxdata.churn.features import ChurnInputs, build_features
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
