"""Placebo contacts: the lift estimator run on moments that are not contacts, to measure its own bias and noise.

Every real contact gets ``sets`` placebo twins: the same customer and the same kind of contact (clicked or not,
the same delay to its click, a click contact keeps its session rule), at the contact's moment moved by a random
shift of ``min_shift`` to ``min_shift + span`` days either way. Near the contact the customer is in the same
state (recency, activity, known to be alive around then), but no contact happened at the twin's moment, so
whatever the estimator finds there is its own error: the mean over the sets is its bias on this project and
this touchpoint's contact pattern, their spread its noise. The shift is at least two response windows, so a
twin's windows do not reuse the response window of its contact; shifts go both ways, so the survivor
selection of a moment that shows the customer alive (an order is more likely after a contact than long before
it) does not lean one way.

At scale the twins are drawn for a random share of the customers (all their contacts), weighted up by the
inverse share, so the sets cost at most ``budget`` rows; the noise measured on the share is scaled back to all
customers by that share (customers are independent; a customer's contacts are kept together).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from cxdata.touchpoints.order_index import DAY_US
from cxdata.touchpoints.resample import key_hashes, mix, uniforms


@dataclass
class PlaceboDraw:
    """The twins (contact rows with shifted ``occurred_at``), which real contact each copies, its set, and the
    share of customers drawn (each twin weighs its inverse)."""

    contacts: pl.DataFrame
    source: np.ndarray  # row of the real contact each twin copies
    set_index: np.ndarray  # 0 .. sets - 1
    share: float


def placebo_share(contacts: int, sets: int, budget: int = 2_000_000) -> float:
    """The share of customers whose contacts get twins, so that ``sets`` twins of all ``contacts`` cost at
    most ``budget`` rows."""
    return min(1.0, budget / max(contacts * sets, 1))


def draw_placebos(
    contact: pl.DataFrame,
    *,
    latest,
    sets: int,
    min_shift: float,
    share: float = 1.0,
    span: float = 28.0,
    seed: int = 0,
) -> PlaceboDraw:
    """``sets`` twins of every contact of the customers drawn at ``share`` (module docstring); ``contact``
    needs customer_key, touchpoint, occurred_at and first_order; twins before the first order or after
    ``latest`` (the moment scored, when no real contact can be later) are left out.

    The draws are counter-based (`cxdata.touchpoints.resample`): a customer's pick and a contact's shifts
    depend on the customer, the contact and ``seed`` only, so a shard of the customers draws the twins it
    would draw among all of them.
    """
    n = contact.height
    rows = np.arange(n)
    if share < 1.0:
        picked = uniforms(key_hashes(contact["customer_key"], seed), 0) < share
        rows = rows[picked]
    # a contact's stream: its customer, touchpoint, moment and rank among identical contacts
    dup = contact.select(pl.int_range(pl.len()).over("customer_key", "touchpoint", "occurred_at")).to_series()
    base = mix(key_hashes(contact["customer_key"], seed) ^ key_hashes(contact["touchpoint"], seed))
    with np.errstate(over="ignore"):
        base = mix(base + contact["occurred_at"].dt.epoch("us").to_numpy().astype(np.uint64))
        base = mix(base + dup.to_numpy().astype(np.uint64))[rows]
    source = np.tile(rows, sets)
    set_index = np.repeat(np.arange(sets), rows.size)
    sign = np.concatenate([np.where(uniforms(base, 2 * s) < 0.5, -1.0, 1.0) for s in range(sets)])
    fraction = np.concatenate([uniforms(base, 2 * s + 1) for s in range(sets)])
    shift = sign * (min_shift + span * fraction)
    twins = (
        contact[source]
        .with_columns(
            pl.col("occurred_at") + pl.Series(np.round(shift * DAY_US).astype(np.int64)).cast(pl.Duration("us"))
        )
        .with_columns(pl.Series("_row", np.arange(source.size)))
        .filter((pl.col("occurred_at") > pl.col("first_order")) & (pl.col("occurred_at") <= latest))
    )
    keep = twins["_row"].to_numpy()
    return PlaceboDraw(
        contacts=twins.drop("_row"),
        source=source[keep],
        set_index=set_index[keep],
        share=share,
    )


def placebo_summary(estimates: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
    """Bias (mean over sets) and noise (standard deviation over sets, scaled from the sampled share of
    customers to all of them) per touchpoint, from a sets x touchpoints array of placebo estimates."""
    sets = estimates.shape[0]
    bias = estimates.mean(axis=0)
    spread = estimates.std(axis=0, ddof=1) if sets > 1 else np.zeros(estimates.shape[1])
    return bias, spread * np.sqrt(share)
