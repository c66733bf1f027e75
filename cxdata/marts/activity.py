"""customer_activity: per customer, what their facts add up to by a moment (as_of), without what follows from
that moment alone.

    from cxdata.marts.activity import customer_activity

Counts, sums, first and last times, the ticket, survey, web and touch aggregates, kind and acquisition
channel: everything of dim_customer (`cxdata.marts.customer`) except the columns computed from as_of itself
(recency_days, tenure_days, journey_stage, as_of). as_of reaches these aggregates only through conditions
on the facts' own times (``AS_OF_STAMPS``): a row counts once its time is at or before as_of, a ticket is open
until its resolved_at, a first response counts from its first_response_at, a contact from its first_seen. So
a customer's row changes, when as_of moves from one moment to a later one and no fact changes, only if one
of those times falls between the two moments; sql/int_customers_as_of_moved.sql finds those customers.

Kind (``KINDS``), as of as_of: ``buyer`` — at least one non-refund order;
``known_contact`` — no order, but a CRM record, a customer_ref, email or phone
identifier of their own (``contacts``), or a service ticket or survey answer;
``anonymous_visitor`` — everyone else: web sessions and marketing touches that
carry no identifier.

Acquisition channel: the channel of the customer's earliest web session
(session channel), marketing touch (touch channel) or order (order channel),
whichever came first (on a tie: touch, then session, then order); ``unknown``
when none of these is known.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.config import DEFAULT_CURRENCY
from cxdata.marts._common import empty, empty_keys
from cxdata.marts.facts import fct_orders, fct_surveys, fct_tickets, fct_touches
from cxdata.marts.sessions import fct_web_sessions, url_host

KINDS = ("buyer", "known_contact", "anonymous_visitor")
UNKNOWN = "unknown"  # acquisition channel of a customer with no session, touch or order (or no channel on it)
CONTACTS_SCHEMA = pl.Schema({"customer_key": pl.String(), "first_seen": pl.Datetime("us", "UTC")})
# the times of each fact that decide, against as_of, whether and how a row counts (see the module docstring);
# sql/int_customers_as_of_moved.sql holds one query per fact over exactly these columns
AS_OF_STAMPS = {
    "fct_orders": ("ordered_at",),
    "fct_tickets": ("opened_at", "resolved_at", "first_response_at"),
    "fct_surveys": ("responded_at",),
    "fct_web_sessions": ("started_at",),
    "fct_touches": ("occurred_at",),
    "customer_identity": ("first_seen",),
}
COLUMNS = (
    "customer_key", "kind", "first_seen_at", "last_seen_at", "first_order_at", "last_order_at", "orders_count",
    "monetary_value", "total_revenue", "currency", "tickets_count", "open_tickets", "median_first_response_hours",
    "last_csat", "last_nps_class", "sessions_count", "pages_per_session", "time_on_site_seconds",
    "last_visit_at", "web_conversion_rate", "compare_pages", "added_to_cart", "touches_total", "touch_channels",
    "last_touch_channel", "referral_source", "acquisition_channel",
)  # fmt: skip


def _or_empty(frame: pl.LazyFrame | None, build, table: str) -> pl.LazyFrame:
    # A missing source becomes an empty mart of the right shape, so every feature is null, never an error.
    return frame if frame is not None else build(empty(table), empty_keys())


def customer_activity(
    as_of: dt.datetime,
    orders: pl.LazyFrame | None = None,
    tickets: pl.LazyFrame | None = None,
    surveys: pl.LazyFrame | None = None,
    sessions: pl.LazyFrame | None = None,
    touches: pl.LazyFrame | None = None,
    *,
    customers: pl.LazyFrame,
    contacts: pl.LazyFrame,
    currency: str = DEFAULT_CURRENCY,
) -> pl.LazyFrame:
    """One row per customer_key in ``customers`` (any frame with that column, such as the record keys), with
    the aggregates (``COLUMNS``) of their fct_ rows up to ``as_of``.

    Inputs are the fct_ marts (fct_orders, fct_tickets, fct_surveys, fct_web_sessions, fct_touches); any may
    be None, and rows of other customers are ignored. ``contacts`` (``CONTACTS_SCHEMA``) lists the customers
    known by a CRM record or an identifier of their own, with when it was first seen (null: always); it decides
    ``kind`` with the orders, tickets and surveys. Counts are zero-filled when their source is given, null when
    the project lacks it. Amounts are labelled ``currency`` (the project's ISO code).
    """
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=dt.UTC)
    # zero-filled where the source exists; a source the project lacks leaves its counts null (no data)
    zero = {
        "orders": ["orders_count", "total_revenue"],
        "tickets": ["tickets_count", "open_tickets"],
        "sessions": ["sessions_count", "compare_pages"],
        "touches": ["touches_total"],
    }
    given = {"orders": orders, "tickets": tickets, "sessions": sessions, "touches": touches}
    counts = [column for source, columns in zero.items() if given[source] is not None for column in columns]
    orders = _or_empty(orders, fct_orders, "orders").filter(pl.col("ordered_at") <= as_of)
    tickets = _or_empty(tickets, fct_tickets, "tickets").filter(pl.col("opened_at") <= as_of)
    surveys = _or_empty(surveys, fct_surveys, "surveys").filter(pl.col("responded_at") <= as_of)
    sessions = _or_empty(sessions, fct_web_sessions, "web_events").filter(pl.col("started_at") <= as_of)
    touches = _or_empty(touches, fct_touches, "touches").filter(pl.col("occurred_at") <= as_of)

    keys = customers.select(pl.col("customer_key").cast(pl.String)).drop_nulls().unique()
    features = [
        _order_features(orders),
        _ticket_features(tickets, as_of),
        _survey_features(surveys),
        _web_features(sessions),
        _touch_features(touches),
    ]
    known = (
        contacts.filter(pl.col("first_seen").is_null() | (pl.col("first_seen") <= as_of))
        .select(pl.col("customer_key").cast(pl.String))
        .unique()
        .with_columns(pl.lit(True).alias("__contact"))
    )
    activity = keys
    for block in [*features, known]:
        activity = activity.join(block, on="customer_key", how="left")
    activity = activity.with_columns(
        pl.col(counts).fill_null(0),
        pl.col("added_to_cart").fill_null(False) if given["sessions"] is not None else pl.col("added_to_cart"),
        # first and last activity over every fact: each block brings its own, so no fact is stacked and
        # grouped a second time
        pl.min_horizontal(_FIRST).alias("first_seen_at"),
        pl.max_horizontal(_LAST).alias("last_seen_at"),
    )
    derived = {"kind": _kind(), "acquisition_channel": _acquisition_channel(), "currency": pl.lit(currency)}
    return activity.select(derived[c].alias(c) if c in derived else pl.col(c) for c in COLUMNS)


def _kind() -> pl.Expr:
    service = pl.col("__first_tickets").is_not_null() | pl.col("__first_surveys").is_not_null()
    return (
        pl.when(pl.col("orders_count") > 0)
        .then(pl.lit(KINDS[0]))
        .when(pl.col("__contact").fill_null(False) | service)
        .then(pl.lit(KINDS[1]))
        .otherwise(pl.lit(KINDS[2]))
    )


def _acquisition_channel() -> pl.Expr:
    first = pl.min_horizontal("__first_touches", "__first_sessions", "__first_orders")
    chosen = pl.lit(None, dtype=pl.String)
    # built from the last choice up, so the first that matches the earliest moment wins a tie
    for fact in ("orders", "sessions", "touches"):
        chosen = pl.when(pl.col(f"__first_{fact}") == first).then(pl.col(f"__acquired_{fact}")).otherwise(chosen)
    return chosen.fill_null(pl.lit(UNKNOWN))


def _order_features(orders: pl.LazyFrame) -> pl.LazyFrame:
    kept = ~pl.col("is_refund")
    return (
        orders.filter(pl.col("customer_key").is_not_null())
        .group_by("customer_key")
        .agg(
            pl.col("ordered_at").filter(kept).min().alias("first_order_at"),
            pl.col("ordered_at").filter(kept).max().alias("last_order_at"),
            kept.sum().cast(pl.Int64).alias("orders_count"),
            pl.col("net_amount").filter(kept).mean().alias("monetary_value"),
            pl.col("net_amount").sum().alias("total_revenue"),
            pl.col("channel").sort_by("ordered_at", "order_id").first().alias("__acquired_orders"),
            *_span("ordered_at", "orders"),
        )
    )


def _ticket_features(tickets: pl.LazyFrame, as_of: dt.datetime) -> pl.LazyFrame:
    # Open as of as_of: not resolved yet at that moment, even if resolved later.
    still_open = pl.col("resolved_at").is_null() | (pl.col("resolved_at") > as_of)
    responded = pl.col("first_response_at") <= as_of
    return (
        tickets.filter(pl.col("customer_key").is_not_null())
        .group_by("customer_key")
        .agg(
            pl.len().cast(pl.Int64).alias("tickets_count"),
            still_open.sum().cast(pl.Int64).alias("open_tickets"),
            pl.col("first_response_hours").filter(responded).median().alias("median_first_response_hours"),
            *_span("opened_at", "tickets"),
        )
    )


def _survey_features(surveys: pl.LazyFrame) -> pl.LazyFrame:
    ordered = surveys.filter(pl.col("customer_key").is_not_null()).sort("responded_at", "response_id")
    return ordered.group_by("customer_key").agg(
        pl.col("score").filter(pl.col("kind") == "csat").last().alias("last_csat"),
        pl.col("nps_class").filter(pl.col("kind") == "nps").last().alias("last_nps_class"),
        *_span("responded_at", "surveys"),
    )


def _web_features(sessions: pl.LazyFrame) -> pl.LazyFrame:
    ordered = sessions.filter(pl.col("customer_key").is_not_null()).sort("started_at", "session_id")
    # Only the referrer's host reaches BI: a raw referrer can hold a user:password@ or an email address.
    has_referrer = pl.col("referrer").str.strip_chars().str.len_chars() > 0
    referral = pl.when(has_referrer).then(pl.coalesce(url_host(pl.col("referrer")), pl.lit("referral")))
    source = pl.coalesce(pl.col("utm_source"), referral, pl.lit("direct"))
    return ordered.group_by("customer_key").agg(
        pl.len().cast(pl.Int64).alias("sessions_count"),
        pl.col("page_views").mean().alias("pages_per_session"),
        pl.col("duration_seconds").sum().alias("time_on_site_seconds"),
        pl.col("ended_at").max().alias("last_visit_at"),
        pl.col("converted").mean().alias("web_conversion_rate"),
        pl.col("compare_pages").sum().cast(pl.Int64).alias("compare_pages"),
        pl.col("added_to_cart").any().alias("added_to_cart"),
        source.first().alias("referral_source"),
        pl.col("channel").first().alias("__acquired_sessions"),
        *_span("started_at", "sessions"),
    )


def _touch_features(touches: pl.LazyFrame) -> pl.LazyFrame:
    keyed = touches.filter(pl.col("customer_key").is_not_null())
    by_channel = (
        keyed.group_by("customer_key", "channel")
        .agg(pl.len().alias("n"))
        .sort("customer_key", "channel", nulls_last=True)
        .group_by("customer_key", maintain_order=True)
        .agg(
            pl.concat_str(pl.col("channel").fill_null("unknown"), pl.lit(":"), pl.col("n"))
            .str.join(", ")
            .alias("touch_channels")
        )
    )
    totals = (
        keyed.sort("occurred_at", "touch_id")
        .group_by("customer_key")
        .agg(
            pl.len().cast(pl.Int64).alias("touches_total"),
            pl.col("channel").last().alias("last_touch_channel"),
            pl.col("channel").first().alias("__acquired_touches"),
            *_span("occurred_at", "touches"),
        )
    )
    return totals.join(by_channel, on="customer_key", how="left")


_FACTS = ("orders", "tickets", "surveys", "sessions", "touches")
_FIRST = [f"__first_{fact}" for fact in _FACTS]
_LAST = [f"__last_{fact}" for fact in _FACTS]


def _span(stamp: str, fact: str) -> list[pl.Expr]:
    """A customer's earliest and latest ``stamp`` in one fact, for first_seen_at and last_seen_at."""
    return [pl.col(stamp).min().alias(f"__first_{fact}"), pl.col(stamp).max().alias(f"__last_{fact}")]
