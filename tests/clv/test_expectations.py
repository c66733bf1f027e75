"""BG/NBD conditional expected purchases: lifetimes' values where lifetimes is finite, and the right values
where its logarithm of a negative 2F1 gives NaN (a + b < 1, customers without repeat purchases)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, ParetoNBDFitter

from cxdata.clv.expectations import bgnbd_expected_purchases, pareto_expected_purchases, pareto_p_alive

# a penalised fit on full CDNOW (daily periods, calibration to 1997-09-30): a + b < 1
CDNOW_PENALISED = {"r": 0.2525, "alpha": 33.87, "a": 0.2709, "b": 0.6259}


def lifetimes_model(params: dict[str, float]) -> BetaGeoFitter:
    model = BetaGeoFitter()
    model.params_ = pd.Series(params)
    return model


def series_2f1(a: float, b: float, c: float, z: float, terms: int = 20_000) -> float:
    """The hypergeometric series summed term by term: an independent reference for |z| < 1."""
    term, total = 1.0, 1.0
    for n in range(terms):
        term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z
        total += term
    return total


def histories(rng: np.random.Generator, max_frequency: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """200 random (frequency, recency, T) histories, recency 0 without repeats, and a horizon t."""
    T = rng.uniform(1, 300, 200)
    recency = T * rng.uniform(0, 1, 200)
    x = np.where(recency > 0, rng.integers(0, max_frequency, 200), 0).astype(float)
    return x, recency, T, rng.uniform(1, 400)


def test_equal_to_lifetimes_where_lifetimes_is_finite():
    rng = np.random.default_rng(4)
    for _ in range(20):
        params = {
            "r": rng.uniform(0.1, 3),
            "alpha": rng.uniform(1, 50),
            "a": rng.uniform(0.2, 3),
            "b": rng.uniform(0.5, 5),
        }
        x, recency, T, t = histories(rng, 40)
        ours = bgnbd_expected_purchases(params, t, x, recency, T)
        with np.errstate(all="ignore"):
            theirs = lifetimes_model(params).conditional_expected_number_of_purchases_up_to_time(t, x, recency, T)
        finite = np.isfinite(theirs)
        assert finite.mean() > 0.5 and np.isfinite(ours).all()
        np.testing.assert_allclose(ours[finite], np.asarray(theirs)[finite], rtol=1e-9)


def test_customers_without_repeats_get_a_value_when_lifetimes_gives_nan():
    T = np.array([0.0, 50.0, 200.0, 272.0])
    zeros = np.zeros_like(T)
    with np.errstate(all="ignore"):
        theirs = lifetimes_model(CDNOW_PENALISED).conditional_expected_number_of_purchases_up_to_time(
            273, zeros, zeros, T
        )
    assert np.isnan(theirs).all()
    ours = bgnbd_expected_purchases(CDNOW_PENALISED, 273, zeros, zeros, T)
    # a customer just acquired expects what lifetimes' unconditional curve says (no logarithm there)
    assert ours[0] == pytest.approx(lifetimes_model(CDNOW_PENALISED).expected_number_of_purchases_up_to_time(273))
    # and every one the textbook formula, its 2F1 summed term by term
    r, alpha, a, b = (CDNOW_PENALISED[k] for k in ("r", "alpha", "a", "b"))
    for age, value in zip(T, ours, strict=True):
        z = 273 / (alpha + age + 273)
        tail = ((alpha + age) / (alpha + age + 273)) ** r * series_2f1(r, b, a + b - 1, z)
        assert value == pytest.approx((a + b - 1) / (a - 1) * (1 - tail), rel=1e-9)
    assert (np.diff(ours) < 0).all()  # silent longer, fewer purchases expected


def test_heavy_buyers_stay_finite():
    x = np.array([200.0, 1000.0, 5000.0])  # bought on their last day: the more purchases, the more to come
    values = bgnbd_expected_purchases(CDNOW_PENALISED, 273, x, np.full(3, 272.0), np.full(3, 272.0))
    assert np.isfinite(values).all() and (np.diff(values) > 0).all()


def lifetimes_pareto(params: dict[str, float]) -> ParetoNBDFitter:
    model = ParetoNBDFitter()
    model.params_ = pd.Series(params)
    return model


def test_pareto_equal_to_lifetimes_where_lifetimes_is_finite():
    rng = np.random.default_rng(8)
    for _ in range(20):
        params = {
            "r": rng.uniform(0.2, 3),
            "alpha": rng.uniform(1, 50),
            "s": rng.uniform(0.2, 3),
            "beta": rng.uniform(1, 50),
        }
        x, recency, T, t = histories(rng, 30)
        theirs = lifetimes_pareto(params)
        with np.errstate(all="ignore"):
            alive = np.asarray(theirs.conditional_probability_alive(x, recency, T))
            expected = np.asarray(theirs.conditional_expected_number_of_purchases_up_to_time(t, x, recency, T))
        finite = np.isfinite(alive) & np.isfinite(expected)
        assert finite.mean() > 0.5
        np.testing.assert_allclose(pareto_p_alive(params, x, recency, T)[finite], alive[finite], rtol=1e-8)
        np.testing.assert_allclose(
            pareto_expected_purchases(params, t, x, recency, T)[finite], expected[finite], rtol=1e-8
        )


def test_pareto_heavy_buyers_get_values_where_lifetimes_gives_nan():
    params = {"r": 0.8, "alpha": 20.0, "s": 0.5, "beta": 300.0}  # daily periods, beta far above alpha
    x = np.array([50.0, 300.0, 360.0])
    recency, T = np.array([120.0, 20.0, 21.8]), np.array([128.0, 40.0, 42.6])
    with np.errstate(all="ignore"):
        theirs = lifetimes_pareto(params).conditional_expected_number_of_purchases_up_to_time(273, x, recency, T)
    assert np.isfinite(np.asarray(theirs)[0]) and not np.isfinite(np.asarray(theirs)[2])
    alive = pareto_p_alive(params, x, recency, T)
    expected = pareto_expected_purchases(params, 273, x, recency, T)
    assert np.isfinite(alive).all() and np.isfinite(expected).all()
    assert expected[0] == pytest.approx(np.asarray(theirs)[0], rel=1e-8)
    # 300+ purchases in three weeks, then silence for as long: gone, far surer than the light buyer
    assert alive[2] < alive[1] < 1e-6 < alive[0]
    assert pareto_p_alive(params, x, T, T) == pytest.approx(1.0)  # bought at T: alive
