"""Conditional expected purchases and P(alive) of BG/NBD and Pareto/NBD where lifetimes' formulas return NaN.

BG/NBD: lifetimes computes E[Y(t) | x, t_x, T] (Fader, Hardie and Lee 2005, eq. 10) through the logarithm of
2F1(r + x, b + x; a + b + x - 1; z), z = t / (alpha + T + t). When a + b < 1 (fits with a penalizer do
this on real data, e.g. full CDNOW) the third parameter is negative for customers without a repeat
purchase and the 2F1 is negative: its logarithm is NaN although the expectation is finite. Here the
product ((alpha + T) / (alpha + T + t))^(r + x) 2F1(...) is taken by Euler's transformation as
(1 - z)^(a - 1) 2F1(a + b - 1 - r, a - 1; a + b + x - 1; z), without a logarithm: the same value,
whose upper parameters no longer grow with x, so it neither overflows for heavy buyers.

Pareto/NBD: lifetimes' P(alive) multiplies (alpha + T)^(r + x) (beta + T)^s by its A0, which overflow and
underflow in turn for heavy buyers (NaN on large projects). Here it is the share of the "alive at T" term in
the row's likelihood, exp(log S - logaddexp(log S, log s + log(G(t_x) - G(T)))), with the log-space G of
`cxdata.clv.likelihood_pareto`; the expectation is Fader and Hardie's (2005 note, eq. 41)
(r + x)(beta + T) / ((alpha + T)(s - 1)) (1 - ((beta + T) / (beta + T + t))^(s - 1)) P(alive).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import hyp2f1

from cxdata.clv.likelihood_pareto import log_g


def bgnbd_expected_purchases(params: Mapping[str, float], t, frequency, recency, T) -> np.ndarray:
    """Expected purchases in the next ``t`` periods under BG/NBD ``params`` (r, alpha, a, b), per history."""
    r, alpha, a, b = (float(params[k]) for k in ("r", "alpha", "a", "b"))
    x, tx, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    t = np.asarray(t, dtype=float)
    z = t / (alpha + T + t)
    with np.errstate(all="ignore"):
        tail = (1.0 - z) ** (a - 1.0) * hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
        numerator = (a + b + x - 1.0) / (a - 1.0) * (1.0 - tail)
        alive_odds = np.where(x > 0, a / (b + x - 1.0) * ((alpha + T) / (alpha + tx)) ** (r + x), 0.0)
    return numerator / (1.0 + alive_odds)


def pareto_p_alive(params: Mapping[str, float], frequency, recency, T) -> np.ndarray:
    """P(alive at T) under Pareto/NBD ``params`` (r, alpha, s, beta), per history."""
    r, alpha, s, beta = (float(params[k]) for k in ("r", "alpha", "s", "beta"))
    x, tx, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (frequency, recency, T)))
    with np.errstate(all="ignore"):
        g_recency, _ = log_g(r, alpha, s, beta, x.ravel(), tx.ravel())
        g_age, _ = log_g(r, alpha, s, beta, x.ravel(), T.ravel())
        log_a0 = g_recency + np.log1p(-np.exp(g_age - g_recency))  # -inf when t_x == T: alive for sure
        log_s = -(r + x.ravel()) * np.log(alpha + T.ravel()) - s * np.log(beta + T.ravel())
        alive = np.exp(log_s - np.logaddexp(log_s, np.log(s) + log_a0))
    return alive.reshape(x.shape)


def pareto_expected_purchases(params: Mapping[str, float], t, frequency, recency, T) -> np.ndarray:
    """Expected purchases in the next ``t`` periods under Pareto/NBD ``params`` (r, alpha, s, beta)."""
    r, alpha, s, beta = (float(params[k]) for k in ("r", "alpha", "s", "beta"))
    x, T = np.asarray(frequency, dtype=float), np.asarray(T, dtype=float)
    log_q = np.log(beta + T) - np.log(beta + T + np.asarray(t, dtype=float))
    k = s - 1.0
    # (1 - q^(s-1)) / (s - 1), whose limit at s = 1 is -log q
    horizon = -np.expm1(k * log_q) / k if abs(k) > 1e-12 else -log_q
    return (r + x) * (beta + T) / (alpha + T) * horizon * pareto_p_alive(params, frequency, recency, T)
