"""RFM summaries for BTYD models in polars, identical to ``lifetimes.utils`` but lazy and vectorised.

Period semantics follow lifetimes exactly: every timestamp is truncated to the
start of its period (the UTC day for ``"D"``, the ISO week starting Monday for
``"W"``, which is pandas' ``W-SUN`` period), purchases within one period
collapse into one with their amounts summed, and the first period is the
customer's "birth":

- ``frequency`` — number of periods with a purchase after the first one;
- ``recency`` — periods between the first and the last purchase period;
- ``T`` — periods between the first purchase period and the period of the
  observation end;
- ``monetary_value`` — mean of the per-period amounts of the repeat periods,
  0 for customers without a repeat period.

Refunds: the summaries count every row they are given as a purchase, so
refunded orders must be removed first (`purchases` does it with
``fct_orders.is_refund``): a refunded order was never a kept purchase, and a
negative refund row would otherwise count as one more repeat period.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import polars as pl

Freq = Literal["D", "W"]
PERIOD_DAYS: dict[str, int] = {"D": 1, "W": 7}
# 1970-01-01 was a Thursday: shifting by 3 days makes week numbers change on Mondays, as pandas' W-SUN periods do.
_WEEK_SHIFT = 3


def _period_of_days(days: pl.Expr, freq: Freq) -> pl.Expr:
    if freq == "D":
        return days
    if freq == "W":
        return (days + _WEEK_SHIFT) // 7
    raise ValueError(f"freq must be 'D' or 'W', got {freq!r}")


def period_expr(column: str, freq: Freq) -> pl.Expr:
    """The integer period (days or Monday-based weeks since 1970-01-01, UTC) of a timestamp column."""
    return _period_of_days(pl.col(column).dt.date().cast(pl.Int64), freq)


def period_number(moment: dt.datetime | dt.date, freq: Freq) -> int:
    """The period of one moment, as `period_expr` computes it; naive datetimes are taken as UTC."""
    if isinstance(moment, dt.datetime):
        moment = (moment if moment.tzinfo is None else moment.astimezone(dt.UTC)).date()
    days = (moment - dt.date(1970, 1, 1)).days
    return days if freq == "D" else (days + _WEEK_SHIFT) // 7


def utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _time_literal(orders: pl.LazyFrame, time: str, moment: dt.datetime) -> pl.Expr:
    """``moment`` as a literal comparable with the ``time`` column, naive or zoned."""
    dtype = orders.collect_schema()[time]
    zone = getattr(dtype, "time_zone", None)
    if zone is None:
        return pl.lit(utc(moment).replace(tzinfo=None), dtype=pl.Datetime("us"))
    return pl.lit(utc(moment)).dt.convert_time_zone(zone)


def purchases(orders: pl.LazyFrame, customer: str = "customer_key") -> pl.LazyFrame:
    """The orders that count as purchases: a customer is known and, when the frame says so, not a refund.

    Example: ``rfm_summary(purchases(wh.read("fct_orders", columns=[...]).lazy()))``.
    """
    kept = pl.col(customer).is_not_null()
    if "is_refund" in orders.collect_schema().names():
        kept = kept & ~pl.col("is_refund").fill_null(False)
    return orders.filter(kept)


def period_purchases(
    orders: pl.LazyFrame,
    freq: Freq = "D",
    customer: str = "customer_key",
    time: str = "ordered_at",
    amount: str = "amount",
) -> pl.LazyFrame:
    """One row per customer and purchase period: (customer, period, amount summed, is_first)."""
    return (
        orders.group_by(customer, period_expr(time, freq).alias("period"))
        .agg(pl.col(amount).sum().alias(amount))
        .with_columns((pl.col("period") == pl.col("period").min().over(customer)).alias("is_first"))
    )


def rfm_summary(
    orders: pl.LazyFrame,
    observation_end: dt.datetime | None = None,
    freq: Freq = "D",
    customer: str = "customer_key",
    time: str = "ordered_at",
    amount: str = "amount",
) -> pl.LazyFrame:
    """Per customer: frequency, recency, T, monetary_value, as ``summary_data_from_transaction_data``.

    ``observation_end`` defaults to the last order; as in lifetimes, orders in
    a later period than the observation end are ignored (orders later in the
    same period count). Output is sorted by customer; numbers are Float64.

    Example::

        rfm_summary(orders.lazy(), observation_end=dt.datetime(1998, 6, 30), freq="W").collect()
    """
    return _summary(orders, observation_end, freq, customer, time, amount)


def _summary(
    orders: pl.LazyFrame,
    observation_end: dt.datetime | None,
    freq: Freq,
    customer: str,
    time: str,
    amount: str,
) -> pl.LazyFrame:
    # no is_first window here: the aggregation below finds each customer's first period itself. Sorted: a
    # group_by emits its groups in no fixed order, and the sums below would follow it to the last digit
    periods = (
        orders.group_by(customer, period_expr(time, freq).alias("period"))
        .agg(pl.col(amount).sum())
        .sort(customer, "period")
    )
    if observation_end is None:
        # the default end is the last order's period, computed in the same plan rather than collected first
        end = orders.select(period_expr(time, freq).max().alias("_end"))
        periods = periods.join(end, how="cross")
    else:
        periods = periods.with_columns(pl.lit(period_number(observation_end, freq), pl.Int64).alias("_end"))
    periods = periods.filter(pl.col("period") <= pl.col("_end"))
    return (
        periods.group_by(customer)
        .agg(
            (pl.len() - 1).cast(pl.Float64).alias("frequency"),
            (pl.col("period").max() - pl.col("period").min()).cast(pl.Float64).alias("recency"),
            (pl.col("_end").first() - pl.col("period").min()).cast(pl.Float64).alias("T"),
            # mean of the repeat periods as (all − first) / repeats, equal to a filtered mean up to float
            # rounding; the sum in period order, one term after the other (cum_sum): a vectorised sum groups its
            # terms by where the customer's rows lie in memory, so its last digit would depend on the others
            pl.when(pl.len() > 1)
            .then(
                (pl.col(amount).cum_sum().last() - pl.col(amount).get(pl.col("period").arg_min())) / (pl.len() - 1)
            )
            .otherwise(0.0)
            .cast(pl.Float64)
            .alias("monetary_value"),
        )
        .sort(customer)
    )


def calibration_holdout(
    orders: pl.LazyFrame,
    calibration_end: dt.datetime,
    observation_end: dt.datetime | None = None,
    freq: Freq = "D",
    customer: str = "customer_key",
    time: str = "ordered_at",
    amount: str = "amount",
) -> pl.LazyFrame:
    """Calibration summary and holdout counts per customer, as ``calibration_and_holdout_data``.

    Calibration uses the orders up to ``calibration_end`` (inclusive); the
    holdout the orders after it up to ``observation_end`` (default: the last
    order). Only customers seen in calibration appear. Columns: frequency_cal,
    recency_cal, T_cal, monetary_value_cal, frequency_holdout (distinct holdout
    periods with a purchase), monetary_value_holdout (mean holdout order
    amount, not per period: lifetimes does it so), duration_holdout (periods).
    """
    moment = pl.col(time)
    calibration = _summary(
        orders.filter(moment <= _time_literal(orders, time, calibration_end)),
        calibration_end,
        freq,
        customer,
        time,
        amount,
    ).rename({c: f"{c}_cal" for c in ("frequency", "recency", "T", "monetary_value")})
    after = moment > _time_literal(orders, time, calibration_end)
    if observation_end is None:
        window = orders.filter(after & (moment <= moment.max()))
        end_period = orders.select(period_expr(time, freq).max().alias("_end"))
    else:
        window = orders.filter(after & (moment <= _time_literal(orders, time, observation_end)))
        end_period = pl.LazyFrame({"_end": [period_number(observation_end, freq)]})
    holdout = window.group_by(customer).agg(
        period_expr(time, freq).n_unique().cast(pl.Float64).alias("frequency_holdout"),
        pl.col(amount).mean().cast(pl.Float64).alias("monetary_value_holdout"),
    )
    duration = end_period.select(
        (pl.col("_end") - period_number(calibration_end, freq)).cast(pl.Float64).alias("duration_holdout")
    )
    return (
        calibration.join(holdout, on=customer, how="left")
        .with_columns(pl.col("frequency_holdout", "monetary_value_holdout").fill_null(0.0))
        .join(duration, how="cross")
        .sort(customer)
    )
