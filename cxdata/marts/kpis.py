"""cx_kpis_daily: customer-experience KPIs by UTC day and a named customer dimension.

A row is keyed (date, dimension, dimension_value) and every metric in it is
defined for that dimension, so the metrics of a row compare with each other:

- ``total`` (value ``all``): every record of the day;
- ``acquisition_channel``: the acquisition channel of the record's customer
  (dim_customer.acquisition_channel);
- ``customer_kind``: the kind of the record's customer (dim_customer.kind:
  buyer, known_contact, anonymous_visitor).

Under a customer dimension every record of a customer counts under that
customer's value, and a record without a customer (or without customers at
all) under ``unknown``, so counts and revenue of a dimension's values add up to
its ``total`` row. Record-level channels (the order's, ticket's or session's
own channel) are not customer attributes: they are in the per-source BI views
(bi_orders_by_channel_daily and friends in ``sql/``).

Null means no data, 0 means zero: the rows form a dense grid of every day from
the first to the last day with a record of any loaded source, times every
value of each dimension. A loaded source (its fct_ input given, even empty)
gives counts of 0 and revenue 0 where it has no record; a rate or mean with no
denominator (CSAT without answers, conversion without sessions) is null; a
source not given (None: not configured) is null in every one of its metrics.
"""

from __future__ import annotations

import polars as pl

from cxdata.config import DEFAULT_CURRENCY
from cxdata.marts.sessions import REFERRAL_CHANNEL

TOTAL = "total"
ALL = "all"
UNKNOWN = "unknown"
# dimension -> the dim_customer column giving each customer's value (None: the one value ``all``)
DIMENSIONS: dict[str, str | None] = {
    TOTAL: None,
    "acquisition_channel": "acquisition_channel",
    "customer_kind": "kind",
}
KEYS = ("date", "dimension", "dimension_value")


def _share(condition: pl.Expr, among: pl.Expr) -> pl.Expr:
    """Share (0..1) of rows matching ``among`` where ``condition`` holds; null when none match."""
    n = among.sum()
    return pl.when(n > 0).then((condition & among).sum() / n)


def _survey_metrics() -> list[pl.Expr]:
    csat, nps, ces = (pl.col("kind") == k for k in ("csat", "nps", "ces"))
    return [
        csat.sum().cast(pl.Int64).alias("csat_responses"),
        _share(pl.col("is_satisfied"), csat).alias("csat"),
        nps.sum().cast(pl.Int64).alias("nps_responses"),
        (
            100 * _share(pl.col("nps_class") == "promoter", nps)
            - 100 * _share(pl.col("nps_class") == "detractor", nps)
        ).alias("nps"),
        ces.sum().cast(pl.Int64).alias("ces_responses"),
        pl.col("score").filter(ces).mean().alias("ces_mean"),
    ]


def _ticket_metrics() -> list[pl.Expr]:
    return [
        pl.len().cast(pl.Int64).alias("tickets_opened"),
        pl.col("first_response_hours").median().alias("median_first_response_hours"),
        pl.col("resolution_hours").median().alias("median_resolution_hours"),
    ]


def _session_metrics() -> list[pl.Expr]:
    return [
        pl.len().cast(pl.Int64).alias("sessions"),
        pl.col("converted").sum().cast(pl.Int64).alias("converted_sessions"),
        pl.col("converted").mean().alias("conversion_rate"),
        (pl.col("channel") == REFERRAL_CHANNEL).mean().alias("referral_share"),
    ]


def _orders_per_customer(orders: pl.LazyFrame) -> pl.LazyFrame:
    """Orders summed per day and customer first: counting distinct customers becomes a sum, done once however
    many dimensions follow."""
    kept = ~pl.col("is_refund")
    return orders.group_by("order_date", "customer_key").agg(
        kept.sum().alias("__orders"),
        pl.col("net_amount").sum().alias("__revenue"),
        pl.col("is_first_order").fill_null(False).any().alias("__first"),
        (kept & pl.col("customer_key").is_not_null()).any().alias("__bought"),
    )


