"""Counts and revenue of each customer's orders in any time window, for the self-controlled estimators."""

from __future__ import annotations

import numpy as np
import polars as pl

DAY_US = 86_400_000_000


class OrderIndex:
    """Counts and revenue of a customer's orders in any time interval, by binary search on one sorted array.

    Keys are ``customer * width + day`` with ``width`` wider than the whole time span plus any window, so one
    customer's intervals never reach another's orders.
    """

    def __init__(self, orders: pl.DataFrame, customers: pl.Series, origin, span_days: float) -> None:
        self.origin = origin
        self.width = span_days + 1.0
        frame = orders.join(
            pl.DataFrame({"customer_key": customers, "idx": np.arange(customers.len())}),
            on="customer_key",
            maintain_order="left",
        )
        idx = frame["idx"].to_numpy()
        keys = idx * self.width + self.days(frame["ordered_at"])
        # rows of ``orders`` (those of the customers given) by customer and time: what a per-order pass needs
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]
        self.idx = idx[self.order]
        self.cum_revenue = np.r_[0.0, np.cumsum(frame["amount"].to_numpy()[self.order])]

    def days(self, stamps: pl.Series) -> np.ndarray:
        """Days since the index's origin."""
        return (stamps - self.origin).dt.total_microseconds().to_numpy() / DAY_US

    def window(self, idx: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Orders and revenue in ``(start, end]`` (days) of customers ``idx``."""
        lo = np.searchsorted(self.keys, idx * self.width + start, side="right")
        hi = np.searchsorted(self.keys, idx * self.width + end, side="right")
        return (hi - lo).astype(np.float64), self.cum_revenue[hi] - self.cum_revenue[lo]
