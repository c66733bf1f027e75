"""Churn features of every customer as of a cutoff: one builder for training and scoring.

Every input is filtered to event time at or before the cutoff (orders by
ordered_at, tickets by opened_at, surveys by responded_at, sessions by
started_at, touches by occurred_at), and any value that only becomes known
later is censored at the cutoff: a ticket first answered after the cutoff
counts as unanswered (its wait so far is the hours from opening to the
cutoff), a ticket resolved after it counts as open. So mutating or adding
rows after the cutoff cannot change a feature (tests/churn/test_leakage.py).

The customers are those with a kept order at or before the cutoff, as for CLV.
Frames are lazy; the RFM summary is collected once to fit the BTYD model (a
fit needs data) and the features are collected once at the end.

Features (days are days before the cutoff, h is the churn horizon):
- orders: n_orders, frequency (repeat purchase days), tenure_days (since the
  first order), days_since_last_order, total_spend, mean_order_value,
  orders_recent / spend_recent (within h), mean_gap_days, last_gap_days;
- BTYD fitted on orders up to the cutoff only: p_alive, expected_purchases
  (over h) and btyd_p_no_purchase (see `BtydModel.p_no_purchase`), also the baseline;
  btyd_p_no_purchase_if_alive, and btyd_p_no_purchase_seen: the alive customer's
  figure for those seen after their last order (a web session, a click or an
  ad impression: signs of life that only the unified view has), else BTYD's with
  P(alive) lowered by the silence since, as far as the customer's signs of life
  are tracked at all (see `_with_signs_of_life`);
- service: tickets, tickets_recent, open_tickets, unanswered_tickets,
  median_ / max_ / last_first_response_hours (censored at the cutoff),
  days_since_last_ticket, ticket_since_last_order (1 when the latest ticket
  came after the latest order), last_csat, min_csat, last_nps_class (promoter 1,
  passive 0, detractor -1);
- web: sessions, sessions_recent, days_since_last_visit, page_views,
  conversion_rate, sessions_since_last_order;
- marketing: touches_<channel> and touches_<channel>_since_last_order per
  channel, clicks, touches_recent, days_since_last_touch, engagements (opens
  and clicks), engagements_recent, days_since_last_engagement,
  contacts_seen_since_last_order (clicks and impressions after the last order).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from cxdata.clv.btyd import BtydModel, fit_first
from cxdata.clv.rfm import rfm_summary
from cxdata.config import ChurnConfig

HISTORY = ("frequency", "recency", "T")
RFM_FEATURES = ["n_orders", "frequency", "tenure_days", "days_since_last_order", "mean_order_value", "total_spend"]
NPS_CLASS = {"promoter": 1.0, "passive": 0.0, "detractor": -1.0}


@dataclass(frozen=True)
class ChurnInputs:
    """The fact tables, lazy, with the columns the builder reads (UTC timestamps); all but orders optional.

    orders: customer_key, ordered_at, amount (kept orders only); tickets: customer_key, opened_at,
    first_response_at, resolved_at; surveys: customer_key, responded_at, kind, score, nps_class;
    sessions: customer_key, started_at, page_views, converted; touches: customer_key, occurred_at,
    channel, kind.
    """

    orders: pl.LazyFrame
    tickets: pl.LazyFrame | None = None
    surveys: pl.LazyFrame | None = None
    sessions: pl.LazyFrame | None = None
    touches: pl.LazyFrame | None = None


def fit_btyd(rfm: pl.DataFrame, config: ChurnConfig) -> BtydModel | None:
    """The BTYD model of ``config`` at the first penalizer that converges; None when none does.

    Four population parameters are well estimated from ``btyd_fit_customers`` customers: beyond that a
    seeded sample (of the customer-sorted summary, so it is reproducible) is fitted, and the model then
    predicts for everybody.
    """
    if rfm.height > config.btyd_fit_customers:
        # a sample picks rows by position: sorted first, so any order of the summary (a group_by's, or shards'
        # partials in the order they finished) fits the same customers
        rfm = rfm.sort("customer_key").sample(config.btyd_fit_customers, seed=config.seed)
    return fit_first(config.btyd_model, rfm, config.penalizers, seed=config.seed)


def _btyd_columns(rfm: pl.DataFrame, model: BtydModel | None, horizon_days: int) -> pl.DataFrame:
    rows = rfm.select(HISTORY).unique()
    if model is None:
        nulls = [
            pl.lit(None, pl.Float64).alias(c)
            for c in ("p_alive", "expected_purchases", "btyd_p_no_purchase", "btyd_p_no_purchase_if_alive")
        ]
        return rfm.join(rows.with_columns(nulls), on=list(HISTORY), how="left")
    f, r, t = (rows[c].to_numpy() for c in HISTORY)
    rows = rows.with_columns(
        pl.Series("p_alive", np.clip(model.p_alive(f, r, t), 0.0, 1.0)),
        pl.Series("expected_purchases", model.expected_purchases(horizon_days, f, r, t)),
        pl.Series("btyd_p_no_purchase", model.p_no_purchase(f, r, t, horizon_days)),
        pl.Series("btyd_p_no_purchase_if_alive", model.p_no_purchase_if_alive(f, t, horizon_days)),
    )
    return rfm.join(rows, on=list(HISTORY), how="left")


def _days_before(column: str, cutoff: dt.datetime) -> pl.Expr:
    return (pl.lit(cutoff) - pl.col(column)).dt.total_seconds() / 86_400.0


def _order_features(orders: pl.LazyFrame, cutoff: dt.datetime, horizon: int) -> pl.LazyFrame:
    days = _days_before("ordered_at", cutoff)
    gaps = pl.col("ordered_at").sort().diff().dt.total_seconds() / 86_400.0
    return (
        orders.with_columns(days.alias("_days"))
        .group_by("customer_key")
        .agg(
            pl.len().cast(pl.Float64).alias("n_orders"),
            pl.col("_days").max().alias("tenure_days"),
            pl.col("_days").min().alias("days_since_last_order"),
            pl.col("amount").sum().alias("total_spend"),
            pl.col("amount").mean().alias("mean_order_value"),
            (pl.col("_days") <= horizon).sum().cast(pl.Float64).alias("orders_recent"),
            pl.col("amount").filter(pl.col("_days") <= horizon).sum().alias("spend_recent"),
            gaps.mean().alias("mean_gap_days"),
            gaps.last().alias("last_gap_days"),
        )
    )


def _ticket_features(tickets: pl.LazyFrame, cutoff: dt.datetime, horizon: int) -> pl.LazyFrame:
    cut = pl.lit(cutoff)
    answered = pl.col("first_response_at").is_not_null() & (pl.col("first_response_at") <= cut)
    # the wait is known only up to the cutoff: a later answer counts as the wait so far
    waited = pl.when(answered).then(pl.col("first_response_at")).otherwise(cut) - pl.col("opened_at")
    waited_hours = waited.dt.total_seconds() / 3600.0
    return (
        tickets.with_columns(waited_hours.alias("_wait"), _days_before("opened_at", cutoff).alias("_days"))
        .group_by("customer_key")
        .agg(
            pl.len().cast(pl.Float64).alias("tickets"),
            (pl.col("_days") <= horizon).sum().cast(pl.Float64).alias("tickets_recent"),
            (pl.col("resolved_at").is_null() | (pl.col("resolved_at") > cut))
            .sum()
            .cast(pl.Float64)
            .alias("open_tickets"),
            (~answered).sum().cast(pl.Float64).alias("unanswered_tickets"),
            pl.col("_wait").median().alias("median_first_response_hours"),
            pl.col("_wait").max().alias("max_first_response_hours"),
            pl.col("_days").min().alias("days_since_last_ticket"),
            # the dropout decision follows a purchase, so the service of the latest ticket matters most
            pl.col("_wait").sort_by("opened_at").last().alias("last_first_response_hours"),
        )
    )


def _survey_features(surveys: pl.LazyFrame) -> pl.LazyFrame:
    # group_by keeps each group's rows in frame order, so "last" is the latest answer after this sort
    csat = pl.col("score").filter(pl.col("kind") == "csat")
    nps = pl.col("nps_class").replace_strict(NPS_CLASS, default=None, return_dtype=pl.Float64)
    return (
        surveys.sort("responded_at", "kind", "score")
        .group_by("customer_key")
        .agg(
            csat.last().cast(pl.Float64).alias("last_csat"),
            csat.min().cast(pl.Float64).alias("min_csat"),
            nps.filter(pl.col("kind") == "nps").last().alias("last_nps_class"),
        )
    )


def _web_features(sessions: pl.LazyFrame, last: pl.LazyFrame, cutoff: dt.datetime, horizon: int) -> pl.LazyFrame:
    days = _days_before("started_at", cutoff)
    return (
        sessions.with_columns(days.alias("_days"))
        .join(last, on="customer_key", how="left")
        .group_by("customer_key")
        .agg(
            pl.len().cast(pl.Float64).alias("sessions"),
            (pl.col("_days") <= horizon).sum().cast(pl.Float64).alias("sessions_recent"),
            pl.col("_days").min().alias("days_since_last_visit"),
            pl.col("page_views").sum().cast(pl.Float64).alias("page_views"),
            pl.col("converted").cast(pl.Float64).mean().alias("conversion_rate"),
            (pl.col("_days") < pl.col("_last_order")).sum().cast(pl.Float64).alias("sessions_since_last_order"),
            _between_orders(pl.lit(True)).alias("_signs_between_web"),
        )
    )


def _between_orders(sign: pl.Expr) -> pl.Expr:
    """How many ``sign`` rows fall after the first order and at or before the last (days before the cutoff)."""
    between = (pl.col("_days") < pl.col("_first_order")) & (pl.col("_days") >= pl.col("_last_order"))
    return (sign & between).sum().cast(pl.Float64)


def touch_column(channel: str) -> str:
    """The feature name of a marketing channel's touch count: touches_<channel as a lower-case identifier>."""
    return "touches_" + (re.sub(r"[^a-z0-9]+", "_", channel.lower()).strip("_") or "unknown")


