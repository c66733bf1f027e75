"""dim_customer: one row per resolved customer with RFM, service, web and marketing features and journey stage,
as a projection at as_of of customer_activity (`cxdata.marts.activity`).

Journey stages (rules and numbers in ``JourneyConfig``; the same text is in
sql/dim_customer.sql), first match wins:

1. ``lapsed`` — a buyer whose last order is more than ``lapsed_after_days``
   before as_of; a non-buyer whose last activity (last_seen_at) is.
2. ``use_repurchase`` — a buyer with two or more orders, or one order placed
   more than ``purchase_window_days`` ago (now using what they bought).
3. ``purchase`` — exactly one order, placed in the last ``purchase_window_days``.
4. ``compare`` — no order, but at least ``compare_min_pages`` views of
   product/pricing/comparison pages or anything added to a cart.
5. ``research`` — everyone else: web visits, touches or a CRM record, no order.

Orders here are non-refund orders (fct_orders.is_refund false). Kind and
acquisition channel are described in `cxdata.marts.activity`.

The projection reads customer_activity alone: recency_days, tenure_days and
journey_stage follow from its times and as_of for every customer, so a daily run
keeps customer_activity up to date for the customers whose aggregates changed
(`cxdata.marts.activity_delta`). In the warehouse, dim_customer is a view doing
this projection in SQL (sql/dim_customer.<dialect>.sql) with the numbers of the
one-row table ``dim_customer_params`` (`params`); `project` is the same
projection in polars, for a full build outside the warehouse and as the
reference the view is tested against.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.config import DEFAULT_CURRENCY, JourneyConfig
from cxdata.marts.activity import customer_activity

STAGES = ("research", "compare", "purchase", "use_repurchase", "lapsed")
_MOMENT = pl.Datetime("us", "UTC")
PARAMS_SCHEMA = pl.Schema(
    {
        "as_of": _MOMENT,
        "lapsed_after_days": pl.Int64(),
        "purchase_window_days": pl.Int64(),
        "compare_min_pages": pl.Int64(),
        "lapsed_before": _MOMENT,
        "purchase_window_start": _MOMENT,
    }
)
_DAY_US = 86_400_000_000


def _days_before(as_of: dt.datetime, column: str) -> pl.Expr:
    """Days (float) from a timestamp column to as_of."""
    return (pl.lit(as_of) - pl.col(column)).dt.total_microseconds() / _DAY_US


def dim_customer(
    as_of: dt.datetime,
    journey: JourneyConfig,
    orders: pl.LazyFrame | None = None,
    tickets: pl.LazyFrame | None = None,
    surveys: pl.LazyFrame | None = None,
    sessions: pl.LazyFrame | None = None,
    touches: pl.LazyFrame | None = None,
    *,
    record_keys: pl.LazyFrame,
    contacts: pl.LazyFrame,
    currency: str = DEFAULT_CURRENCY,
) -> pl.LazyFrame:
    """One row per customer_key in ``record_keys``, with features of everything up to ``as_of``: the projection
    (`project`) of their `customer_activity`.

    Inputs are the fct_ marts (fct_orders, fct_tickets, fct_surveys,
    fct_web_sessions, fct_touches); any may be None. Records after as_of are
    ignored. RFM: ``recency_days`` is days from the last order to as_of,
    ``frequency`` the repeat orders (orders_count − 1, the BTYD convention),
    ``monetary_value`` the mean net_amount per order, ``tenure_days`` days from the
    first order to as_of. Journey stage precedence: lapsed, use_repurchase,
    purchase, compare, research (see the module docstring for the rules).
    ``contacts`` (``CONTACTS_SCHEMA``) lists the customers known by a CRM record
    or an identifier of their own, with when it was first seen (null: always);
    it decides ``kind`` with the orders, tickets and surveys. Amounts are labelled
    ``currency`` (the project's ISO code).
    """
    facts = {"orders": orders, "tickets": tickets, "surveys": surveys, "sessions": sessions, "touches": touches}
    activity = customer_activity(as_of, **facts, customers=record_keys, contacts=contacts, currency=currency)
    return project(activity, as_of, journey)


def params(as_of: dt.datetime, journey: JourneyConfig) -> pl.DataFrame:
    """The one row of ``dim_customer_params``: what the dim_customer view projects customer_activity with (the
    moment, the journey numbers and the moments they give), as `project` uses them."""
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=dt.UTC)
    lapsed_before, window_start = _moments(as_of, journey)
    row = {
        "as_of": as_of,
        "lapsed_after_days": journey.lapsed_after_days,
        "purchase_window_days": journey.purchase_window_days,
        "compare_min_pages": journey.compare_min_pages,
        "lapsed_before": lapsed_before,
        "purchase_window_start": window_start,
    }
    return pl.DataFrame([row], schema=PARAMS_SCHEMA)


def _moments(as_of: dt.datetime, journey: JourneyConfig) -> tuple[dt.datetime, dt.datetime]:
    """(lapsed before, purchase window start): as_of less the journey's days, each of 24 hours."""
    return (
        as_of - dt.timedelta(days=journey.lapsed_after_days),
        as_of - dt.timedelta(days=journey.purchase_window_days),
    )


def project(activity: pl.LazyFrame, as_of: dt.datetime, journey: JourneyConfig) -> pl.LazyFrame:
    """dim_customer from ``activity`` (customer_activity rows built at ``as_of`` or valid at it): its columns,
    plus what follows from as_of itself (recency_days, tenure_days, journey_stage, as_of)."""
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=dt.UTC)
    return activity.select(
        "customer_key",
        "kind",
        "first_seen_at",
        "last_seen_at",
        "first_order_at",
        "last_order_at",
        "orders_count",
        (pl.col("orders_count") - 1).clip(lower_bound=0).alias("frequency"),
        _days_before(as_of, "last_order_at").alias("recency_days"),
        _days_before(as_of, "first_order_at").alias("tenure_days"),
        "monetary_value",
        "total_revenue",
        "currency",
        "tickets_count",
        "open_tickets",
        "median_first_response_hours",
        "last_csat",
        "last_nps_class",
        "sessions_count",
        "pages_per_session",
        "time_on_site_seconds",
        "last_visit_at",
        "web_conversion_rate",
        "compare_pages",
        "added_to_cart",
        "touches_total",
        "touch_channels",
        "last_touch_channel",
        "referral_source",
        "acquisition_channel",
        _stage(as_of, journey).alias("journey_stage"),
        pl.lit(as_of, dtype=pl.Datetime("us", "UTC")).alias("as_of"),
    )


def _stage(as_of: dt.datetime, journey: JourneyConfig) -> pl.Expr:
    buyer = pl.col("orders_count") > 0
    lapsed_at, window_start = _moments(as_of, journey)
    lapsed = pl.when(buyer).then(pl.col("last_order_at") < lapsed_at).otherwise(pl.col("last_seen_at") < lapsed_at)
    compare = (pl.col("compare_pages") >= journey.compare_min_pages) | pl.col("added_to_cart")
    return (
        pl.when(lapsed.fill_null(False))
        .then(pl.lit("lapsed"))
        .when(buyer & ((pl.col("orders_count") >= 2) | (pl.col("first_order_at") < window_start)))
        .then(pl.lit("use_repurchase"))
        .when(buyer)
        .then(pl.lit("purchase"))
        .when(compare)
        .then(pl.lit("compare"))
        .otherwise(pl.lit("research"))
    )
