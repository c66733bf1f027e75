"""The survivor correction of a self-controlled comparison whose contact shows the customer alive.

A click on a search or affiliate ad, which reaches only customers who still buy,
comes from someone who has not dropped out (an email click does not show that:
mail reaches subscribers who stopped buying too). Customers drop out at a
purchase (MBG/NBD: after each order, the first one included, with probability
p), so around a moment at which a customer is known to be alive

- each order in the window *before* it was one the customer survived: that
  window's count is Poisson(lambda (1 - p) L), not Poisson(lambda L);
- the window *after* the response window is thinned too: the customer may drop
  out at an order in between, so the rate decays like exp(-lambda p u);
- the response window itself, right after the contact, is hardly thinned.

Compared with the windows around it, the response window of a contact that does
nothing therefore shows extra orders: about lambda p per day of the window.
Measured on the generator's truth (30,000 customers, dev seed 11), organic
orders came 6% (brand search), 3% (generic) and 10% (affiliate) faster in the
response window than around it, which made most of brand search's credit.

The correction uses the MBG/NBD population fitted on all orders up to as_of (BG/NBD,
which cannot drop a customer right after the first order, explains one-order
customers with very slow buyers instead, and then under-corrects): per
contact, the posterior means of p (Beta(a, b + n + 1) after surviving the first
order and the n repeat orders before the contact) and lambda (Gamma(r + n,
alpha + age)) give the thinning of each window, and the customer's own rate is
estimated from the windows with their thinning divided out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from cxdata.clv.btyd import fit_first


@dataclass(frozen=True)
class Survival:
    """MBG/NBD population parameters: purchase rate Gamma(r, alpha) per day, dropout Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


def fit_survival(rfm: pl.DataFrame) -> Survival | None:
    """The MBG/NBD population of customers' (frequency, recency, T) rows (one per customer, days), None when
    it cannot be fitted (then nothing is corrected)."""
    if rfm.height == 0:
        return None
    model = fit_first("mbgnbd", rfm, [0.001])
    if model is None:
        return None
    params = model.params_
    return Survival(r=params["r"], alpha=params["alpha"], a=params["a"], b=params["b"])


def expected_response(
    survival: Survival,
    orders_around: np.ndarray,
    before: np.ndarray,
    after_start: float | np.ndarray,
    after: np.ndarray,
    repeats: np.ndarray,
    age: np.ndarray,
    gap: np.ndarray,
    response: float | np.ndarray,
) -> np.ndarray:
    """Orders expected in ``(t + gap, t + response]`` without the contact, for customers alive at ``t``.

    ``orders_around`` were counted in the ``before`` days up to ``t`` and the ``after`` days from
    ``t + after_start``; ``repeats`` are the customer's repeat orders before ``t`` and ``age`` the days since
    their first order.
    """
    p = survival.a / (survival.a + survival.b + repeats + 1)
    decay = np.maximum((survival.r + repeats) / (survival.alpha + np.maximum(age, 0.0)) * p, 1e-12)
    # mean survival over [start, start + length] of a customer alive at t: exp(-decay u) averaged
    kept_after = np.where(after > 0, _mean_survival(decay, after_start, after), 1.0)
    rate = orders_around / np.maximum(before * (1 - p) + after * kept_after, 1e-12)
    return rate * (response - gap) * _mean_survival(decay, gap, response - gap)


def _mean_survival(decay: np.ndarray, start: float | np.ndarray, length: float | np.ndarray) -> np.ndarray:
    length = np.maximum(length, 1e-12)
    return (np.exp(-decay * start) - np.exp(-decay * (start + length))) / (decay * length)
