"""The value step (CLV then churn) in customer shards: N shards give what one gives, and what sees all
customers at once is small.

A run is four steps, the same code for one shard (`Shard` (0, 1)) as for many:

1. `value_partial`, per shard: read the shard's orders (filtered in the warehouse, `cxdata.churn.reads`) and
   return its `cxdata.clv.partials.Partial`: counts of histories, spend rows, amounts and channels, no
   customer key.
2. `value_global`, once: sum the partials (`combine`). On a fit day, evaluate CLV on a sample of the customers,
   fit the purchase and spend models on the summed counts (the fit is the same as on every customer: BTYD
   and Gamma-Gamma fit distinct rows with weights), the boosted model and the churn classifier on samples
   (`cxdata.churn.reads`: md5 buckets, independent of the shard count). On other days load the stored fits.
   Every day: the populations of the features at as_of (`cxdata.churn.features.Population`: the BTYD model
   and signs-of-life rates), fitted on a sample of about ``btyd_fit_customers``.
3. `value_shard`, per shard: read the shard's facts again and score its customers with the global fits.
4. `value_assemble`, once: the shards' rows in customer order, the percentiles, value at risk and segments
   among all customers, the reports and model runs: what `cxdata.churn.step.value_step` publishes.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from cxdata.churn.features import ChurnInputs, touch_channels
from cxdata.churn.reads import Samples, read_inputs, read_purchases, until
from cxdata.churn.step import ChurnGlobal, ChurnOutputs, churn_assemble, churn_global
from cxdata.clv.partials import Partial, combine, partial
from cxdata.clv.step import ClvGlobal, ClvOutputs, clv_assemble, clv_global, shard_rfm
from cxdata.config import ProjectConfig
from cxdata.run_context import RunContext
from cxdata.shards import Shard, shards
from cxdata.warehouse import Warehouse


def _orders(wh: Warehouse, run: RunContext, shard: Shard) -> pl.LazyFrame:
    orders = read_purchases(wh, shard).filter(pl.col("ordered_at") <= pl.lit(run.as_of))
    return orders.select("customer_key", "ordered_at", "amount")


def value_partial(
    wh: Warehouse, config: ProjectConfig, run: RunContext, shard: Shard, orders: pl.LazyFrame | None = None
) -> Partial:
    """Step 1 (see the module doc): the `Partial` of ``shard``'s customers at ``run.as_of``; ``orders``: the
    shard's orders up to as_of when the caller holds them already."""
    orders = _orders(wh, run, shard) if orders is None else orders
    touches = None
    if wh.exists("fct_touches"):
        touches = _touches(wh, shard)
    return partial(orders, shard_rfm(orders, config, run.as_of), touch_channels(touches, run.as_of))


def _touches(wh: Warehouse, shard: Shard) -> pl.LazyFrame:
    everyone = shard.count == 1
    return wh.read("fct_touches", columns=["occurred_at", "channel"], shard=None if everyone else shard).lazy()


@dataclass
class ValueGlobal:
    """Step 2's result: all customers' partial, and CLV's and churn's fits (churn None when not run)."""

    total: Partial
    clv: ClvGlobal | None
    churn: ChurnGlobal | None


def value_global(
    wh: Warehouse, config: ProjectConfig, run: RunContext, partials: list[Partial], refit: bool = False,
    churn: bool = True, clv: bool = True,
) -> ValueGlobal:  # fmt: skip
    """Step 2 (see the module doc). ``churn``: also churn; ``clv``: also CLV (else churn merges into the
    published customer_scores)."""
    total = combine(partials)
    samples = Samples(wh, run.as_of, total.customers)
    clv_part = clv_global(wh, config, run, total, samples, refit) if clv else None
    churn_part = None
    if churn and (clv_part is None or clv_part.fit is not None):
        has_clv = clv_part is not None or wh.exists("customer_scores")
        churn_part = churn_global(wh, config, run, total, samples, has_clv, refit)
    return ValueGlobal(total, clv_part, churn_part)


@dataclass
class ShardScores:
    """Step 3's result: a shard's RFM rows, its CLV scores and its scores with churn merged in (each None when
    not computed), and how many of its churn-scored customers have no CLV row."""

    rfm: pl.DataFrame | None
    clv: pl.DataFrame | None
    merged: pl.DataFrame | None
    missing: int = 0


def value_shard(
    wh: Warehouse,
    config: ProjectConfig,
    run: RunContext,
    shard: Shard,
    fits: ValueGlobal,
    read: ChurnInputs | None = None,
) -> ShardScores:
    """Step 3 (see the module doc): ``shard``'s customers scored with ``fits``; ``read``: the shard's facts up to
    as_of (`until`) when the caller holds them already."""
    boosted = fits.clv is not None and fits.clv.fit is not None and fits.clv.fit.boosted is not None
    inputs = None
    if boosted or (fits.churn is not None and fits.churn.training is not None):
        inputs = until(read_inputs(wh, shard), run.as_of) if read is None else read
    orders = inputs.orders if inputs is not None else _orders(wh, run, shard)
    rfm, scores = None, None
    if fits.clv is not None:
        rfm = shard_rfm(orders, config, run.as_of)
        scores = fits.clv.scores(rfm, inputs, config, run)
    elif wh.exists("customer_scores"):
        scores = wh.read("customer_scores", shard=None if shard.count == 1 else shard).sort("customer_key")
    merged, missing = None, 0
    if fits.churn is not None and inputs is not None:
        merged, missing = fits.churn.scores(scores, inputs, config, run)
    return ShardScores(rfm, scores, merged, missing)


def value_assemble(
    config: ProjectConfig, run: RunContext, fits: ValueGlobal, parts: list[ShardScores]
) -> tuple[ClvOutputs | None, ChurnOutputs | None]:
    """Step 4 (see the module doc): what the value step publishes, not yet written."""
    clv = None
    if fits.clv is not None:
        clv = clv_assemble(fits.clv, [p.rfm for p in parts], [p.clv for p in parts], config, run.as_of)
    churn = None
    if fits.churn is not None:
        if clv is not None:
            scores = clv.scores
        else:
            present = [p.clv for p in parts if p.clv is not None]
            scores = pl.concat(present).sort("customer_key") if present else None
        missing = sum(p.missing for p in parts)
        churn = churn_assemble(fits.churn, [p.merged for p in parts], missing, scores, fits.total, config, run)
    return clv, churn


def value_outputs(
    wh: Warehouse,
    config: ProjectConfig,
    run: RunContext,
    refit: bool = False,
    churn: bool = True,
    clv: bool = True,
    shard_count: int = 1,
) -> tuple[ClvOutputs | None, ChurnOutputs | None]:
    """The four steps in one process over ``shard_count`` shards, one after another. With one shard its facts
    are read once, for the partial and the scoring, when the scoring will need more than the orders."""
    every = shards(shard_count)
    held = None
    if shard_count == 1 and (churn or (clv and config.models.clv.boosted.enabled)):
        held = until(read_inputs(wh, every[0]), run.as_of)
    orders = None if held is None else held.orders
    fits = value_global(
        wh, config, run, [value_partial(wh, config, run, s, orders) for s in every], refit, churn, clv
    )
    return value_assemble(config, run, fits, [value_shard(wh, config, run, s, fits, held) for s in every])
