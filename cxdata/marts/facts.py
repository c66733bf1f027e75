"""Fact marts of the sales, service and marketing sources: fct_orders, fct_tickets, fct_surveys, fct_touches.

Each takes the canonical staged table and identity resolution's ``record_keys``
(source_table, record_id, customer_key) and returns a lazy frame with an explicit
column list: personal data (email, phone, names) stays in the identity tables,
and unknown extra source columns stay in staging, so the documented columns in
``sql/fct_*.sql`` are exactly what gets published.
"""

from __future__ import annotations

import polars as pl

from cxdata.config import DEFAULT_CURRENCY
from cxdata.marts._common import attach_key, canonical, hours_between, utc_day

# Statuses whose money went back to the customer: the order was placed but earns nothing.
REFUND_STATUSES = ("refunded", "returned", "cancelled", "canceled", "chargeback")

# Survey scales of the contract (cxdata.schema): kind -> (lowest, highest) answer.
SURVEY_SCALES: dict[str, tuple[float, float]] = {"csat": (1.0, 5.0), "nps": (0.0, 10.0), "ces": (1.0, 7.0)}
CSAT_SATISFIED_MIN = 4.0  # CSAT counts answers 4 and 5 of 5 as satisfied
NPS_PROMOTER_MIN = 9.0  # 9-10 promoters
NPS_PASSIVE_MIN = 7.0  # 7-8 passives, 0-6 detractors


def fct_orders(orders: pl.LazyFrame, record_keys: pl.LazyFrame, currency: str = DEFAULT_CURRENCY) -> pl.LazyFrame:
    """One row per order with its customer_key, refund flag, net amount and purchase sequence.

    ``is_refund`` is true for a negative amount (a refund row) or a refunded /
    returned / cancelled status; ``net_amount`` is what the order kept: 0 for a
    refunded status, the amount otherwise (a negative refund row stays negative,
    so summing net_amount gives revenue after refunds). ``order_number`` counts
    each customer's non-refund orders 1..n by (ordered_at, order_id); it is null
    for refunds and for orders without a customer_key. ``is_first_order`` and
    ``is_repeat_order`` follow from it. ``currency`` is the order's own code
    (trimmed, upper-case) when the source gives one, else ``currency`` (the
    project's), so every amount is labelled.
    """
    frame = attach_key(canonical(orders, "orders"), record_keys, "orders", "order_id")
    status = pl.col("status").str.to_lowercase().str.strip_chars()
    refunded_status = status.is_in(REFUND_STATUSES).fill_null(False)
    frame = frame.with_columns(
        ((pl.col("amount") < 0) | refunded_status).alias("is_refund"),
        pl.when(refunded_status).then(pl.lit(0.0)).otherwise(pl.col("amount")).alias("net_amount"),
    )
    counted = ~pl.col("is_refund") & pl.col("customer_key").is_not_null() & pl.col("ordered_at").is_not_null()
    # Once sorted (order_id breaking same-instant ties, undated orders last), a customer's orders stand in
    # sequence, so an order's number is its position among them: no sort per customer as a rank would do.
    position = pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("customer_key", "is_refund")
    frame = frame.sort("ordered_at", "order_id", nulls_last=[True, False]).with_columns(
        pl.when(counted).then(position).alias("order_number")
    )
    return frame.select(
        pl.col("order_id").cast(pl.String),
        "customer_key",
        "ordered_at",
        utc_day("ordered_at").alias("order_date"),
        "amount",
        "net_amount",
        pl.coalesce(_given(pl.col("currency").str.strip_chars().str.to_uppercase()), pl.lit(currency)).alias(
            "currency"
        ),
        "channel",
        "status",
        "is_refund",
        "order_number",
        (pl.col("order_number") == 1).alias("is_first_order"),
        (pl.col("order_number") > 1).alias("is_repeat_order"),
    )


def _given(text: pl.Expr) -> pl.Expr:
    """``text``, null where it is empty."""
    return pl.when(text.str.len_chars() > 0).then(text)


