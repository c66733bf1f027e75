"""The Pareto/NBD negative log-likelihood with its analytic gradient, in log space, vectorised in numpy.

The value is lifetimes' ``ParetoNBDFitter._negative_log_likelihood`` term for
term: minus the weighted log-likelihood of the (frequency, recency, T) rows
divided by the weight *mean*, plus ``penalizer * sum(params ** 2)`` on the
parameters themselves; the gradient is taken in log-parameter space, where
`cxdata.clv.btyd` minimises it with BFGS. No lifetimes import.

A row's likelihood (Fader & Hardie, "A Note on Deriving the Pareto/NBD Model
and Related Expressions", eq. 18) is ``exp(A1) * (S + s * (G(t_x) - G(T)))``
with ``A1 = lgamma(r + x) - lgamma(r) + r log(alpha) + s log(beta)``, ``S =
(alpha + T)^-(r+x) (beta + T)^-s`` and ``G(t)`` the integral from t to infinity
of ``(alpha + u)^-(r+x) (beta + u)^-(s+1) du``. lifetimes writes ``G`` as
``2F1(r+s+x, b; r+s+x+1; z) / (r+s+x) / (max(alpha, beta) + t)^(r+s+x)`` with
``z = |alpha - beta| / (max + t)`` and ``b`` = ``s + 1`` (alpha >= beta) or
``r + x``; that 2F1 grows like ``(1 - z)^(1 - b)`` and overflows for heavy
buyers, which is where lifetimes' objective turns NaN. Euler's transformation
takes the growth out in closed form::

    log G(t) = -(r+x) log(alpha+t) - (s+1) log(beta+t) + log(min+t) - log(r+s+x) + log H
    H = 2F1(1, e; r+s+x+1; z),  e = r + x (alpha >= beta) or s + 1 (alpha < beta)

``H`` lies between 1 and ``1 / (1 - z)`` and is evaluated with Gauss's
continued fraction for 2F1(a, 1; c; z) (the incomplete-beta fraction of
Numerical Recipes' ``betacf``), whose partial numerators are rational in
(e, r+s+x, z): its partial derivatives, which have no closed form in terms of
2F1, follow exactly by differentiating each level of the fraction. The depth is
found per evaluation point by running the forward recurrence until the value
stops changing in double precision; the fraction is then evaluated backwards
from 1.25 times that depth, which is stable. Its depth grows like
``(1 - z)^-1/2``: near z = 1 (``min + t`` tiny beside ``max + t``) it is long
but still exact; beyond `MAX_DEPTH` levels the objective is reported infinite.

``log(G(t_x) - G(T))`` and the mixture with ``S`` are taken with log1p and
logaddexp, so no term overflows. Terms of the frequency alone are evaluated
once per distinct frequency, G once per distinct (frequency, t) pair.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.special import digamma, gammaln

from cxdata.clv import likelihood

MAX_DEPTH = 200_000  # continued-fraction levels; reached only for min + t below ~1e-9 of max + t


@dataclass(frozen=True)
class Histories:
    """The rows of one Pareto/NBD fit, arranged for fast evaluation; build with `histories`."""

    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # frequency, recency, T, weights as given
    n_rows: int  # lifetimes divides by the weight mean: the objective is n_rows times the per-customer mean
    x: np.ndarray  # distinct frequencies and their share of the weight
    x_share: np.ndarray
    pair_x: np.ndarray  # points where G is evaluated: (frequency, t) for t = recency, then for t = T
    pair_t: np.ndarray
    n_recency_pairs: int
    i1: np.ndarray  # per row: index of its (x, recency) and of its (x, T) pair
    i2: np.ndarray
    share: np.ndarray  # per row: weight share


def histories(frequency, recency, T, weights) -> Histories:
    """Arrange rows for `negative_log_likelihood` (recency and T in the optimiser's time units)."""
    rows = tuple(np.asarray(v, dtype=float) for v in (frequency, recency, T, weights))
    frequency, recency, T, weights = rows
    share = weights / weights.sum()
    x, ix = np.unique(frequency, return_inverse=True)
    recency_pairs, i1 = np.unique(np.column_stack([frequency, recency]), axis=0, return_inverse=True)
    age_pairs, i2 = np.unique(np.column_stack([frequency, T]), axis=0, return_inverse=True)
    pairs = np.vstack([recency_pairs, age_pairs])
    return Histories(
        rows,
        frequency.size,
        x,
        np.bincount(ix, weights=share, minlength=x.size),
        pairs[:, 0].copy(),
        pairs[:, 1].copy(),
        len(recency_pairs),
        i1.ravel(),
        i2.ravel() + len(recency_pairs),
        share,
    )


def _level(k: int, e: np.ndarray, c: np.ndarray, z: np.ndarray):
    """Partial numerator k of the fraction and its derivatives in e, c and z."""
    m = k // 2
    if k % 2:
        num = -(c + m) * (e + m)
        den = (c + 2 * m) * (c + 2 * m + 1)
        num_e, num_c, den_c = -(c + m), -(e + m), 2 * c + 4 * m + 1
    else:
        num = m * (e - c - m)
        den = (c + 2 * m - 1) * (c + 2 * m)
        num_e, num_c, den_c = m, -m, 2 * c + 4 * m - 1
    ratio = num / den
    return ratio * z, num_e / den * z, (num_c - ratio * den_c) / den * z, ratio


def _depths(e: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Levels after which each fraction's forward value no longer changes (MAX_DEPTH + 1: never)."""
    n = e.size
    depth = np.full(n, MAX_DEPTH + 1)
    a_prev, a, b_prev = np.zeros(n), np.ones(n), np.ones(n)  # convergents A/B, rescaled to B = 1
    value = np.ones(n)
    active = np.arange(n)
    for k in range(1, MAX_DEPTH + 1):
        d = _level(k, e[active], c[active], z[active])[0]
        b = 1.0 + d * b_prev
        a_prev, a, b_prev = a / b, (a + d * a_prev) / b, 1.0 / b
        done = np.abs(a - value) <= 1e-16 * np.abs(a)
        value = a
        if done.any():
            depth[active[done]] = k
            keep = ~done
            active, a_prev, a, b_prev, value = active[keep], a_prev[keep], a[keep], b_prev[keep], value[keep]
            if not active.size:
                break
    return depth


def log_h(e: np.ndarray, c: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """log 2F1(1, e; c + 1; z) for 0 <= z < 1 and its derivatives in e, c and z; NaN where it did not converge."""
    depth = _depths(e, c, z)
    order = np.argsort(-depth, kind="stable")
    levels = np.minimum((depth[order] * 1.25).astype(int) + 8, MAX_DEPTH)
    es, cs, zs = e[order], c[order], z[order]
    tail = np.zeros(e.size)  # the fraction below level k: d_k / (1 + d_k+1 / (1 + ...))
    grad = np.zeros((3, e.size))
    descending = -levels
    for k in range(int(levels[0]) if e.size else 0, 0, -1):
        m = int(np.searchsorted(descending, -k, side="right"))  # rows whose evaluation starts at or above k
        d, d_e, d_c, d_z = _level(k, es[:m], cs[:m], zs[:m])
        below = 1.0 + tail[:m]
        tail[:m] = d / below
        grad[:, :m] = (np.stack([d_e, d_c, d_z]) - tail[:m] * grad[:, :m]) / below
    value = -np.log1p(tail)
    grad = -grad / (1.0 + tail)
    bad = depth[order] > MAX_DEPTH
    value[bad] = np.nan
    out = np.empty((4, e.size))
    out[:, order] = np.vstack([value, grad])
    return out[0], out[1], out[2], out[3]


def log_g(r: float, alpha: float, s: float, beta: float, x: np.ndarray, t: np.ndarray):
    """log G(t) at (x, t) pairs and its derivatives in (r, alpha, s, beta), see the module docstring."""
    low, high = min(alpha, beta), max(alpha, beta)
    rsf = r + s + x
    swap = alpha < beta  # lifetimes' branch: the 2F1's b is r + x, here e = s + 1
    e = np.full(x.shape, s + 1.0) if swap else r + x
    z = (high - low) / (high + t)
    h, h_e, h_c, h_z = log_h(e, rsf, z)
    la, lb = np.log(alpha + t), np.log(beta + t)
    value = -(r + x) * la - (s + 1) * lb + np.log(low + t) - np.log(rsf) + h
    # z's derivatives (the two branches agree at alpha == beta, where G is smooth)
    if swap:
        z_alpha, z_beta = -1.0 / (beta + t), (alpha + t) / (beta + t) ** 2
    else:
        z_alpha, z_beta = (beta + t) / (alpha + t) ** 2, -1.0 / (alpha + t)
    d_r = -la - 1.0 / rsf + h_c + (0.0 if swap else h_e)
    d_s = -lb - 1.0 / rsf + h_c + (h_e if swap else 0.0)
    d_alpha = -(r + x) / (alpha + t) + (1.0 / (alpha + t) if swap else 0.0) + h_z * z_alpha
    d_beta = -(s + 1) / (beta + t) + (0.0 if swap else 1.0 / (beta + t)) + h_z * z_beta
    return value, np.vstack([d_r, d_alpha, d_s, d_beta])


def negative_log_likelihood(log_params: np.ndarray, data: Histories, penalizer: float) -> tuple[float, np.ndarray]:
    """lifetimes' Pareto/NBD objective at ``exp(log_params)`` (r, alpha, s, beta) and its gradient in log space."""
    params = np.exp(np.asarray(log_params, dtype=float))
    r, alpha, s, beta = params
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lg, dlg = log_g(r, alpha, s, beta, data.pair_x, data.pair_t)
        if not np.isfinite(lg).all():
            return np.inf, np.zeros(4)
        n1 = data.n_recency_pairs
        ax, at = data.pair_x[n1:], data.pair_t[n1:]
        ls = -(r + ax) * np.log(alpha + at) - s * np.log(beta + at)  # log S on the (x, T) pairs
        dls = np.vstack([-np.log(alpha + at), -(r + ax) / (alpha + at), -np.log(beta + at), -s / (beta + at)])
        g1, g2, ls_row = lg[data.i1], lg[data.i2], ls[data.i2 - n1]
        log_a0 = g1 + np.log1p(-np.exp(g2 - g1))  # log(G(t_x) - G(T)); -inf when t_x == T
        mixed = np.logaddexp(ls_row, np.log(s) + log_a0)
        w_s = np.exp(ls_row - mixed)  # the shares of S and of s G(t_x), s G(T) in the mixture
        w_1 = np.exp(np.log(s) + g1 - mixed)
        w_2 = np.exp(np.log(s) + g2 - mixed)
        w_a = np.exp(np.log(s) + log_a0 - mixed)
    x, xs, share = data.x, data.x_share, data.share
    mean_ll = (
        float(xs @ (gammaln(r + x) - gammaln(r))) + r * np.log(alpha) + s * np.log(beta) + float(share @ mixed)
    )
    pairs = dlg.shape[1]
    on_pairs = np.bincount(data.i1, weights=share * w_1, minlength=pairs) - np.bincount(
        data.i2, weights=share * w_2, minlength=pairs
    )
    on_s = np.bincount(data.i2 - n1, weights=share * w_s, minlength=ls.size)
    gradient = dlg @ on_pairs + dls @ on_s
    gradient += np.array(
        [
            float(xs @ digamma(r + x)) - digamma(r) + np.log(alpha),
            r / alpha,
            np.log(beta) + float(share @ w_a) / s,
            s / beta,
        ]
    )
    value = -data.n_rows * mean_ll + penalizer * float(params @ params)
    # d/d log(theta) = theta * d/d theta
    return value, -data.n_rows * params * gradient + 2.0 * penalizer * params**2


def _scaled(log_params: np.ndarray, data: Histories, penalizer: float) -> tuple[float, np.ndarray]:
    # per customer, as BG/NBD's objective is: the same minimum, and gradient tolerances that mean the same
    value, gradient = negative_log_likelihood(log_params, data, penalizer)
    return value / data.n_rows, gradient / data.n_rows


def _subsample(data: Histories, rows: int, seed: int) -> Histories:
    frequency = data.rows[0]
    keep = np.random.default_rng(seed).random(frequency.size) < rows / frequency.size
    # the full data's row count keeps the penalty's weight against the mean log-likelihood, so the minimum
    return replace(histories(*(v[keep] for v in data.rows)), n_rows=data.n_rows)


def optimum(
    data: Histories, start, penalizer: float, gtol: float, seed: int = 0, budget: likelihood.Budget | None = None
) -> np.ndarray | None:
    """BFGS' minimum in log space from ``start`` (log params) to ``gtol`` per row; None when BFGS fails.

    The objective is lifetimes' divided by the row count (its minimum is the
    same); many rows are first fitted on a seeded subsample, as in
    `cxdata.clv.likelihood.optimum`. Raises `likelihood.BudgetExceeded` when
    ``budget`` runs out.
    """
    return likelihood.warm_started_minimum(
        _scaled, _subsample, data, data.n_rows, start, penalizer, gtol, seed, budget
    )
