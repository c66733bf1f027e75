"""Counts and revenue of each customer's orders in any time window, for the self-controlled estimators."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

DAY_US = 86_400_000_000
# Keys count time in milliseconds: a key is an exact integer whatever the customer's index, and the widest
# index (customers x span) stays far inside int64
TICK_US = 1_000
TICKS_PER_DAY = DAY_US // TICK_US
# one tick: "strictly before" a moment is "at most a tick before" it
TICK_DAYS = 1.0 / TICKS_PER_DAY
_MAX_KEY = 2**62


class OrderIndex:
    """Counts and revenue of a customer's orders in any time interval, by binary search on one sorted array.

    Keys are exact integers ``customer * width + tick`` (ticks of a millisecond since ``origin``) with ``width``
    wider than the whole time span plus any window, so one customer's intervals never reach another's orders.
    A float key would lose the sub-second part at large customer indexes: a window's bounds would then mean
    another thing for a customer late in the index, and a customer's counts would depend on how many customers
    share the index (the shard it is scored in).
    """

    def __init__(self, orders: pl.DataFrame, customers: pl.Series, origin, span_days: float) -> None:
        self.origin = origin
        self.width = math.ceil((span_days + 1.0) * TICKS_PER_DAY)
        check_key_room(customers.len(), self.width)
        frame = orders.join(
            pl.DataFrame({"customer_key": customers, "idx": np.arange(customers.len())}),
            on="customer_key",
            maintain_order="left",
        )
        idx = frame["idx"].to_numpy().astype(np.int64)
        keys = idx * self.width + self.ticks(self.days(frame["ordered_at"]))
        # rows of ``orders`` (those of the customers given) by customer and time: what a per-order pass needs
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]
        self.idx = idx[self.order]
        self.cum_revenue = np.r_[0.0, np.cumsum(frame["amount"].to_numpy()[self.order])]

    def days(self, stamps: pl.Series) -> np.ndarray:
        """Days since the index's origin."""
        return (stamps - self.origin).dt.total_microseconds().to_numpy() / DAY_US

    @staticmethod
    def ticks(days: np.ndarray | float) -> np.ndarray:
        """``days`` as whole ticks (rounded to the nearest millisecond)."""
        return np.round(np.asarray(days, dtype=np.float64) * TICKS_PER_DAY).astype(np.int64)

    def key(self, idx: np.ndarray, days: np.ndarray | float) -> np.ndarray:
        """The keys of customers ``idx`` at ``days`` since the origin."""
        return np.asarray(idx, dtype=np.int64) * self.width + self.ticks(days)

    def day_of(self) -> np.ndarray:
        """Each order's day since the origin (in the index's order), from its key."""
        return (self.keys - self.idx * self.width) / TICKS_PER_DAY

    def window(self, idx: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Orders and revenue in ``(start, end]`` (days) of customers ``idx``."""
        lo = np.searchsorted(self.keys, self.key(idx, start), side="right")
        hi = np.searchsorted(self.keys, self.key(idx, end), side="right")
        return (hi - lo).astype(np.float64), self.cum_revenue[hi] - self.cum_revenue[lo]


def check_key_room(rows: int, width: int) -> None:
    """Refuse an index whose keys (``rows`` x ``width`` ticks) would not fit in 64 bits."""
    if rows * width >= _MAX_KEY:
        raise ValueError(
            f"{rows:,} customers over {width / TICKS_PER_DAY:,.0f} days are too many for one order index: "
            "score them in more shards (scale.shards)"
        )
