"""The polars RFM summaries equal lifetimes' own, on CDNOW and on random timestamps, for days and weeks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data
from polars.testing import assert_frame_equal

from cxdata.clv.rfm import calibration_holdout, purchases, rfm_summary


def _pandas(orders: pl.DataFrame):
    # lifetimes reads wall-clock time; UTC wall clock is what the polars summary truncates
    return orders.with_columns(pl.col("ordered_at").dt.replace_time_zone(None)).to_pandas()


def _lifetimes(frame) -> pl.DataFrame:
    converted = pl.from_pandas(frame.reset_index())
    return converted.with_columns(pl.exclude("customer_key").cast(pl.Float64)).sort("customer_key")


def random_orders(n: int = 4000, customers: int = 300, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    seconds = rng.integers(0, 400 * 86400, n)
    return pl.DataFrame(
        {
            "customer_key": rng.integers(0, customers, n).astype(str),
            "ordered_at": [start + dt.timedelta(seconds=int(s)) for s in seconds],
            "amount": rng.gamma(2.0, 20.0, n).round(2),
        }
    ).with_columns(pl.col("ordered_at").dt.cast_time_unit("us"))


@pytest.mark.parametrize("freq", ["D", "W"])
@pytest.mark.parametrize("dataset", ["cdnow", "random"])
def test_summary_equals_lifetimes(cdnow, dataset, freq):
    orders = cdnow if dataset == "cdnow" else random_orders()
    end = dt.datetime(1998, 6, 30) if dataset == "cdnow" else dt.datetime(2024, 1, 20, 13)
    expected = summary_data_from_transaction_data(
        _pandas(orders), "customer_key", "ordered_at", "amount", observation_period_end=end, freq=freq
    )
    got = rfm_summary(orders.lazy(), end, freq).collect()
    assert_frame_equal(got, _lifetimes(expected))
    # the default end is the last order
    default = summary_data_from_transaction_data(
        _pandas(orders), "customer_key", "ordered_at", "amount", freq=freq
    )
    assert_frame_equal(rfm_summary(orders.lazy(), freq=freq).collect(), _lifetimes(default))


@pytest.mark.parametrize("freq", ["D", "W"])
@pytest.mark.parametrize("dataset", ["cdnow", "random"])
def test_calibration_holdout_equals_lifetimes(cdnow, dataset, freq):
    orders = cdnow if dataset == "cdnow" else random_orders(seed=2)
    cut, end = (
        (dt.datetime(1997, 9, 30), dt.datetime(1998, 6, 30))
        if dataset == "cdnow"
        else (dt.datetime(2023, 9, 30, 7), dt.datetime(2024, 1, 20))
    )
    expected = calibration_and_holdout_data(
        _pandas(orders), "customer_key", "ordered_at", cut, end, freq=freq, monetary_value_col="amount"
    )
    got = calibration_holdout(orders.lazy(), cut, end, freq).collect()
    assert_frame_equal(got, _lifetimes(expected).select(got.columns))


def test_refunds_are_removed_before_summarising():
    orders = pl.DataFrame(
        {
            "customer_key": ["a", "a", "a", None],
            "ordered_at": [dt.datetime(2024, 1, d, tzinfo=dt.UTC) for d in (1, 5, 9, 9)],
            "amount": [10.0, 20.0, -20.0, 5.0],
            "is_refund": [False, False, True, False],
        }
    )
    summary = rfm_summary(purchases(orders.lazy()), dt.datetime(2024, 1, 10)).collect()
    assert summary.select("customer_key", "frequency", "recency", "T", "monetary_value").row(0) == (
        "a",
        1.0,
        4.0,
        9.0,
        20.0,
    )
    assert summary.height == 1