def _touch_features(
    touches: pl.LazyFrame, last: pl.LazyFrame, channels: list[str], cutoff: dt.datetime, horizon: int
) -> pl.LazyFrame:
    per_channel = [(pl.col("channel") == c).sum().cast(pl.Float64).alias(touch_column(c)) for c in channels]
    # a contact after the last order is a sign of life that no purchase history shows (an opened mail,
    # a retention send that only reaches active customers); per channel, since they differ in how much
    after = pl.col("_days") < pl.col("_last_order")
    since = [
        ((pl.col("channel") == c) & after).sum().cast(pl.Float64).alias(touch_column(c) + "_since_last_order")
        for c in channels
    ]
    engaged = pl.col("kind").is_in(["open", "click"])
    # signs of life: what needs the person there (a click, an ad shown while browsing); a send does not,
    # and neither does an open, which mail clients that prefetch images report for nobody reading
    seen = ~pl.col("kind").is_in(["sent", "open"])
    return (
        touches.with_columns(_days_before("occurred_at", cutoff).alias("_days"))
        .join(last, on="customer_key", how="left")
        .group_by("customer_key")
        .agg(
            *per_channel,
            *since,
            (pl.col("kind") == "click").sum().cast(pl.Float64).alias("clicks"),
            (pl.col("_days") <= horizon).sum().cast(pl.Float64).alias("touches_recent"),
            pl.col("_days").min().alias("days_since_last_touch"),
            engaged.sum().cast(pl.Float64).alias("engagements"),
            (engaged & (pl.col("_days") <= horizon)).sum().cast(pl.Float64).alias("engagements_recent"),
            pl.col("_days").filter(engaged).min().alias("days_since_last_engagement"),
            (seen & after).sum().cast(pl.Float64).alias("contacts_seen_since_last_order"),
            seen.sum().cast(pl.Float64).alias("_signs_touch"),
            _between_orders(seen).alias("_signs_between_touch"),
        )
    )


