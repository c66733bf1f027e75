"""CLV's headline figure against an independent reference: lifetimes' own customer_lifetime_value on the
CDNOW sample, and a discounting example worked by hand."""

from __future__ import annotations

import datetime as dt

import lifetimes
import numpy as np
import pandas as pd
import polars as pl
import pytest

from cxdata.clv.btyd import BtydModel, SpendModel
from cxdata.clv.score import score_customers

from .conftest import DATASETS

AS_OF = dt.datetime(1998, 7, 1, tzinfo=dt.UTC)
WEEK = 7.0


@pytest.fixture(scope="module")
def cdnow_days() -> pl.DataFrame:
    """The CDNOW sample summary (2,357 customers) with recency and T in days instead of weeks.

    lifetimes' weekly CLV takes a month as 4.345 weeks, which no whole number of days cut into cxdata's
    equal steps matches; in days both take a month as 30 days.
    """
    raw = pl.read_csv((DATASETS / "cdnow_customers_summary_with_transactions.csv").read_bytes())
    return raw.select(
        pl.col("ID").cast(pl.String).alias("customer_key"),
        pl.col("x").cast(pl.Float64).alias("frequency"),
        (pl.col("t_x") * WEEK).alias("recency"),
        (pl.col("T") * WEEK).alias("T"),
        pl.col("zbar").alias("monetary_value"),
    )


def test_clv_equals_lifetimes_customer_lifetime_value_on_cdnow(cdnow_days):
    model = BtydModel("bgnbd").fit(cdnow_days)
    spend = SpendModel().fit(cdnow_days)
    # BG/NBD's rate scales with the time unit: the published weekly fit (r 0.243, alpha 4.414, a 0.793,
    # b 2.426; tests/clv/test_btyd.py) in days has alpha 7 times larger and the rest unchanged
    params = model.params_
    assert (params["r"], params["a"], params["b"]) == pytest.approx((0.243, 0.793, 2.426), abs=5e-4)
    assert params["alpha"] == pytest.approx(4.414 * WEEK, rel=1e-3)

    monthly = 0.01
    # 360 days are 12 of cxdata's equal steps of 30 days, lifetimes' months in days; an annual rate compounded
    # over 365/30 months discounts step k by (1 + annual)^(-30 k / 365) = (1 + monthly)^(-k), as lifetimes does
    annual = (1 + monthly) ** (365 / 30) - 1
    scores = score_customers(
        cdnow_days,
        model,
        spend,
        as_of=AS_OF,
        model_run_id="cdnow",
        horizon_days=360,
        period="D",
        annual_discount_rate=annual,
    )
    frame = cdnow_days.join(scores.select("customer_key", "clv"), on="customer_key", validate="1:1")
    columns = {c: pd.Series(frame[c].to_numpy()) for c in ("frequency", "recency", "T", "monetary_value")}
    reference = spend.fitter_.customer_lifetime_value(
        model.fitter_, **columns, time=12, discount_rate=monthly, freq="D"
    ).to_numpy()
    print(f"\nCDNOW CLV over 12 months: cxdata mean {frame['clv'].mean():.4f}, lifetimes {reference.mean():.4f}")
    assert isinstance(model.fitter_, lifetimes.BetaGeoFitter)
    assert np.all(reference > 0)
    np.testing.assert_allclose(frame["clv"].to_numpy(), reference, rtol=1e-8)


class _Linear:
    """A purchase model whose expected purchases grow linearly: 0.01 (1 + frequency) a day, alive for sure."""

    def expected_purchases(self, t, frequency, recency, T):
        return 0.01 * (1 + np.asarray(frequency, dtype=float)) * t

    def p_alive(self, frequency, recency, T):
        return np.ones(len(frequency))


def test_discounting_worked_by_hand():
    rfm = pl.DataFrame(
        {"customer_key": ["a", "b"], "frequency": [1.0, 0.0], "recency": [20.0, 0.0], "T": [40.0, 40.0]}
    ).with_columns(pl.lit(None, pl.Float64).alias("monetary_value"))
    scores = score_customers(
        rfm,
        _Linear(),
        None,
        as_of=AS_OF,
        model_run_id="hand",
        horizon_days=90,
        period="D",
        annual_discount_rate=0.10,
        fallback_spend=50.0,
    )
    # 90 days in round(90 / 30) = 3 steps ending on days 30, 60, 90; customer a buys 0.02 a day, so 0.6 in
    # each step, worth 0.6 * 50 = 30. Discounted to as_of at each step's end at 10% a year:
    #   1.1^(-30/365) = exp(-0.0953102 * 0.0821918) = exp(-0.0078337) = 0.9921969
    #   1.1^(-60/365) = exp(-0.0156674) = 0.9844547
    #   1.1^(-90/365) = exp(-0.0235011) = 0.9767729
    #   CLV a = 30 * (0.9921969 + 0.9844547 + 0.9767729) = 30 * 2.9534244 = 88.60273
    # customer b buys half as often: 44.30137
    a, b = scores.sort("customer_key").rows(named=True)
    assert a["clv"] == pytest.approx(88.60273, abs=1e-5)
    assert b["clv"] == pytest.approx(44.30137, abs=1e-5)
    assert (a["expected_purchases"], b["expected_purchases"]) == pytest.approx((1.8, 0.9))
    assert (a["expected_spend"], a["p_alive"], a["clv_percentile"], b["clv_percentile"]) == (
        50.0,
        1.0,
        100.0,
        50.0,
    )