def _order_metrics() -> list[pl.Expr]:
    # New: first order that day. Repeat: every other distinct customer with a kept order that day, so a
    # customer whose first and second orders fall on one day counts as new, not repeat.
    return [
        pl.col("__orders").sum().cast(pl.Int64).alias("orders"),
        pl.col("__revenue").sum().alias("revenue"),
        pl.col("__first").sum().alias("__new"),
        pl.col("__bought").sum().alias("__buyers"),
    ]


def _order_finish() -> list[pl.Expr]:
    return [
        pl.col("__new").cast(pl.Int64).alias("new_customers"),
        (pl.col("__buyers") - pl.col("__new")).cast(pl.Int64).alias("repeat_customers"),
        pl.when(pl.col("__buyers") > 0).then(1 - pl.col("__new") / pl.col("__buyers")).alias("repeat_rate"),
    ]


# source -> (date column of its fct_ mart, metrics, expressions finishing them, columns that are 0 without a
# record: counts and sums; every other metric is a rate, mean or median, null without a record)
_SOURCES: dict[str, tuple[str, list[pl.Expr], list[pl.Expr], tuple[str, ...]]] = {
    "surveys": ("responded_date", _survey_metrics(), [], ("csat_responses", "nps_responses", "ces_responses")),
    "tickets": ("opened_date", _ticket_metrics(), [], ("tickets_opened",)),
    "sessions": ("session_date", _session_metrics(), [], ("sessions", "converted_sessions")),
    "orders": (
        "order_date",
        _order_metrics(),
        _order_finish(),
        ("orders", "revenue", "__new", "__buyers"),
    ),
}

# the columns each input is read for (its fct_ mart, or dim_customer)
INPUT_COLUMNS: dict[str, tuple[str, ...]] = {
    "fct_orders": ("order_date", "customer_key", "is_refund", "net_amount", "is_first_order"),
    "fct_tickets": ("opened_date", "customer_key", "first_response_hours", "resolution_hours"),
    "fct_surveys": ("responded_date", "customer_key", "kind", "score", "is_satisfied", "nps_class"),
    "fct_web_sessions": ("session_date", "customer_key", "channel", "converted"),
    "dim_customer": ("customer_key", *(c for c in DIMENSIONS.values() if c is not None)),
}

# the published columns and their dtypes, so an absent source is a typed null column
SCHEMA = pl.Schema(
    {
        "date": pl.Date(),
        "dimension": pl.String(),
        "dimension_value": pl.String(),
        "csat_responses": pl.Int64(),
        "csat": pl.Float64(),
        "nps_responses": pl.Int64(),
        "nps": pl.Float64(),
        "ces_responses": pl.Int64(),
        "ces_mean": pl.Float64(),
        "tickets_opened": pl.Int64(),
        "median_first_response_hours": pl.Float64(),
        "median_resolution_hours": pl.Float64(),
        "sessions": pl.Int64(),
        "converted_sessions": pl.Int64(),
        "conversion_rate": pl.Float64(),
        "referral_share": pl.Float64(),
        "orders": pl.Int64(),
        "revenue": pl.Float64(),
        "currency": pl.String(),
        "new_customers": pl.Int64(),
        "repeat_customers": pl.Int64(),
        "repeat_rate": pl.Float64(),
    }
)
COLUMNS = tuple(SCHEMA)


def _by_dimension(
    records: pl.LazyFrame, date: str, customers: pl.LazyFrame | None, metrics: list[pl.Expr]
) -> pl.LazyFrame:
    """``metrics`` per (day, dimension, value) of every dimension, stacked."""
    keyed = records.with_columns(pl.col(date).alias("date"))
    if customers is not None:
        # one row per customer (dim_customer's key): a key listed twice would count its records twice, so the
        # join checks it (cheaper than deduplicating every customer)
        keyed = keyed.join(customers, on="customer_key", how="left", validate="m:1")
    blocks = []
    for dimension, column in DIMENSIONS.items():
        if column is None:
            value = pl.lit(ALL)
        elif customers is None:
            continue
        else:
            value = pl.col(f"__{column}").fill_null(UNKNOWN)
        blocks.append(
            keyed.group_by(
                "date", pl.lit(dimension).alias("dimension"), value.cast(pl.String).alias("dimension_value")
            ).agg(metrics)
        )
    return pl.concat(blocks)


