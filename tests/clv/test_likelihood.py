"""The analytic BG/NBD, MBG/NBD and Pareto/NBD objectives against lifetimes' own values and derivatives."""

from __future__ import annotations

import lifetimes
import numpy as np
import pytest
from lifetimes.fitters import hessian, value_and_grad  # autograd, as lifetimes uses it
from scipy.integrate import quad
from scipy.special import betaln

from cxdata.clv import likelihood, likelihood_pareto

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


def pareto_simulated(n: int, seed: int, r=0.8, alpha=20.0, s=0.7, beta=60.0, heavy=0.05) -> tuple[np.ndarray, ...]:
    """Daily Pareto/NBD histories: Gamma(r, alpha) rates, a share ``heavy`` 30x faster; Gamma(s, beta) dropout."""
    rng = np.random.default_rng(seed)
    T = rng.integers(0, 500, n).astype(float)
    rate = rng.gamma(r, 1 / alpha, n)
    rate[rng.random(n) < heavy] *= 30
    alive_for = np.minimum(rng.exponential(1 / rng.gamma(s, 1 / beta, n)), T)
    frequency = rng.poisson(rate * alive_for).astype(float)
    # given their number, the purchase times are uniform on the lifetime: the last is lifetime * Beta(x, 1)
    last = np.where(frequency > 0, alive_for * rng.beta(np.maximum(frequency, 1), 1), 0.0)
    return frequency, np.floor(last), T


def _pareto_lifetimes(log_params, frequency, recency, T, weights, penalizer) -> float:
    with np.errstate(all="ignore"):
        return float(
            lifetimes.ParetoNBDFitter._negative_log_likelihood(
                np.exp(log_params), frequency.astype(int), recency, T, weights, penalizer
            )
        )


def _richardson_gradient(f, point: np.ndarray, step: float = 0.02) -> np.ndarray:
    """Central differences at step, step/2, step/4, extrapolated twice: error O(step^6) plus rounding."""
    gradient = []
    for axis in np.eye(point.size):
        d = [(f(point + h * axis) - f(point - h * axis)) / (2 * h) for h in (step, step / 2, step / 4)]
        once = [(4 * d[1] - d[0]) / 3, (4 * d[2] - d[1]) / 3]
        gradient.append((16 * once[1] - once[0]) / 15)
    return np.array(gradient)


def _pareto_points(count: int, seed: int) -> np.ndarray:
    """Random log-parameters, half with alpha < beta and half with alpha > beta, ratios up to e^4."""
    rng = np.random.default_rng(seed)
    points = rng.normal(0.0, 1.2, (count, 4))
    gap = np.abs(points[:, 1] - points[:, 3]) + 0.05
    points[:, 3] = points[:, 1] + np.where(np.arange(count) % 2 == 0, gap, -gap)
    return points


@pytest.mark.parametrize("penalizer", [0.0, 0.1])
def test_pareto_value_and_gradient_equal_lifetimes(penalizer):
    frequency, recency, T = pareto_simulated(2500, seed=1)
    assert frequency.max() > 500  # heavy buyers, where lifetimes' 2F1 grows fastest
    scale = 1 / T.max()
    weights = np.random.default_rng(2).integers(1, 5, T.size).astype(float)
    rows = (frequency, recency * scale, T * scale, weights)
    data = likelihood_pareto.histories(*rows)
    checked = {"alpha < beta": 0, "alpha > beta": 0}
    for point in _pareto_points(80, seed=3):
        expected = _pareto_lifetimes(point, *rows, penalizer)
        if not np.isfinite(expected):
            continue  # lifetimes overflowed: see test_pareto_is_finite_where_lifetimes_is_not
        checked["alpha < beta" if point[1] < point[3] else "alpha > beta"] += 1
        value, gradient = likelihood_pareto.negative_log_likelihood(point, data, penalizer)
        assert value == pytest.approx(expected, rel=1e-10)
        reference = _richardson_gradient(lambda p: _pareto_lifetimes(p, *rows, penalizer), point)
        # relative to the gradient's largest component: a component near 0 carries the others' rounding
        assert np.abs(gradient - reference).max() <= 1e-10 * np.abs(reference).max(), (point, gradient, reference)
    assert min(checked.values()) >= 10, checked