def touch_channels(touches: pl.LazyFrame | None, until: dt.datetime) -> list[str]:
    """The marketing channels seen up to ``until``, sorted: fix them once so every cutoff has the same columns."""
    if touches is None:
        return []
    seen = touches.filter(pl.col("occurred_at") <= pl.lit(until)).select(pl.col("channel").drop_nulls().unique())
    return sorted(seen.collect()["channel"].to_list())


@dataclass(frozen=True)
class Population:
    """What the features of one customer take from all customers at a cutoff: the BTYD model fitted on their
    RFM summary and the signs-of-life rate and tracked share (`_with_signs_of_life`). Given to
    `build_features`, it makes each customer's row independent of who else is in ``inputs`` (a shard)."""

    btyd: BtydModel | None
    rate: float | None = None
    share: float | None = None


def population(
    inputs: ChurnInputs, cutoff: dt.datetime, config: ChurnConfig, channels: list[str] | None = None
) -> Population:
    """The `Population` of the customers of ``inputs`` at ``cutoff``, as `build_features` computes it."""
    found, model = _features(inputs, cutoff, config, channels, None, stats=True)
    if "_rate" not in found.columns or found.height == 0 or found["_rate"][0] is None:
        return Population(model)
    return Population(model, float(found["_rate"][0]), float(found["_share"][0]))