def fct_tickets(tickets: pl.LazyFrame, record_keys: pl.LazyFrame) -> pl.LazyFrame:
    """One row per service ticket with customer_key, first-response and resolution hours and an open flag.

    Hours are measured from opened_at; a ticket without resolved_at is open
    (``is_open``) and has a null resolution time. A response or resolution stamped
    before the opening (clock skew in the source) gives a negative time, which is
    kept rather than hidden so data checks can see it.
    """
    frame = attach_key(canonical(tickets, "tickets"), record_keys, "tickets", "ticket_id")
    return frame.select(
        pl.col("ticket_id").cast(pl.String),
        "customer_key",
        "opened_at",
        utc_day("opened_at").alias("opened_date"),
        "first_response_at",
        "resolved_at",
        "channel",
        "category",
        hours_between("opened_at", "first_response_at").alias("first_response_hours"),
        hours_between("opened_at", "resolved_at").alias("resolution_hours"),
        pl.col("resolved_at").is_null().alias("is_open"),
    )


def fct_surveys(
    surveys: pl.LazyFrame, record_keys: pl.LazyFrame, tickets: pl.LazyFrame | None = None
) -> pl.LazyFrame:
    """One row per survey answer with its normalised score, CSAT satisfaction and NPS class.

    ``score_normalised`` maps the answer onto 0..1 of its kind's scale (CSAT 1-5,
    NPS 0-10, CES 1-7; null for an unknown kind). ``is_satisfied`` is true for CSAT
    4-5 (null for other kinds); ``nps_class`` is promoter (9-10), passive (7-8) or
    detractor (0-6), null for non-NPS answers. ``channel`` is the service channel
    of the ticket the survey followed when ``tickets`` (canonical or fct_tickets)
    is given, else null.
    """
    frame = attach_key(canonical(surveys, "surveys"), record_keys, "surveys", "response_id")
    frame = frame.with_columns(pl.col("kind").str.to_lowercase().str.strip_chars())
    if tickets is not None:
        channels = tickets.select(
            pl.col("ticket_id").cast(pl.String).alias("__ticket"), pl.col("channel").alias("__channel")
        ).unique("__ticket", keep="first")
        frame = (
            frame.with_columns(pl.col("ticket_id").cast(pl.String).alias("__ticket"))
            .join(channels, on="__ticket", how="left")
            .drop("__ticket")
        )
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("__channel"))
    low = pl.col("kind").replace_strict({k: lo for k, (lo, _) in SURVEY_SCALES.items()}, default=None)
    high = pl.col("kind").replace_strict({k: hi for k, (_, hi) in SURVEY_SCALES.items()}, default=None)
    score = pl.col("score")
    nps_class = (
        pl.when(pl.col("kind") != "nps")
        .then(None)
        .when(score >= NPS_PROMOTER_MIN)
        .then(pl.lit("promoter"))
        .when(score >= NPS_PASSIVE_MIN)
        .then(pl.lit("passive"))
        .when(score.is_not_null())
        .then(pl.lit("detractor"))
    )
    return frame.select(
        pl.col("response_id").cast(pl.String),
        "customer_key",
        pl.col("ticket_id").cast(pl.String),
        "responded_at",
        utc_day("responded_at").alias("responded_date"),
        "kind",
        "score",
        ((score - low) / (high - low)).cast(pl.Float64).alias("score_normalised"),
        pl.when(pl.col("kind") == "csat").then(score >= CSAT_SATISFIED_MIN).alias("is_satisfied"),
        nps_class.alias("nps_class"),
        pl.col("__channel").cast(pl.String).alias("channel"),
    )


def fct_touches(touches: pl.LazyFrame, record_keys: pl.LazyFrame) -> pl.LazyFrame:
    """One row per marketing touch (sent, open, click, impression) with its customer_key.

    The touch's anonymous_id is not copied: identity resolution already folded it
    into customer_key, and device ids are identifiers that belong with identity.
    """
    frame = attach_key(canonical(touches, "touches"), record_keys, "touches", "touch_id")
    return frame.select(
        pl.col("touch_id").cast(pl.String),
        "customer_key",
        "occurred_at",
        utc_day("occurred_at").alias("touch_date"),
        "channel",
        "campaign",
        pl.col("kind").str.to_lowercase().str.strip_chars().alias("kind"),
    )
