"""The lift estimate of `cxdata.touchpoints.lift` split by customer: what one shard of the customers
contributes, and the few global facts every shard needs first.

Every figure of the estimate is a ratio of sums over contacts, so a shard computes its contacts' sums
(`LiftPartial`: point, placebo-twin and bootstrap-replicate sums per touchpoint) and the shards' partials add
up to the partial of all customers. What a contact's sums depend on beyond its own customer is global and
small (`LiftShape`): the touchpoints scored and their contact kind (from `touch_counts` of every shard and of
the touches without a customer), the time origin (the first kept order), the survivor correction's MBG/NBD
population (fitted on the summed distinct (frequency, recency, T) rows of `survival_rows`) and the share of
customers whose contacts get placebo twins.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

import numpy as np
import polars as pl

from cxdata.clv.rfm import rfm_summary
from cxdata.touchpoints.contact_windows import (
    CONTACT_RANK,
    clicked_contacts,
    codes,
    contact_clicks,
    contact_excess,
    contacts,
    session_orders,
    touchpoint_label,
)
from cxdata.touchpoints.lift_sums import WIDTH, code_sums, contact_columns, replicate_sums
from cxdata.touchpoints.order_index import OrderIndex
from cxdata.touchpoints.placebo import draw_placebos, placebo_share
from cxdata.touchpoints.resample import key_hashes
from cxdata.touchpoints.survival import Survival, fit_survival

_RFM = ["frequency", "recency", "T"]


@dataclass(frozen=True)
class LiftSettings:
    """The estimator's parameters (`cxdata.touchpoints.lift.estimate_lift`)."""

    granularity: str = "campaign"
    response_days: float = 3.0
    baseline_days: float = 56.0
    session_minutes: float = 60.0
    replicates: int = 200
    placebo_sets: int = 8
    seed: int = 0
    alive_correction: bool = True


@dataclass
class LiftShape:
    """What every shard's contacts need from all customers: the scored touchpoints (sorted) and their contact
    kind, each touchpoint's reach, the time origin and span, the survivor model and the placebo share."""

    names: list[str]
    by_click: np.ndarray
    ranks: pl.DataFrame  # touchpoint, contact_rank: the contact kind among touches of known customers
    reach: pl.DataFrame  # touchpoint, reach
    origin: dt.datetime | None
    span: float
    survival: Survival | None
    share: float


def touch_counts(touches: pl.LazyFrame, orders: pl.LazyFrame, as_of, granularity: str) -> pl.DataFrame:
    """Per touchpoint, contact rank and whether the touch has a customer: its touches up to ``as_of`` and
    those after the customer's first kept order (additive over shards)."""
    kinds = pl.DataFrame({"kind": list(CONTACT_RANK), "rank": list(CONTACT_RANK.values())}).lazy()
    first = orders.group_by("customer_key").agg(pl.col("ordered_at").min().alias("first_order"))
    return (
        touches.filter(pl.col("occurred_at") <= as_of)
        .with_columns(touchpoint_label(granularity).alias("touchpoint"))
        .join(kinds, on="kind")
        .join(first, on="customer_key", how="left")
        .group_by("touchpoint", "rank", pl.col("customer_key").is_not_null().alias("keyed"))
        .agg(pl.len().alias("touches"), (pl.col("occurred_at") > pl.col("first_order")).sum().alias("after"))
        .collect()
    )


def survival_rows(orders: pl.LazyFrame, as_of) -> pl.DataFrame:
    """The distinct (frequency, recency, T) rows of the customers' orders up to ``as_of`` with their count."""
    rfm = rfm_summary(orders, as_of, "D")
    return rfm.group_by(_RFM).agg(pl.len().alias("customers")).collect()


def lift_shape(
    counts: pl.DataFrame, rows: pl.DataFrame, origin: dt.datetime | None, as_of, settings: LiftSettings
) -> LiftShape:
    """The global facts from the shards' summed `touch_counts` and `survival_rows` and the first kept order."""
    counts = counts.group_by("touchpoint", "rank", "keyed").agg(pl.col("touches", "after").sum())
    keyed = counts.filter(pl.col("keyed") & (pl.col("touches") > 0))
    ranks = keyed.group_by("touchpoint").agg(pl.col("rank").min().alias("contact_rank"))
    at_rank = keyed.join(ranks, on="touchpoint").filter(pl.col("rank") == pl.col("contact_rank"))
    scored = at_rank.filter(pl.col("after") > 0).sort("touchpoint")
    names = scored["touchpoint"].to_list()
    reach = (
        counts.filter(pl.col("rank") == pl.col("rank").min().over("touchpoint"))
        .group_by("touchpoint")
        .agg(pl.col("touches").sum().alias("reach"))
    )
    survival = None
    if settings.alive_correction:
        # the shards' distinct rows, summed and expanded back to one row per customer in one order
        rfm = rows.group_by(_RFM).agg(pl.col("customers").sum()).sort(_RFM)
        survival = fit_survival(rfm.select(pl.col(_RFM).repeat_by(pl.col("customers")).explode()))
    return LiftShape(
        names=names,
        by_click=(scored["contact_rank"] == CONTACT_RANK["click"]).to_numpy(),
        ranks=ranks,
        reach=reach,
        origin=origin,
        span=(as_of - origin).total_seconds() / 86_400 if origin is not None else 0.0,
        survival=survival,
        share=placebo_share(int(scored["after"].sum()), settings.placebo_sets),
    )