def build_features(
    inputs: ChurnInputs,
    cutoff: dt.datetime,
    config: ChurnConfig,
    channels: list[str] | None = None,
    population: Population | None = None,
) -> pl.DataFrame:
    """One row per customer with a kept order at or before ``cutoff``: customer_key, cutoff and the features.

    ``channels`` fixes the touch columns (default: `touch_channels` up to the cutoff). Counts of
    absent activity are 0; values that do not exist (no ticket, no survey) stay null. ``population``
    (`population` of all customers) replaces what would otherwise be fitted on the customers of ``inputs``.
    """
    return _features(inputs, cutoff, config, channels, population)[0]


def _features(
    inputs: ChurnInputs,
    cutoff: dt.datetime,
    config: ChurnConfig,
    channels: list[str] | None,
    given: Population | None,
    stats: bool = False,
) -> tuple[pl.DataFrame, BtydModel | None]:
    horizon = config.horizon_days
    cut = pl.lit(cutoff)

    def until(frame: pl.LazyFrame | None, column: str) -> pl.LazyFrame | None:
        if frame is None:
            return None
        return frame.filter(pl.col("customer_key").is_not_null() & (pl.col(column) <= cut))

    orders = until(inputs.orders, "ordered_at")
    rfm = rfm_summary(orders, cutoff, "D").collect()
    model = given.btyd if given is not None else (fit_btyd(rfm, config) if rfm.height else None)
    btyd = _btyd_columns(rfm, model, horizon)
    base = btyd.lazy().select(
        "customer_key", "frequency", "p_alive", "expected_purchases", "btyd_p_no_purchase",
        "btyd_p_no_purchase_if_alive",
    )  # fmt: skip
    parts = [_order_features(orders, cutoff, horizon)]
    last = orders.group_by("customer_key").agg(
        _days_before("ordered_at", cutoff).min().alias("_last_order"),
        _days_before("ordered_at", cutoff).max().alias("_first_order"),
    )
    tickets, surveys = until(inputs.tickets, "opened_at"), until(inputs.surveys, "responded_at")
    if tickets is not None:
        parts.append(_ticket_features(tickets, cutoff, horizon))
    if surveys is not None:
        parts.append(_survey_features(surveys))
    sessions = until(inputs.sessions, "started_at")
    if sessions is not None:
        parts.append(_web_features(sessions, last, cutoff, horizon))
    touches = until(inputs.touches, "occurred_at")
    if touches is not None:
        parts.append(
            _touch_features(
                touches, last, touch_channels(touches, cutoff) if channels is None else channels, cutoff, horizon
            )
        )
    frame = base
    for part in parts:
        frame = frame.join(part, on="customer_key", how="left")
    names = frame.collect_schema().names()
    if tickets is not None:
        # a ticket since the last order: service after the purchase that decides whether they come back
        since = (pl.col("days_since_last_ticket") <= pl.col("days_since_last_order")).fill_null(False)
        frame = frame.with_columns(since.cast(pl.Float64).alias("ticket_since_last_order"))
    seen = [c for c in ("sessions_since_last_order", "contacts_seen_since_last_order") if c in names]
    if seen:
        frame = _with_signs_of_life(frame, seen, names, given, stats)
    counts = [
        "tickets", "tickets_recent", "open_tickets", "unanswered_tickets", "sessions", "sessions_recent",
        "page_views", "clicks", "touches_recent", "engagements", "engagements_recent",
        "sessions_since_last_order", "contacts_seen_since_last_order",
    ]  # fmt: skip
    names = frame.collect_schema().names()
    zero = [c for c in names if c in counts or c.startswith("touches_")]
    if stats:  # `population`: the model and the rate and share, not the features
        kept = [pl.col(c).first() for c in ("_rate", "_share") if c in names]
        return (frame.select(kept).collect() if kept else pl.DataFrame()), model
    frame = (
        frame.drop([c for c in names if c.startswith("_signs")])
        .with_columns(pl.col(zero).fill_null(0.0), cut.alias("cutoff"))
        .with_columns(pl.col(pl.Float32, pl.Float64).fill_nan(None))
        .sort("customer_key")
        .collect()
    )
    return frame, model


