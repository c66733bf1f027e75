"""Churn labels and the cutoffs they are taken at, without leakage.

A customer *churns* after a cutoff when they place no kept order in
``(cutoff, cutoff + horizon_days]``. Only customers with a kept order at or
before the cutoff are labelled (the ones a model can score). Features come
from data up to the cutoff only (cxdata/churn/features.py); the label is the
only thing read after it.

Cutoffs (rolling origin): to score at ``as_of`` the model is trained at
``as_of - horizon - k * step`` for k = 0..cutoffs-1, whose labels are all
known by ``as_of``. It is evaluated the same way one horizon earlier: trained
at ``as_of - 2 horizon - k * step`` (labels known by the holdout cutoff) and
tested on the holdout cutoff ``as_of - horizon``, whose labels end at as_of.
A cutoff is kept only when at least ``min_history_days`` of orders precede it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from cxdata.config import ChurnConfig


@dataclass(frozen=True)
class Cutoffs:
    """The cutoffs of one run: training for the evaluation, the holdout, training for the final model."""

    evaluation: list[dt.datetime]
    holdout: dt.datetime
    final: list[dt.datetime]


def plan_cutoffs(as_of: dt.datetime, first_order: dt.datetime, config: ChurnConfig) -> Cutoffs:
    """Stacked cutoffs for ``as_of`` (see the module doc); lists may be empty when history is short."""
    horizon, step = dt.timedelta(days=config.horizon_days), dt.timedelta(days=config.cutoff_step_days)
    earliest = first_order + dt.timedelta(days=config.min_history_days)

    def stack(latest: dt.datetime) -> list[dt.datetime]:
        return [c for c in (latest - k * step for k in range(config.cutoffs)) if c >= earliest]

    holdout = as_of - horizon
    return Cutoffs(evaluation=stack(holdout - horizon), holdout=holdout, final=stack(holdout))


def churn_labels(orders: pl.LazyFrame, cutoff: dt.datetime, horizon_days: int) -> pl.LazyFrame:
    """Per customer with a kept order at or before ``cutoff``: ``churned`` (no order in the horizon after it).

    ``orders`` has customer_key and ordered_at (UTC) of kept orders (refunds removed, `cxdata.clv.rfm.purchases`).
    """
    end = cutoff + dt.timedelta(days=horizon_days)
    at = pl.col("ordered_at")
    before = orders.filter(at <= pl.lit(cutoff)).select("customer_key").unique()
    after = orders.filter((at > pl.lit(cutoff)) & (at <= pl.lit(end))).select("customer_key").unique()
    return (
        before.join(after.with_columns(pl.lit(False).alias("churned")), on="customer_key", how="left")
        .with_columns(pl.col("churned").fill_null(True), pl.lit(cutoff).alias("cutoff"))
        .sort("customer_key")
    )
