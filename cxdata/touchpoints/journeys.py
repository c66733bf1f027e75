"""Customer journeys: the touches (marketing, web, service) each order follows, and the touches that led nowhere.

``touchpoint_events`` turns the fact marts into one stream of labelled touch
events; ``build_journeys`` cuts each customer's stream into journeys that end
in an order (a conversion) or in nothing (a "null" journey), the input of every
attribution model in ``cxdata.touchpoints.attribution``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Literal

import polars as pl

from cxdata.errors import CxdataError
from cxdata.marts.sessions import session_channel, url_host

SOURCES = ("marketing", "web", "service")
TOUCH_KINDS = ("sent", "open", "click", "impression")
# A sent email is delivery, not evidence the customer saw anything; opens, clicks and ad impressions are.
DEFAULT_TOUCH_KINDS = ("impression", "open", "click")
UTC = dt.UTC

EVENT_SCHEMA = pl.Schema(
    {
        "customer_key": pl.String(),
        "occurred_at": pl.Datetime("us", "UTC"),
        "touchpoint": pl.String(),
        "channel": pl.String(),
        "campaign": pl.String(),
        "source": pl.String(),
    }
)
JOURNEY_COLUMNS = (
    "journey_id",
    "customer_key",
    "step",
    "touchpoint",
    "occurred_at",
    "converted",
    "conversions",
    "revenue",
    "clv",
    "order_id",
    "ordered_at",
)
# The label of a referrer that names no host: its raw text can hold an email address or free text.
_UNKNOWN_HOST = "unknown"


def touchpoint_events(
    touches: pl.LazyFrame | None,
    sessions: pl.LazyFrame | None,
    tickets: pl.LazyFrame | None,
    *,
    granularity: Literal["channel", "campaign"] = "campaign",
    kinds: Collection[str] = DEFAULT_TOUCH_KINDS,
    include_direct: bool = False,
) -> pl.LazyFrame:
    """One row per touch event of a known customer, labelled as a touchpoint.

    Columns: customer_key, occurred_at (UTC), touchpoint, channel, campaign
    (nullable) and source ("marketing", "web" or "service"). Events without a
    customer_key are dropped: a journey needs a customer.

    Labels, by source and ``granularity``:

    - marketing (fct_touches of the given ``kinds``; default impression, open and
      click, since a sent email is no evidence of a touch): ``<channel>/<campaign>``
      ("email/newsletter"), ``<channel>`` when the campaign is missing or at
      channel granularity ("email");
    - web (fct_web_sessions, at started_at): ``web:<utm_source>/<utm_medium>``
      (lower case, "(none)" for a missing half) when the landing event has UTM
      tags, else ``web:referral:<referrer host>`` (without "www." and any
      user:password@; "unknown" when the referrer names no host), else
      ``web:direct``; at channel granularity ``web:<session channel>`` (utm
      medium, referral or direct, as fct_web_sessions.channel). Direct sessions
      carry no acquisition information (typed URLs, bookmarks, the order's own
      visit) and are dropped unless ``include_direct``;
    - service (fct_tickets, at opened_at): ``service:<ticket channel>`` (lower
      case, "unknown" when missing) at both granularities.
    """
    if granularity not in ("channel", "campaign"):
        raise CxdataError(f"touchpoint granularity must be 'channel' or 'campaign', got {granularity!r}")
    unknown = sorted(set(kinds) - set(TOUCH_KINDS))
    if unknown:
        raise CxdataError(f"touch kinds {unknown} are not among {list(TOUCH_KINDS)}")
    parts = []
    if touches is not None:
        parts.append(_marketing_events(touches, granularity, kinds))
    if sessions is not None:
        parts.append(_web_events(sessions, granularity, include_direct))
    if tickets is not None:
        parts.append(_service_events(tickets))
    if not parts:
        return pl.LazyFrame(schema=EVENT_SCHEMA)
    return pl.concat(parts, how="vertical")


def build_journeys(
    orders: pl.LazyFrame,
    events: pl.LazyFrame,
    *,
    lookback_days: int = 30,
    as_of: dt.datetime | None = None,
    clv: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """One row per journey step: each kept order's touches in its lookback window, and touches that led nowhere.

    Rules (the window of an order is half-open on the left):

    - orders: refunds (``is_refund``) and orders without customer_key are
      dropped; with ``as_of`` (naive means UTC) orders and events after it are
      ignored. Every remaining order is one converting journey.
    - an event belongs to the customer's first kept order at or after it, when
      that order is at most ``lookback_days`` later: the window of an order is
      (previous kept order, ordered_at] ∩ [ordered_at - lookback, ordered_at],
      so an event at the instant of an order belongs to that order and both
      window edges are inclusive except the previous order's instant.
    - the other events never led to an order within the lookback: a customer's
      run of them, not interrupted by an order and with no gap over
      ``lookback_days``, is one null journey (converted false). Events shortly
      before ``as_of`` whose order would come later are null journeys too: as of
      that moment they have not converted.
    - an order with no event in its window is a journey of length 0: one row with
      touchpoint and occurred_at null and step 0, kept so totals reconcile.

    Columns: journey_id (Int64, numbering journeys by their end: the order, or
    the last lost touch), customer_key, step (0-based by occurred_at; events at
    the same instant keep their input order), touchpoint, occurred_at, converted
    and conversions (1.0 or 0.0), revenue (the order amount, 0 for null
    journeys), clv (the customer's ``clv`` from the ``clv`` frame on the
    customer's first kept order, else 0), order_id and ordered_at (null for null
    journeys). The journey-level columns repeat on each of its rows.
    """
    if lookback_days <= 0:
        raise CxdataError(f"lookback_days must be positive, got {lookback_days!r}")
    _require(orders, "orders", ("customer_key", "order_id", "ordered_at", "amount"))
    _require(events, "events", ("customer_key", "occurred_at", "touchpoint"))
    lookback = pl.lit(dt.timedelta(days=lookback_days))
    kept = _kept_orders(orders, as_of, clv).cache()
    stream = events.filter(pl.col("customer_key").is_not_null() & pl.col("touchpoint").is_not_null()).select(
        pl.col("customer_key").cast(pl.String),
        _utc(events, "occurred_at"),
        pl.col("touchpoint").cast(pl.String),
    )
    if as_of is not None:
        stream = stream.filter(pl.col("occurred_at") <= _as_utc(as_of))

    # the first kept order at or after each event, per customer. Same-instant events are ordered by their
    # customer's and touchpoint's 64-bit hashes, never by input order: a warehouse may hand rows over in another
    # order on every read (PostgreSQL's synchronized scans start a large table's scan mid-table), and journey
    # numbers, paths and draws must not change with it. Numeric keys keep the sort fast with millions of events.
    matched = (
        stream.sort(pl.col("occurred_at"), pl.col("customer_key").hash(), pl.col("touchpoint").hash())
        .join_asof(
            kept.select("customer_key", "__order", "ordered_at"),
            left_on="occurred_at",
            right_on="ordered_at",
            by="customer_key",
            strategy="forward",
            check_sortedness=False,  # both sides are sorted by time (kept by _kept_orders)
        )
        .with_columns(
            (
                pl.col("ordered_at").is_not_null() & (pl.col("occurred_at") >= pl.col("ordered_at") - lookback)
            ).alias("__in")
        )
        .cache()
    )
    # runs of lost events: same customer, same next order, no gap over the lookback. A stable sort on the key's
    # 64-bit hash (much faster than on the string) keeps each customer's events in time order; two customers
    # sharing a hash could only split a run, never merge customers.
    lost = matched.filter(~pl.col("__in")).sort(pl.col("customer_key").hash(), maintain_order=True)
    continues = (
        (pl.col("customer_key") == pl.col("customer_key").shift(1))
        & pl.col("__order").eq_missing(pl.col("__order").shift(1))
        & (pl.col("occurred_at") - pl.col("occurred_at").shift(1) <= lookback)
    )
    lost = lost.with_columns((~continues.fill_null(False)).cast(pl.Int64).cum_sum().alias("__chunk")).cache()

    level = ["journey_id", "customer_key", "converted", "revenue", "clv", "order_id", "ordered_at"]
    ends = pl.concat(
        [
            kept.select(
                "customer_key",
                pl.col("ordered_at").alias("__end"),
                "order_id",
                "__order",
                pl.lit(None, dtype=pl.Int64).alias("__chunk"),
                pl.lit(True).alias("converted"),
                "revenue",
                "clv",
                "ordered_at",
            ),
            lost.group_by("__chunk", maintain_order=True).agg(
                pl.col("customer_key").first(),
                pl.col("occurred_at").max().alias("__end"),
                pl.lit(None, dtype=pl.String).alias("order_id"),
                pl.lit(False).alias("converted"),
                pl.lit(0.0).alias("revenue"),
                pl.lit(0.0).alias("clv"),
                pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("ordered_at"),
            ),
        ],
        how="diagonal",
    )
    # journeys are numbered by their end (the order, or the last lost touch)
    ends = ends.sort("__end", maintain_order=True).with_row_index("journey_id")
    ends = ends.with_columns(pl.col("journey_id").cast(pl.Int64)).cache()
    converting = ends.filter(pl.col("converted"))
    touched = matched.filter(pl.col("__in")).select("__order", "occurred_at", "touchpoint")
    steps = pl.concat(
        [
            touched.join(converting.select("__order", *level), on="__order", how="left", maintain_order="left"),
            lost.select("__chunk", "occurred_at", "touchpoint").join(
                ends.filter(~pl.col("converted")).select("__chunk", *level), on="__chunk", maintain_order="left"
            ),
            # an order without touches is one row with a null touchpoint, so totals reconcile
            converting.join(touched.select("__order").unique(), on="__order", how="anti").select(level),
        ],
        how="diagonal_relaxed",
    ).sort("journey_id", maintain_order=True)
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    first_row = pl.when(pl.col("journey_id") != pl.col("journey_id").shift(1).fill_null(-1)).then(row)
    return steps.select(
        "journey_id",
        "customer_key",
        (row - first_row.forward_fill()).alias("step"),
        "touchpoint",
        "occurred_at",
        "converted",
        pl.col("converted").cast(pl.Float64).alias("conversions"),
        "revenue",
        "clv",
        "order_id",
        "ordered_at",
    )


def _kept_orders(orders: pl.LazyFrame, as_of: dt.datetime | None, clv: pl.LazyFrame | None) -> pl.LazyFrame:
    """Non-refund orders of known customers up to as_of, with revenue and the clv carried by first orders."""
    kept = orders.filter(pl.col("customer_key").is_not_null())
    if "is_refund" in orders.collect_schema().names():
        kept = kept.filter(~pl.col("is_refund").fill_null(False))
    kept = kept.select(
        pl.col("customer_key").cast(pl.String),
        pl.col("order_id").cast(pl.String),
        _utc(orders, "ordered_at"),
        pl.col("amount").cast(pl.Float64).fill_null(0.0).alias("revenue"),
    )
    if as_of is not None:
        kept = kept.filter(pl.col("ordered_at") <= _as_utc(as_of))
    # same-instant orders are ordered by the hashes of their customer and id, not by input order (see
    # build_journeys); numeric tie-breaks, as a string tie-break is slow
    kept = kept.sort(pl.col("ordered_at"), pl.col("customer_key").hash(), pl.col("order_id").hash()).with_columns(
        pl.col("customer_key").is_first_distinct().alias("__first"), pl.int_range(pl.len()).alias("__order")
    )
    if clv is None:
        return kept.with_columns(pl.lit(0.0).alias("clv"))
    _require(clv, "clv", ("customer_key", "clv"))
    scores = clv.select(pl.col("customer_key").cast(pl.String), pl.col("clv").cast(pl.Float64).alias("__clv"))
    scores = scores.unique("customer_key", keep="first")
    return (
        kept.join(scores, on="customer_key", how="left", maintain_order="left")
        .with_columns(pl.when(pl.col("__first")).then(pl.col("__clv").fill_null(0.0)).otherwise(0.0).alias("clv"))
        .drop("__clv")
    )


def _marketing_events(touches: pl.LazyFrame, granularity: str, kinds: Collection[str]) -> pl.LazyFrame:
    _require(touches, "touches", ("customer_key", "occurred_at", "channel", "kind"))
    touches = _with_optional(touches, ("campaign",))
    channel = pl.col("channel").cast(pl.String).str.strip_chars()
    campaign = _blank_to_null(pl.col("campaign").cast(pl.String).str.strip_chars())
    label = channel if granularity == "channel" else pl.concat_str(channel, pl.lit("/"), campaign)
    return touches.filter(
        pl.col("customer_key").is_not_null()
        & pl.col("kind").cast(pl.String).str.to_lowercase().str.strip_chars().is_in(list(kinds))
        & (channel.str.len_chars() > 0)
    ).select(
        pl.col("customer_key").cast(pl.String),
        _utc(touches, "occurred_at"),
        pl.coalesce(label, channel).alias("touchpoint"),
        channel.alias("channel"),
        campaign.alias("campaign"),
        pl.lit("marketing").alias("source"),
    )


def _web_events(sessions: pl.LazyFrame, granularity: str, include_direct: bool) -> pl.LazyFrame:
    _require(sessions, "sessions", ("customer_key", "started_at"))
    sessions = _with_optional(sessions, ("utm_source", "utm_medium", "utm_campaign", "referrer"))
    source = _blank_to_null(pl.col("utm_source").cast(pl.String).str.to_lowercase().str.strip_chars())
    medium = _blank_to_null(pl.col("utm_medium").cast(pl.String).str.to_lowercase().str.strip_chars())
    referrer = _blank_to_null(pl.col("referrer").cast(pl.String).str.strip_chars())
    host = pl.when(referrer.is_not_null()).then(pl.coalesce(url_host(referrer), pl.lit(_UNKNOWN_HOST)))
    channel = session_channel(pl.col("utm_medium").cast(pl.String), pl.col("referrer").cast(pl.String))
    tagged = source.is_not_null() | medium.is_not_null()
    if granularity == "channel":
        label = pl.concat_str(pl.lit("web:"), channel)
    else:
        label = (
            pl.when(tagged)
            .then(
                pl.concat_str(pl.lit("web:"), source.fill_null("(none)"), pl.lit("/"), medium.fill_null("(none)"))
            )
            .when(host.is_not_null())
            .then(pl.concat_str(pl.lit("web:referral:"), host))
            .otherwise(pl.lit("web:direct"))
        )
    keep = pl.col("customer_key").is_not_null()
    if not include_direct:
        keep = keep & (tagged | host.is_not_null())
    return sessions.filter(keep).select(
        pl.col("customer_key").cast(pl.String),
        _utc(sessions, "started_at").alias("occurred_at"),
        label.alias("touchpoint"),
        channel.alias("channel"),
        _blank_to_null(pl.col("utm_campaign").cast(pl.String).str.strip_chars()).alias("campaign"),
        pl.lit("web").alias("source"),
    )


def _service_events(tickets: pl.LazyFrame) -> pl.LazyFrame:
    _require(tickets, "tickets", ("customer_key", "opened_at", "channel"))
    channel = _blank_to_null(pl.col("channel").cast(pl.String).str.to_lowercase().str.strip_chars())
    return tickets.filter(pl.col("customer_key").is_not_null()).select(
        pl.col("customer_key").cast(pl.String),
        _utc(tickets, "opened_at").alias("occurred_at"),
        pl.concat_str(pl.lit("service:"), channel.fill_null("unknown")).alias("touchpoint"),
        channel.alias("channel"),
        pl.lit(None, dtype=pl.String).alias("campaign"),
        pl.lit("service").alias("source"),
    )


def _require(frame: pl.LazyFrame, name: str, columns: Collection[str]) -> None:
    present = frame.collect_schema().names()
    missing = [c for c in columns if c not in present]
    if missing:
        raise CxdataError(f"{name}: missing column(s) {missing}; the frame has {present}")


def _with_optional(frame: pl.LazyFrame, columns: Collection[str]) -> pl.LazyFrame:
    present = frame.collect_schema().names()
    missing = [pl.lit(None, dtype=pl.String).alias(c) for c in columns if c not in present]
    return frame.with_columns(missing) if missing else frame


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.str.len_chars() > 0).then(expr)


def _utc(frame: pl.LazyFrame, column: str) -> pl.Expr:
    """The timestamp column as Datetime(us, UTC): naive values are read as UTC."""
    dtype = frame.collect_schema()[column]
    if not isinstance(dtype, pl.Datetime):
        raise CxdataError(f"column {column} must be a timestamp, got {dtype}")
    expr = pl.col(column).cast(pl.Datetime("us", dtype.time_zone))
    expr = expr.dt.replace_time_zone("UTC") if dtype.time_zone is None else expr.dt.convert_time_zone("UTC")
    return expr.alias(column)


def _as_utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