def _with_signs_of_life(
    frame: pl.LazyFrame, seen: list[str], names: list[str], given: Population | None, stats: bool
) -> pl.LazyFrame:
    """btyd_p_no_purchase_seen: BTYD's P(no purchase) updated by the signs of life after the last order.

    Under (M)BG/NBD a customer drops out only at a purchase, so one seen after the last order (a visit, a
    click, an ad shown) is alive now. One not seen is less likely alive the longer the silence, if the
    customer is one whose signs of life are tracked at all: a dead customer shows none, an alive tracked one
    shows them at rate b a day. b is the signs of life between first and last order (when every buyer is
    alive) per day of that span, over customers with any sign; the tracked share is the share with any sign
    over its expected value; a customer without any sign is tracked with the posterior probability of such
    a silence. Fitted on the cutoff's own customers, so nothing after the cutoff is read; ``given`` carries
    them fitted on all customers, ``stats`` keeps them as columns _rate and _share.
    """
    signs = [c for c in ("sessions", "_signs_touch") if c in names]
    between = [c for c in ("_signs_between_web", "_signs_between_touch") if c in names]
    span = pl.col("tenure_days") - pl.col("days_since_last_order")
    counted = frame.with_columns(
        pl.sum_horizontal(pl.col(seen).fill_null(0.0)).alias("_seen"),
        pl.sum_horizontal(pl.col(signs).fill_null(0.0)).alias("_signs"),
        pl.sum_horizontal(pl.col(between).fill_null(0.0)).alias("_between"),
        span.alias("_span"),
    )
    tracked = pl.col("_signs") > 0
    rate = (pl.col("_between").filter(tracked).sum() / pl.col("_span").filter(tracked).sum()).fill_nan(0.0)
    silent_span = (-rate * pl.col("_span")).exp()  # P(no sign between first and last order | tracked)
    share = (tracked.mean() / (1 - silent_span).mean()).clip(0.0, 1.0).fill_nan(0.0)
    if given is not None and given.rate is not None:
        rate, share = pl.lit(given.rate), pl.lit(given.share)
        silent_span = (-rate * pl.col("_span")).exp()
    silent_tracked = share * silent_span
    maybe = pl.when(tracked).then(1.0).otherwise(silent_tracked / (silent_tracked + 1 - share))
    quiet_if_alive = maybe * (-rate * pl.col("days_since_last_order")).exp() + 1 - maybe
    odds = pl.col("p_alive") / (1 - pl.col("p_alive")).clip(lower_bound=1e-12) * quiet_if_alive
    updated = (
        pl.when(pl.col("_seen") > 0)
        .then(pl.col("btyd_p_no_purchase_if_alive"))
        .when(quiet_if_alive >= 1)  # nothing learnt: BTYD's own figure, to the last bit
        .then(pl.col("btyd_p_no_purchase"))
        .otherwise(1 - (odds / (1 + odds)).fill_nan(None) * (1 - pl.col("btyd_p_no_purchase_if_alive")))
    )
    kept = [rate.alias("_rate"), share.alias("_share")] if stats else []
    return counted.with_columns(
        pl.coalesce(updated, pl.col("btyd_p_no_purchase")).alias("btyd_p_no_purchase_seen"), *kept
    ).drop("_seen", "_signs", "_between", "_span")


def feature_names(frame: pl.DataFrame) -> list[str]:
    """The feature columns of a `build_features` frame (all but customer_key and cutoff), in its order."""
    return [c for c in frame.columns if c not in ("customer_key", "cutoff", "churned")]
