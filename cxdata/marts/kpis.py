"""cx_kpis_daily: customer-experience KPIs by UTC day and channel.

The channel dimension is the natural channel of each metric's own records, so a
row mixes sources only in the ``all`` rows:

- survey metrics (CSAT, NPS, CES): the service channel of the ticket the survey
  followed (fct_surveys.channel), ``none`` for surveys not tied to a ticket;
- ticket metrics (tickets, first response, resolution): the ticket channel;
- web metrics (sessions, conversion, referral share): the session channel
  (UTM medium, else ``referral`` with a referrer, else ``direct``);
- order metrics (orders, revenue, new/repeat customers): the order channel,
  ``unknown`` when the source has none.

Every day also gets a ``channel = 'all'`` row over every record of the day. A
metric is null where no record of its source falls on that day and channel, and
everywhere when its input is None.
"""

from __future__ import annotations

import polars as pl

from cxdata.marts._common import empty, empty_keys
from cxdata.marts.facts import fct_orders, fct_surveys, fct_tickets
from cxdata.marts.sessions import REFERRAL_CHANNEL, fct_web_sessions

ALL_CHANNELS = "all"
NO_TICKET_CHANNEL = "none"
UNKNOWN_CHANNEL = "unknown"
KEYS = ("date", "channel")


def _by_day_and_all(frame: pl.LazyFrame, date: str, channel: pl.Expr, metrics: list[pl.Expr]) -> pl.LazyFrame:
    """Aggregate ``metrics`` per (day, channel) and per (day, 'all'), stacked."""
    keyed = frame.with_columns(pl.col(date).alias("date"), channel.cast(pl.String).alias("channel"))
    per_channel = keyed.group_by(KEYS).agg(metrics)
    overall = keyed.with_columns(pl.lit(ALL_CHANNELS).alias("channel")).group_by(KEYS).agg(metrics)
    return pl.concat([per_channel, overall])


def _share(condition: pl.Expr, among: pl.Expr) -> pl.Expr:
    """Share (0..1) of rows matching ``among`` where ``condition`` holds; null when none match."""
    n = among.sum()
    return pl.when(n > 0).then((condition & among).sum() / n)


def _survey_kpis(surveys: pl.LazyFrame) -> pl.LazyFrame:
    csat, nps, ces = (pl.col("kind") == k for k in ("csat", "nps", "ces"))
    metrics = [
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
    channel = pl.col("channel").fill_null(NO_TICKET_CHANNEL)
    return _by_day_and_all(surveys, "responded_date", channel, metrics)


def _ticket_kpis(tickets: pl.LazyFrame) -> pl.LazyFrame:
    metrics = [
        pl.len().cast(pl.Int64).alias("tickets_opened"),
        pl.col("first_response_hours").median().alias("median_first_response_hours"),
        pl.col("resolution_hours").median().alias("median_resolution_hours"),
    ]
    return _by_day_and_all(tickets, "opened_date", pl.col("channel").fill_null(UNKNOWN_CHANNEL), metrics)


def _session_kpis(sessions: pl.LazyFrame) -> pl.LazyFrame:
    metrics = [
        pl.len().cast(pl.Int64).alias("sessions"),
        pl.col("converted").sum().cast(pl.Int64).alias("converted_sessions"),
        pl.col("converted").mean().alias("conversion_rate"),
        pl.col("__referral").mean().alias("referral_share"),
    ]
    # Flag referral sessions before the 'all' rows overwrite the channel column.
    flagged = sessions.with_columns((pl.col("channel") == REFERRAL_CHANNEL).alias("__referral"))
    return _by_day_and_all(flagged, "session_date", pl.col("channel"), metrics)


def _order_kpis(orders: pl.LazyFrame) -> pl.LazyFrame:
    kept = ~pl.col("is_refund")
    # New: first order that day. Repeat: every other distinct customer with a kept order that day, so a
    # customer whose first and second orders fall on one day counts as new, not repeat.
    metrics = [
        kept.sum().cast(pl.Int64).alias("orders"),
        pl.col("net_amount").sum().alias("revenue"),
        pl.col("customer_key").filter(pl.col("is_first_order").fill_null(False)).n_unique().alias("__new"),
        pl.col("customer_key").filter(kept & pl.col("customer_key").is_not_null()).n_unique().alias("__buyers"),
    ]
    daily = _by_day_and_all(orders, "order_date", pl.col("channel").fill_null(UNKNOWN_CHANNEL), metrics)
    return daily.select(
        *KEYS,
        "orders",
        "revenue",
        pl.col("__new").cast(pl.Int64).alias("new_customers"),
        (pl.col("__buyers") - pl.col("__new")).cast(pl.Int64).alias("repeat_customers"),
        pl.when(pl.col("__buyers") > 0).then(1 - pl.col("__new") / pl.col("__buyers")).alias("repeat_rate"),
    )


COLUMNS = (
    "date",
    "channel",
    "csat_responses",
    "csat",
    "nps_responses",
    "nps",
    "ces_responses",
    "ces_mean",
    "tickets_opened",
    "median_first_response_hours",
    "median_resolution_hours",
    "sessions",
    "converted_sessions",
    "conversion_rate",
    "orders",
    "revenue",
    "new_customers",
    "repeat_customers",
    "repeat_rate",
    "referral_share",
)


def cx_kpis_daily(
    orders: pl.LazyFrame | None = None,
    tickets: pl.LazyFrame | None = None,
    surveys: pl.LazyFrame | None = None,
    sessions: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Daily KPIs by channel from the fct_ marts (any input may be None).

    CSAT: share (0..1) of CSAT answers scoring 4 or 5. NPS: % promoters − %
    detractors of NPS answers, in points (−100..100). CES: mean CES answer (1..7).
    Median first-response and resolution hours of tickets opened that day.
    Conversion rate: share of sessions with a purchase. Orders: non-refund orders;
    revenue: sum of net_amount (refunds subtract). New customers: distinct
    customers placing their first order; repeat customers: other distinct
    customers ordering; repeat_rate = repeat / all ordering customers (0..1).
    Referral share: share of sessions arriving by referral. Channels per metric:
    see the module docstring.
    """
    blocks = [
        _survey_kpis(surveys if surveys is not None else fct_surveys(empty("surveys"), empty_keys())),
        _ticket_kpis(tickets if tickets is not None else fct_tickets(empty("tickets"), empty_keys())),
        _session_kpis(sessions if sessions is not None else fct_web_sessions(empty("web_events"), empty_keys())),
        _order_kpis(orders if orders is not None else fct_orders(empty("orders"), empty_keys())),
    ]
    kpis = blocks[0]
    for block in blocks[1:]:
        kpis = kpis.join(block, on=KEYS, how="full", coalesce=True)
    return kpis.select(COLUMNS).sort("date", "channel")
