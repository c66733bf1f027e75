"""The analytic BG/NBD and MBG/NBD objective against lifetimes' own (autograd) value, gradient and Hessian."""

from __future__ import annotations

import lifetimes
import numpy as np
import pytest
from lifetimes.fitters import hessian, value_and_grad  # autograd, as lifetimes uses it

from cxdata.clv import likelihood

FITTERS = {"bgnbd": lifetimes.BetaGeoFitter, "mbgnbd": lifetimes.ModifiedBetaGeoFitter}


def simulated(n: int, seed: int, r=0.7, alpha=30.0, a=1.2, b=8.0, gaps=80) -> tuple[np.ndarray, ...]:
    """Daily BG/NBD histories: Gamma(r, alpha) rates, dropout Beta(a, b) after each purchase, integer days."""
    rng = np.random.default_rng(seed)
    T = rng.integers(20, 500, n).astype(float)
    rate = rng.gamma(r, 1 / alpha, n)
    dropout = rng.beta(a, b, n)
    times = np.cumsum(rng.exponential(1.0, (n, gaps)) / rate[:, None], axis=1)
    purchases_alive = rng.geometric(dropout)  # the purchase at which the customer drops out, included
    made = (times < T[:, None]) & (np.arange(1, gaps + 1) <= purchases_alive[:, None])
    frequency = made.sum(axis=1).astype(float)
    last = np.where(made, times, 0.0).max(axis=1)
    return frequency, np.floor(last), T


def _lifetimes_objective(model, log_params, frequency, recency, T, weights, penalizer):
    nll = FITTERS[model]._negative_log_likelihood
    return nll(log_params, frequency.astype(int), recency, T, weights, penalizer)


@pytest.mark.parametrize("model", sorted(FITTERS))
@pytest.mark.parametrize("penalizer", [0.0, 0.1])
def test_value_and_gradient_equal_lifetimes(model, penalizer):
    frequency, recency, T = simulated(2000, seed=1)
    scale = 1 / T.max()
    weights = np.random.default_rng(2).integers(1, 5, T.size).astype(float)
    data = likelihood.histories(model, frequency, recency * scale, T * scale, weights)
    for point in np.random.default_rng(3).normal(0.0, 1.5, (5, 4)):
        value, gradient = likelihood.negative_log_likelihood(point, data, penalizer)
        expected, expected_gradient = value_and_grad(_lifetimes_objective, 1)(
            model, point, frequency, recency * scale, T * scale, weights, penalizer
        )
        assert value == pytest.approx(expected, rel=1e-12)
        np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("model", sorted(FITTERS))
def test_optimum_with_and_without_the_subsample_warm_up(model, monkeypatch):
    frequency, recency, T = simulated(4000, seed=4)
    scale = 1 / T.max()
    data = likelihood.histories(model, frequency, recency * scale, T * scale, np.ones_like(T))
    direct = likelihood.optimum(data, np.full(4, 0.1), 0.0, 1e-8)
    calls: list[int] = []
    evaluate = likelihood.negative_log_likelihood

    def counted(point, histories, penalizer):
        calls.append(histories.rows[0].size)
        return evaluate(point, histories, penalizer)

    monkeypatch.setattr(likelihood, "negative_log_likelihood", counted)
    monkeypatch.setattr(likelihood, "SUBSAMPLE_ROWS", 500)
    warmed = likelihood.optimum(data, np.full(4, 0.1), 0.0, 1e-8, seed=7)
    assert any(size < T.size for size in calls), "the warm-up ran on a subsample"
    np.testing.assert_allclose(np.exp(warmed), np.exp(direct), rtol=1e-6)
    # where lifetimes' own BFGS, started at the point, stops at once: its gradient is within its tolerance
    _, gradient = value_and_grad(_lifetimes_objective, 1)(
        model, warmed, frequency, recency * scale, T * scale, np.ones_like(T), 0.0
    )
    assert np.abs(gradient).max() <= 1e-7


@pytest.mark.parametrize("model", sorted(FITTERS))
def test_hessian_equals_autograd(model):
    frequency, recency, T = simulated(1500, seed=5)
    scale = 1 / T.max()
    weights = np.ones_like(T)
    data = likelihood.histories(model, frequency, recency * scale, T * scale, weights)
    point = likelihood.optimum(data, np.full(4, 0.1), 0.01, 1e-8)
    expected = hessian(_lifetimes_objective, 1)(model, point, frequency, recency * scale, T * scale, weights, 0.01)
    np.testing.assert_allclose(likelihood.hessian(point, data, 0.01), expected, rtol=1e-4, atol=1e-6)


def test_failed_minimisation_is_none():
    frequency, recency, T = simulated(500, seed=6)
    data = likelihood.histories("bgnbd", frequency, recency / T.max(), T / T.max(), np.ones_like(T))
    # a start where the objective is not finite: BFGS cannot move
    assert likelihood.optimum(data, np.array([800.0, 0.0, 0.0, 0.0]), 0.0, 1e-8) is None


def test_unknown_model_is_named():
    with pytest.raises(ValueError, match="pareto_nbd"):
        likelihood.histories("pareto_nbd", [1.0], [1.0], [2.0], [1.0])