@dataclass
class LiftPartial:
    """One shard's sums, indexed by `LiftShape.names` (k) and replicate; the partials of disjoint customer
    sets add up (``+``) to the partial of their union. Contact moments are microseconds since the epoch."""

    point: np.ndarray  # k x 6 column sums of the contacts
    caught: np.ndarray  # k: orders in the sessions of scheduled touchpoints' clicks
    twins: np.ndarray  # (sets * k) x 6 column sums of the placebo twins, each weighing 1 / share
    eligible: np.ndarray  # k: eligible contacts
    scored: np.ndarray  # k: complete, eligible contacts
    contacts: np.ndarray  # k: contacts
    first_us: np.ndarray  # k: first contact (+inf when none)
    last_us: np.ndarray  # k: last contact (-inf when none)
    sums: np.ndarray  # replicates x k x 6
    caught_reps: np.ndarray  # replicates x k

    def __add__(self, other: LiftPartial) -> LiftPartial:
        merged = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        merged["first_us"] = np.minimum(self.first_us, other.first_us)
        merged["last_us"] = np.maximum(self.last_us, other.last_us)
        return LiftPartial(**merged)


def empty_partial(k: int, settings: LiftSettings) -> LiftPartial:
    """The partial of no customer."""
    reps, sets = settings.replicates, settings.placebo_sets
    return LiftPartial(
        point=np.zeros((k, WIDTH)),
        caught=np.zeros(k),
        twins=np.zeros((sets * k, WIDTH)),
        eligible=np.zeros(k),
        scored=np.zeros(k),
        contacts=np.zeros(k),
        first_us=np.full(k, np.inf),
        last_us=np.full(k, -np.inf),
        sums=np.zeros((reps, k, WIDTH)),
        caught_reps=np.zeros((reps, k)),
    )


def lift_partial(
    orders: pl.DataFrame, touches: pl.LazyFrame, as_of, shape: LiftShape, settings: LiftSettings
) -> LiftPartial:
    """The sums of the contacts of the customers in ``orders`` (customer_key, ordered_at, amount: kept orders
    up to ``as_of``) and ``touches`` (theirs)."""
    s = settings
    k = len(shape.names)
    contact = (
        contacts(touches.filter(pl.col("occurred_at") <= as_of), orders.lazy(), ranks=shape.ranks.lazy())
        .filter(pl.col("touchpoint").is_in(shape.names))
        .sort("touchpoint", "customer_key", "occurred_at")
        .collect()
    )
    if contact.height == 0 or orders.height == 0 or shape.origin is None:
        return empty_partial(k, s)
    first = orders.group_by("customer_key").agg(
        pl.col("ordered_at").min().alias("first_order"), pl.col("amount").mean().alias("order_value")
    )
    customers = first["customer_key"].sort()
    index = OrderIndex(orders, customers, shape.origin, shape.span + 2 * (s.response_days + s.baseline_days))
    contact = contact.join(first, on="customer_key").join(
        pl.DataFrame({"customer_key": customers, "idx": np.arange(customers.len())}), on="customer_key"
    )
    names = shape.names
    code = codes(contact["touchpoint"], names)
    clicks = contact_clicks(touches, contact, names, as_of, s.granularity)
    clicked, delay = clicked_contacts(clicks, contact, index, names, code, s.response_days)
    gap = s.session_minutes / 1440.0
    args = (index, shape.span, s.response_days, s.baseline_days, gap)
    excess = contact_excess(contact, *args, delay, shape.survival)
    excess["clicked"] = clicked
    scheduled = [name for name, by_click in zip(names, shape.by_click, strict=True) if not by_click]
    session = session_orders(clicks, index, names, scheduled, gap)
    columns = contact_columns(excess)
    caught = np.bincount(session[:, 1].astype(np.int64), weights=session[:, 2], minlength=k)
    # the twins: the same estimator where no contact happened measures its bias and noise on this project
    draw = draw_placebos(
        contact.select(
            "customer_key", "touchpoint", "idx", "occurred_at", "first_order", "order_value", "by_click"
        ),
        latest=as_of,
        sets=s.placebo_sets,
        min_shift=max(7.0, 2 * s.response_days + 1.0),
        share=shape.share,
        seed=s.seed + 1,
    )
    twin_excess = contact_excess(draw.contacts, *args, delay[draw.source], shape.survival)
    twin_excess["clicked"] = clicked[draw.source]
    twin_code = code[draw.source] + k * draw.set_index
    twin_weight = np.full(twin_code.size, 1.0 / shape.share)
    sums, caught_reps = replicate_sums(
        columns, contact["idx"].to_numpy(), code, session, key_hashes(customers, s.seed), k, s.replicates
    )
    moments = contact["occurred_at"].dt.epoch("us").to_numpy().astype(np.float64)
    first_us, last_us = np.full(k, np.inf), np.full(k, -np.inf)
    np.minimum.at(first_us, code, moments)
    np.maximum.at(last_us, code, moments)
    return LiftPartial(
        point=code_sums(columns, code, np.ones(contact.height), k),
        caught=caught,
        twins=code_sums(contact_columns(twin_excess), twin_code, twin_weight, k * s.placebo_sets),
        eligible=np.bincount(code, weights=excess["eligible"], minlength=k),
        scored=np.bincount(code[excess["complete"] & excess["eligible"]], minlength=k).astype(np.float64),
        contacts=np.bincount(code, minlength=k).astype(np.float64),
        first_us=first_us,
        last_us=last_us,
        sums=sums,
        caught_reps=caught_reps,
    )
