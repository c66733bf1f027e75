"""CLV scores per customer: P(alive), expected purchases and spend over the horizon, discounted CLV, percentile.

Every model formula is evaluated once per distinct (frequency, recency, T)
row and joined back: a million customers share a few hundred thousand
histories at most, and lifetimes' conditional formulas are vectorised numpy.

CLV follows lifetimes' ``customer_lifetime_value``: the horizon is cut into
monthly steps, the expected purchases of each step (the difference of the
cumulative conditional expectation) are multiplied by the expected spend per
purchase and discounted to ``as_of`` at the end of their step. lifetimes takes
a monthly rate and 30-day months; here the annual rate is compounded exactly,
``(1 + annual) ** (-days / 365)``, and the horizon in days is cut into
``round(horizon_days / 30)`` equal steps (12 for 365 days). A boosted model's scores
(cxdata/clv/boosted.py) use the same steps on its cumulative curve: its window's
expected purchases times its BTYD base's `time_profile`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from cxdata.clv.btyd import BtydModel, SpendModel
from cxdata.clv.rfm import PERIOD_DAYS, utc

HISTORY = ("frequency", "recency", "T")


def predict_rows(model: BtydModel, rfm: pl.DataFrame, horizon_periods: float) -> pl.DataFrame:
    """``rfm`` with p_alive and expected_purchases over ``horizon_periods``, computed on its distinct histories."""
    rows = rfm.select(HISTORY).unique()
    f, r, t = (rows[c].to_numpy() for c in HISTORY)
    rows = rows.with_columns(
        pl.Series("p_alive", np.clip(model.p_alive(f, r, t), 0.0, 1.0)),
        pl.Series("expected_purchases", model.expected_purchases(horizon_periods, f, r, t)),
    )
    return rfm.join(rows, on=list(HISTORY), how="left", nulls_equal=True)


def time_profile(model: BtydModel, rows: pl.DataFrame, window: float, ends: np.ndarray) -> np.ndarray:
    """BTYD's expected purchases of each row by each of ``ends`` over those by ``window`` (periods), shape
    (ends, rows): a boosted model's window extended in time (cxdata/clv/boosted.py). Where BTYD expects
    nothing in the window (a customer it holds dead, to float precision) the profile is linear in time."""
    f, r, t = (rows[c].to_numpy() for c in HISTORY)
    base = model.expected_purchases(window, f, r, t)
    cumulative = np.stack([model.expected_purchases(end, f, r, t) for end in ends])
    known = np.isfinite(base) & (base > 1e-12)
    return np.where(known, cumulative / np.where(known, base, 1.0), np.asarray(ends)[:, None] / window)


def discounted_purchases(
    model: BtydModel,
    rows: pl.DataFrame,
    horizon_days: int,
    period_days: int,
    annual_discount_rate: float,
    window_days: int | None = None,
) -> np.ndarray:
    """Expected purchases over the horizon, each monthly step discounted to the start (see the module doc);
    with ``window_days``, per purchase expected in that first window (BTYD's `time_profile`)."""
    f, r, t = (rows[c].to_numpy() for c in HISTORY)
    steps = max(1, round(horizon_days / 30))
    ends = np.arange(1, steps + 1) * (horizon_days / steps)  # step ends, days after as_of
    if window_days is None:
        cumulative = np.stack([model.expected_purchases(end / period_days, f, r, t) for end in ends])
    else:
        cumulative = time_profile(model, rows, window_days / period_days, ends / period_days)
    increments = np.diff(cumulative, axis=0, prepend=0.0)
    factors = (1.0 + annual_discount_rate) ** (-ends / 365.0)
    # not `factors @ increments`: BLAS may sum in another order from call to call (alignment), and a last-bit
    # difference between equal histories breaks their tie in clv_percentile; a row sum is the same every time
    return (factors[:, None] * increments).sum(axis=0)


def score_customers(
    rfm: pl.DataFrame,
    model: BtydModel,
    spend: SpendModel | None,
    *,
    as_of: dt.datetime,
    model_run_id: str,
    horizon_days: int,
    period: str,
    annual_discount_rate: float,
    fallback_spend: float | None = None,
    boosted: pl.DataFrame | None = None,
    window_days: int | None = None,
) -> pl.DataFrame:
    """One row per customer of ``rfm`` (customer_key, frequency, recency, T, monetary_value) with its scores.

    ``boosted`` (customer_key, boosted_purchases: a boosted model's expected purchases in the
    ``window_days`` after as_of, for every customer of ``rfm``) replaces ``model``'s level: expected
    purchases by any day are then the boosted window's times ``model``'s `time_profile`. P(alive) stays
    the model's.

    ``expected_spend`` is Gamma-Gamma's conditional expected spend per
    purchase (the population mean for customers without a repeat purchase).
    Without a spend model, ``fallback_spend`` (the caller says which, and
    records it in the model run) is used for everybody. ``clv_percentile`` is
    the share of scored customers with a CLV at most this one's, in (0, 100].

    Example::

        score_customers(rfm, model, spend, as_of=as_of, model_run_id="r1", horizon_days=365,
                        period="D", annual_discount_rate=0.1)
    """
    period_days = PERIOD_DAYS[period]
    rows = rfm.select(HISTORY).unique()
    f, r, t = (rows[c].to_numpy() for c in HISTORY)
    window = None if boosted is None else window_days
    discounted = discounted_purchases(model, rows, horizon_days, period_days, annual_discount_rate, window)
    if window is None:
        expected = model.expected_purchases(horizon_days / period_days, f, r, t)
    else:
        horizon = np.array([horizon_days / period_days])
        expected = time_profile(model, rows, window / period_days, horizon)[0]
    rows = rows.with_columns(
        pl.Series("p_alive", np.clip(model.p_alive(f, r, t), 0.0, 1.0)),
        pl.Series("expected_purchases", expected),
        pl.Series("_discounted", discounted),
    )
    if spend is not None:
        expected_spend = spend.expected_spend(rfm["frequency"].to_numpy(), rfm["monetary_value"].to_numpy())
    elif fallback_spend is not None:
        expected_spend = np.full(rfm.height, fallback_spend)
    else:
        raise ValueError("no spend model and no fallback_spend: expected spend is unknown")
    scored = rfm.with_columns(pl.Series("expected_spend", expected_spend)).join(
        rows, on=list(HISTORY), how="left", nulls_equal=True
    )
    if window is not None:
        scored = scored.join(boosted.select("customer_key", "boosted_purchases"), on="customer_key", how="left")
        if missing := scored["boosted_purchases"].null_count():
            raise ValueError(f"{missing} customers have no boosted prediction")
        scored = scored.with_columns(pl.col("expected_purchases", "_discounted") * pl.col("boosted_purchases"))
    clv = pl.col("_discounted") * pl.col("expected_spend")
    return scored.select(
        "customer_key",
        pl.lit(utc(as_of)).alias("as_of"),
        pl.lit(model_run_id).alias("model_run_id"),
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "p_alive",
        "expected_purchases",
        "expected_spend",
        clv.alias("clv"),
        clv_percentile(clv).alias("clv_percentile"),
    ).sort("customer_key")


def clv_percentile(clv: pl.Expr) -> pl.Expr:
    """The share of the frame's customers with a CLV at most each one's, in percent (ties share the highest)."""
    return clv.rank("max") / pl.len() * 100
