"""What one shard of customers gives the global value fit: counts of histories, not customers.

A `Partial` holds a shard's customers and kept orders up to as_of, the first and last order, the amounts'
sum, the distinct (frequency, recency, T) rows with the number of customers having each (what the BTYD fit
reads, `cxdata.clv.btyd.unique_rows`), the distinct (frequency, monetary_value) rows of repeat buyers with
theirs (what Gamma-Gamma reads) and the touch channels seen. `combine` sums partials into the one of all
customers; it sorts what it sums, so the sum of any split into shards is the same to the last bit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from cxdata.clv.btyd import unique_rows

HISTORY = ("frequency", "recency", "T")
SPEND = ("frequency", "monetary_value")


@dataclass(frozen=True)
class Partial:
    """A shard's share of the global fit (see the module doc)."""

    customers: int
    orders: int
    first: dt.datetime | None
    last: dt.datetime | None
    amounts: pl.DataFrame  # the kept order amounts' distinct values with their count
    histories: pl.DataFrame  # frequency, recency, T, weight
    spend: pl.DataFrame  # frequency, monetary_value, weight of the repeat buyers
    channels: tuple[str, ...]

    @property
    def mean_amount(self) -> float | None:
        """The mean kept order amount (None without orders)."""
        if not self.orders:
            return None
        return float((self.amounts["amount"] * self.amounts["weight"]).sum() / self.amounts["weight"].sum())


def partial(orders: pl.LazyFrame, rfm: pl.DataFrame, channels: list[str]) -> Partial:
    """The `Partial` of a shard: its purchases up to as_of, their RFM summary and its touch channels."""
    stats = orders.select(
        pl.col("ordered_at").min().alias("first"), pl.col("ordered_at").max().alias("last"), pl.len().alias("n")
    ).collect()
    repeat = rfm.filter((pl.col("frequency") > 0) & (pl.col("monetary_value") > 0))
    return Partial(
        customers=rfm.height,
        orders=int(stats["n"][0]),
        first=stats["first"][0],
        last=stats["last"][0],
        amounts=unique_rows(orders.select("amount").drop_nulls().collect(), ("amount",)),
        histories=unique_rows(rfm, HISTORY),
        spend=unique_rows(repeat, SPEND),
        channels=tuple(sorted(channels)),
    )


def combine(parts: list[Partial]) -> Partial:
    """The `Partial` of all the customers of ``parts`` (shards holding each customer once)."""
    firsts = [p.first for p in parts if p.first is not None]
    lasts = [p.last for p in parts if p.last is not None]

    def summed(frames: list[pl.DataFrame], columns: tuple[str, ...]) -> pl.DataFrame:
        return unique_rows(pl.concat(frames), columns)

    return Partial(
        customers=sum(p.customers for p in parts),
        orders=sum(p.orders for p in parts),
        first=min(firsts) if firsts else None,
        last=max(lasts) if lasts else None,
        amounts=summed([p.amounts for p in parts], ("amount",)),
        histories=summed([p.histories for p in parts], HISTORY),
        spend=summed([p.spend for p in parts], SPEND),
        channels=tuple(sorted({c for p in parts for c in p.channels})),
    )
