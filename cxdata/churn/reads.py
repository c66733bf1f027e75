"""What the value step reads from the facts: a shard's customers, or a sample of all customers, filtered in the
warehouse (`cxdata.shards`), each table in one order of its values.

A sample is the customers of `Shard` (0, m), the md5 buckets b with b % m == 0: it depends on the customer
keys alone, never on how many shards a run uses, so a fit on it is the same whether the scoring is sharded or
not. m is the smallest count that keeps about ``cap`` customers of ``n``; with m = 1 it is everyone.
"""

from __future__ import annotations

import datetime as dt
import math

import polars as pl

from cxdata.churn.features import ChurnInputs
from cxdata.clv.rfm import purchases
from cxdata.shards import BUCKETS, Shard
from cxdata.warehouse import Warehouse

ORDER_COLUMNS = ["customer_key", "ordered_at", "amount", "is_refund"]
READS = {
    "fct_orders": ORDER_COLUMNS,
    "fct_tickets": ["customer_key", "opened_at", "first_response_at", "resolved_at"],
    "fct_surveys": ["customer_key", "responded_at", "kind", "score", "nps_class"],
    "fct_web_sessions": ["customer_key", "started_at", "page_views", "converted"],
    "fct_touches": ["customer_key", "occurred_at", "channel", "kind"],
}


def _read(wh: Warehouse, name: str, columns: list[str], shard: Shard | None) -> pl.LazyFrame:
    # A table's rows come back in the order they were written, which an updated fact changes
    # (`cxdata.marts.incremental`); sums and ties in a customer's rows follow that order, so without one order
    # of the values a float's last digit, and through a tree's split a score, would depend on the update.
    everyone = shard is None or shard.count == 1  # no md5 per row for a filter that keeps them all
    frame = wh.read(name, columns=columns, shard=None if everyone else shard)
    return frame.sort(columns, nulls_last=True).lazy()


def read_purchases(wh: Warehouse, shard: Shard | None = None) -> pl.LazyFrame:
    """The purchases of fct_orders (`rfm.purchases`) of ``shard``'s customers (default all), in one order of
    their values: the order an update wrote the rows in must not reach a sum's last digit, nor a score."""
    return purchases(_read(wh, "fct_orders", ORDER_COLUMNS, shard))


def read_inputs(wh: Warehouse, shard: Shard | None = None) -> ChurnInputs:
    """The fact tables churn uses, of ``shard``'s customers (default all), only the needed columns, each in one
    order of its values; absent optional tables are None."""
    frames = {
        name: _read(wh, name, cols, shard) if wh.exists(name) else None
        for name, cols in READS.items()
        if name != "fct_orders"
    }
    orders = read_purchases(wh, shard).select("customer_key", "ordered_at", "amount")
    return ChurnInputs(
        orders=orders,
        tickets=frames["fct_tickets"],
        surveys=frames["fct_surveys"],
        sessions=frames["fct_web_sessions"],
        touches=frames["fct_touches"],
    )


def until(inputs: ChurnInputs, as_of: dt.datetime) -> ChurnInputs:
    """``inputs`` with the orders after ``as_of`` left out (the features censor the other tables themselves)."""
    return ChurnInputs(**{**inputs.__dict__, "orders": inputs.orders.filter(pl.col("ordered_at") <= as_of)})


def sampled_inputs(inputs: ChurnInputs, max_customers: int, seed: int) -> ChurnInputs:
    """``inputs`` for a seeded sample of ``max_customers`` of the customers with orders (all when fewer), every
    table kept for them alone: training stacks then build features only for the customers they keep."""
    keys = inputs.orders.select("customer_key").unique().collect()["customer_key"].sort()
    if keys.len() <= max_customers:
        return inputs
    sample = keys.sample(n=max(1, max_customers), seed=seed).to_frame().lazy()

    def kept(frame: pl.LazyFrame | None) -> pl.LazyFrame | None:
        return None if frame is None else frame.join(sample, on="customer_key", how="semi")

    return ChurnInputs(**{name: kept(getattr(inputs, name)) for name in inputs.__dataclass_fields__})


def sample_shard(customers: int, cap: int) -> Shard:
    """The sample of about ``cap`` of ``customers`` customers (see the module doc): Shard(0, m)."""
    return Shard(0, min(BUCKETS, max(1, math.ceil(customers / max(1, cap)))))


class Samples:
    """The facts of samples of the customers as of ``as_of``, read once per sample however often asked for."""

    def __init__(self, wh: Warehouse, as_of: dt.datetime, customers: int) -> None:
        self.wh, self.as_of, self.customers = wh, as_of, customers
        self._read: dict[tuple[int, bool], ChurnInputs] = {}

    def inputs(self, cap: int, facts: bool = True) -> ChurnInputs:
        """The facts of the sample of about ``cap`` customers, orders up to as_of; only the orders unless
        ``facts``."""
        count = sample_shard(self.customers, cap).count
        if (count, True) in self._read:
            return self._read[(count, True)]
        if (count, facts) not in self._read:
            shard = Shard(0, count)
            orders = read_purchases(self.wh, shard).select("customer_key", "ordered_at", "amount")
            read = read_inputs(self.wh, shard) if facts else ChurnInputs(orders=orders)
            self._read[(count, facts)] = until(read, self.as_of)
        return self._read[(count, facts)]