def _grid(blocks: list[pl.LazyFrame], customers: pl.LazyFrame | None) -> pl.LazyFrame:
    """Every day from the first to the last of ``blocks``, times every value of each dimension."""
    keys = pl.concat([block.select(KEYS) for block in blocks])
    span = pl.date_ranges(pl.col("date").min(), pl.col("date").max(), "1d")  # null without records
    days = keys.select(span.alias("date")).explode("date").drop_nulls()
    values = [keys.select("dimension", "dimension_value")]
    if customers is not None:
        values += [
            customers.select(
                pl.lit(dimension).alias("dimension"),
                pl.col(f"__{column}").fill_null(UNKNOWN).cast(pl.String).alias("dimension_value"),
            )
            for dimension, column in DIMENSIONS.items()
            if column is not None
        ]
    return days.join(pl.concat(values).unique(), how="cross")


def cx_kpis_daily(
    orders: pl.LazyFrame | None = None,
    tickets: pl.LazyFrame | None = None,
    surveys: pl.LazyFrame | None = None,
    sessions: pl.LazyFrame | None = None,
    customers: pl.LazyFrame | None = None,
    currency: str = DEFAULT_CURRENCY,
) -> pl.LazyFrame:
    """Daily KPIs by dimension from the fct_ marts and dim_customer (see the module docstring for the grid).

    An input of None is a source the project does not have: its metrics are null.
    ``customers`` (dim_customer: customer_key, acquisition_channel, kind) gives the
    customer dimensions; without it only the ``total`` rows are built.

    CSAT: share (0..1) of CSAT answers scoring 4 or 5. NPS: % promoters − %
    detractors of NPS answers, in points (−100..100). CES: mean CES answer (1..7).
    Median first-response and resolution hours of tickets opened that day.
    Conversion rate: share of sessions with a purchase; referral share: share of
    sessions arriving by referral. Orders: non-refund orders; revenue: sum of
    net_amount (refunds subtract) in ``currency``. New customers: distinct
    customers placing their first order; repeat customers: other distinct
    customers ordering; repeat_rate = repeat / all ordering customers (0..1).
    """
    if customers is not None:
        customers = customers.select(
            pl.col("customer_key").cast(pl.String),
            *(pl.col(c).cast(pl.String).alias(f"__{c}") for c in DIMENSIONS.values() if c is not None),
        )
    given = {"orders": orders, "tickets": tickets, "surveys": surveys, "sessions": sessions}
    if orders is not None:
        given["orders"] = _orders_per_customer(orders)
    # each block feeds both the grid and its join: cached, so the plan computes it once
    blocks = {
        source: _by_dimension(frame, _SOURCES[source][0], customers, _SOURCES[source][1]).cache()
        for source, frame in given.items()
        if frame is not None
    }
    if not blocks:
        return pl.LazyFrame(schema=SCHEMA)
    kpis = _grid(list(blocks.values()), customers)
    for source, block in blocks.items():
        _, _, finish, zero = _SOURCES[source]
        kpis = kpis.join(block, on=KEYS, how="left").with_columns(pl.col(zero).fill_null(0))
        if finish:
            kpis = kpis.with_columns(finish).drop("__new", "__buyers")
    built = kpis.collect_schema()
    missing = [pl.lit(None, dtype).alias(name) for name, dtype in SCHEMA.items() if name not in built]
    kpis = kpis.with_columns(missing).with_columns(pl.lit(currency).alias("currency"))
    return kpis.select([pl.col(name).cast(dtype) for name, dtype in SCHEMA.items()]).sort(KEYS)
