"""fct_web_sessions: web events cut into sessions by the inactivity rule.

A session is a run of one anonymous_id's events in which no gap between
consecutive events exceeds the timeout (30 minutes, the web-analytics
convention; ``JourneyConfig.session_timeout_minutes``). A gap of exactly the
timeout stays in the session; one microsecond more starts a new one.
"""

from __future__ import annotations

import polars as pl

from cxdata.marts._common import attach_key, canonical, utc_day

# Pages that show a visitor weighing a purchase: product detail, pricing and comparison pages.
COMPARE_PAGE_PATTERN = r"(?i)^/(products?|pricing|prices?|plans|compare|comparison)(/|$|\?)"
# Cart pages; an add_to_cart event counts the same.
CART_PAGE_PATTERN = r"(?i)^/(cart|basket|bag)(/|$|\?)"
CART_EVENT_TYPES = ("add_to_cart",)
PURCHASE_EVENT_TYPES = ("purchase",)
PAGE_VIEW_EVENT_TYPES = ("page_view",)
DIRECT_CHANNEL = "direct"  # no UTM medium and no referrer
REFERRAL_CHANNEL = "referral"  # no UTM medium but a referrer
# The host of a URL with or without its scheme, after any user:password@; a value without a dotted host
# (an app name, free text) has none.
_URL_HOST = r"^\s*(?:[A-Za-z][A-Za-z0-9+.\-]*://|//)?(?:[^/?#@\s]*@)?([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)(?::\d*)?(?:[/?#]|\s*$)"


def page_without_query(page: pl.Expr) -> pl.Expr:
    """A page path without its query string and fragment, where emails, names and tokens travel."""
    return page.str.replace(r"[?#].*$", "")


def url_host(url: pl.Expr) -> pl.Expr:
    """The lower-case host of a URL without a leading "www."; null when it names no host."""
    return url.str.extract(_URL_HOST, 1).str.to_lowercase().str.strip_prefix("www.")


def session_channel(utm_medium: pl.Expr, referrer: pl.Expr) -> pl.Expr:
    """The acquisition channel of a session: its UTM medium, else 'referral' with a referrer, else 'direct'."""
    medium = utm_medium.str.to_lowercase().str.strip_chars()
    has_referrer = referrer.str.strip_chars().str.len_chars() > 0
    return (
        pl.when(medium.str.len_chars() > 0)
        .then(medium)
        .when(has_referrer)
        .then(pl.lit(REFERRAL_CHANNEL))
        .otherwise(pl.lit(DIRECT_CHANNEL))
    )


def fct_web_sessions(
    web_events: pl.LazyFrame, record_keys: pl.LazyFrame, timeout_minutes: int = 30
) -> pl.LazyFrame:
    """One row per web session: who, when, how long, where it landed, where from, and whether it converted.

    ``session_id`` is ``<anonymous_id>-<start in epoch microseconds>``, stable across
    rebuilds as long as the session's first event is unchanged. ``customer_key`` is
    that of the last event in the session that identity resolution placed (a login
    mid-session names the whole session). Landing page, UTM tags and referrer come
    from the session's first event (landing_page: the first non-null page_path);
    ``landing_path`` and ``referrer_host`` are their parts that identify no one
    (the path without query string, the referrer's host), the ones BI roles read.
    ``converted`` is a purchase event in the session; ``compare_pages`` counts page
    views of product/pricing/comparison pages (COMPARE_PAGE_PATTERN);
    ``added_to_cart`` is an add_to_cart event or a cart page; ``is_compare`` is
    either of the last two. ``channel`` is ``session_channel`` of the landing event.
    """
    timeout = pl.duration(minutes=timeout_minutes)
    events = attach_key(canonical(web_events, "web_events"), record_keys, "web_events", "event_id")
    events = events.with_columns(pl.col("event_type").str.to_lowercase().str.strip_chars()).sort(
        "anonymous_id", "occurred_at", "event_id"
    )
    # Sorted, each visitor's events are one run, so a session starts where the visitor changes or the gap
    # to the row before exceeds the timeout, and counting starts numbers every session of the table at once:
    # one integer to group by instead of windows and groups per visitor id.
    gap = pl.col("occurred_at") - pl.col("occurred_at").shift(1)
    same_visitor = pl.col("anonymous_id").eq_missing(pl.col("anonymous_id").shift(1))
    starts = ~same_visitor | gap.is_null() | (gap > timeout)
    events = events.with_columns(starts.cast(pl.Int64).cum_sum().alias("__session"))
    page_view = pl.col("event_type").is_in(PAGE_VIEW_EVENT_TYPES)
    cart = pl.col("event_type").is_in(CART_EVENT_TYPES) | pl.col("page_path").str.contains(CART_PAGE_PATTERN)
    sessions = events.group_by("__session").agg(
        pl.col("anonymous_id").first(),
        pl.col("customer_key").drop_nulls().last().alias("customer_key"),
        pl.col("occurred_at").first().alias("started_at"),
        pl.col("occurred_at").last().alias("ended_at"),
        pl.len().cast(pl.Int64).alias("events"),
        page_view.sum().cast(pl.Int64).alias("page_views"),
        pl.col("page_path").drop_nulls().first().alias("landing_page"),
        pl.col("utm_source").first().alias("utm_source"),
        pl.col("utm_medium").first().alias("utm_medium"),
        pl.col("utm_campaign").first().alias("utm_campaign"),
        pl.col("referrer").first().alias("referrer"),
        pl.col("event_type").is_in(PURCHASE_EVENT_TYPES).any().alias("converted"),
        (page_view & pl.col("page_path").str.contains(COMPARE_PAGE_PATTERN).fill_null(False))
        .sum()
        .cast(pl.Int64)
        .alias("compare_pages"),
        cart.fill_null(False).any().alias("added_to_cart"),
    )
    return sessions.select(
        pl.concat_str(pl.col("anonymous_id"), pl.lit("-"), pl.col("started_at").dt.epoch("us")).alias(
            "session_id"
        ),
        pl.col("anonymous_id").cast(pl.String),
        "customer_key",
        "started_at",
        "ended_at",
        utc_day("started_at").alias("session_date"),
        ((pl.col("ended_at") - pl.col("started_at")).dt.total_microseconds() / 1_000_000).alias(
            "duration_seconds"
        ),
        "events",
        "page_views",
        "landing_page",
        page_without_query(pl.col("landing_page")).alias("landing_path"),
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "referrer",
        url_host(pl.col("referrer")).alias("referrer_host"),
        session_channel(pl.col("utm_medium"), pl.col("referrer")).alias("channel"),
        "converted",
        "compare_pages",
        "added_to_cart",
        ((pl.col("compare_pages") > 0) | pl.col("added_to_cart")).alias("is_compare"),
    )
