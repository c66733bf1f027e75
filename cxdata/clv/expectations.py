"""BG/NBD's conditional expected purchases, evaluated where lifetimes' formula returns NaN.

lifetimes computes E[Y(t) | x, t_x, T] (Fader, Hardie and Lee 2005, eq. 10) through the logarithm of
2F1(r + x, b + x; a + b + x - 1; z), z = t / (alpha + T + t). When a + b < 1 (fits with a penalizer do
this on real data, e.g. full CDNOW) the third parameter is negative for customers without a repeat
purchase and the 2F1 is negative: its logarithm is NaN although the expectation is finite. Here the
product ((alpha + T) / (alpha + T + t))^(r + x) 2F1(...) is taken by Euler's transformation as
(1 - z)^(a - 1) 2F1(a + b - 1 - r, a - 1; a + b + x - 1; z), without a logarithm: the same value,
whose upper parameters no longer grow with x, so it neither overflows for heavy buyers.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import hyp2f1


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