def test_pareto_is_finite_where_lifetimes_is_not():
    frequency, recency, T = pareto_simulated(2500, seed=1)
    scale = 1 / T.max()
    rows = (frequency, recency * scale, T * scale, np.ones_like(T))
    data = likelihood_pareto.histories(*rows)
    nan_points = [p for p in _pareto_points(40, seed=3) if not np.isfinite(_pareto_lifetimes(p, *rows, 0.0))]
    assert nan_points, "lifetimes overflows somewhere on these heavy buyers"
    for point in nan_points:
        value, gradient = likelihood_pareto.negative_log_likelihood(point, data, 0.0)
        assert np.isfinite(value) and np.isfinite(gradient).all()
    # there, each G(t) = integral from t to infinity of (alpha + u)^-(r+x) (beta + u)^-(s+1) du equals quadrature
    r, alpha, s, beta = np.exp(nan_points[0])
    heavy = np.argsort(data.pair_x)[-5:]
    x, t = data.pair_x[heavy], data.pair_t[heavy]
    log_g, _ = likelihood_pareto.log_g(r, alpha, s, beta, x, t)
    for xi, ti, value in zip(x, t, log_g, strict=True):
        # relative to the integrand at t, which is the largest: no underflow for heavy buyers
        def relative(u, xi=xi, ti=ti):
            return np.exp(
                -(r + xi) * np.log1p((u - ti) / (alpha + ti)) - (s + 1) * np.log1p((u - ti) / (beta + ti))
            )

        integral, _ = quad(relative, ti, np.inf, epsabs=0, epsrel=1e-13, limit=200)
        at_t = -(r + xi) * np.log(alpha + ti) - (s + 1) * np.log(beta + ti)
        assert value == pytest.approx(at_t + np.log(integral), rel=1e-11)


def test_log_h_at_the_edges():
    # 2F1(1, e; c + 1; z) = integral of t^(e-1) (1-t)^(c-e) / (1 - z t) over (0, 1) / B(e, c + 1 - e),
    # integrated by QUADPACK with the algebraic end-point weights; z up to 0.9999 and e up to 300
    cases = [(0.05, 1.2, 0.3), (1.6, 1.65, 0.99), (0.6, 0.62, 0.9999), (300.5, 301.1, 0.999), (2.0, 30.0, 0.5)]
    e, c, z = (np.array(v) for v in zip(*cases, strict=True))
    value, d_e, d_c, d_z = likelihood_pareto.log_h(e, c, z)
    for i, (ei, ci, zi) in enumerate(cases):
        integral, _ = quad(
            lambda t, zi=zi: 1 / (1 - zi * t), 0, 1, weight="alg", wvar=(ei - 1, ci - ei), epsrel=1e-13
        )
        expected = np.log(integral) - betaln(ei, ci + 1 - ei)
        assert value[i] == pytest.approx(expected, rel=1e-11, abs=1e-13), cases[i]
        # the derivatives against central differences of the value itself
        for derivative, axis in ((d_e, 0), (d_c, 1), (d_z, 2)):
            h = 1e-6 * (1 - zi if axis == 2 else 1)
            up, down = (np.array(cases[i], dtype=float) for _ in range(2))
            up[axis] += h
            down[axis] -= h
            numeric = (likelihood_pareto.log_h(*up[:, None])[0] - likelihood_pareto.log_h(*down[:, None])[0]) / (
                2 * h
            )
            assert derivative[i] == pytest.approx(numeric[0], rel=1e-6, abs=1e-9), (cases[i], axis)
    assert np.all(value > 0)  # H > 1 for z > 0
