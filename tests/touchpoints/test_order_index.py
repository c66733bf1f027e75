"""The order index counts a customer's orders in a window the same way whatever the customer's place in the
index: the sharded and unsharded touchpoint steps index the same customer at very different places (one
shard's customers, or all), so anything else makes their sums differ."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from cxdata.touchpoints.order_index import TICK_DAYS, OrderIndex

ORIGIN = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
MOMENT = dt.datetime(2025, 7, 3, 12, 0, 0, 1000, tzinfo=dt.UTC)  # a contact and an order at this instant


@pytest.mark.parametrize("place", [0, 7, 150_000, 1_999_999])
def test_a_window_ends_at_the_same_instant_for_every_place_in_the_index(place):
    customers = pl.Series("customer_key", [f"c{i:07d}" for i in range(2_000_000)])
    mine = customers[place]
    orders = pl.DataFrame(
        {"customer_key": [mine, mine, mine], "amount": [10.0, 20.0, 40.0],
         "ordered_at": [MOMENT - dt.timedelta(days=3), MOMENT, MOMENT + dt.timedelta(milliseconds=2)]},
    )  # fmt: skip
    index = OrderIndex(orders, customers, ORIGIN, 900.0)
    t = index.days(pl.Series([MOMENT]))
    idx = np.array([place])
    before, _ = index.window(idx, t - 10.0, t - TICK_DAYS)  # strictly before the instant
    at, revenue = index.window(idx, t - 10.0, t)
    after, _ = index.window(idx, t, t + 0.5)
    assert (before[0], at[0], revenue[0], after[0]) == (1.0, 2.0, 30.0, 1.0)
    assert index.day_of()[1] == pytest.approx(t[0], abs=TICK_DAYS)


def test_an_index_too_wide_for_its_keys_is_refused():
    customers = pl.Series("customer_key", ["a"])
    with pytest.raises(ValueError, match=r"scale\.shards"):
        OrderIndex(pl.DataFrame(schema={"customer_key": pl.String, "ordered_at": pl.Datetime("us", "UTC"),
                                        "amount": pl.Float64}), customers, ORIGIN, 1e13)  # fmt: skip
