"""Contacts of marketing touchpoints and the order windows around them (the self-controlled design of
`cxdata.touchpoints.lift`): which touch is a touchpoint's contact, each contact's excess orders over its
baseline, its click, and the orders in the sessions of scheduled touchpoints' clicks."""

from __future__ import annotations

import numpy as np
import polars as pl

from cxdata.touchpoints.order_index import TICK_DAYS, TICKS_PER_DAY, OrderIndex
from cxdata.touchpoints.survival import Survival, expected_response

CONTACT_RANK = {"sent": 0, "impression": 1, "click": 2}


def touchpoint_label(granularity: str = "campaign") -> pl.Expr:
    """The touchpoint a marketing touch belongs to: ``channel/campaign`` (campaign granularity) or ``channel``."""
    if granularity == "channel":
        return pl.col("channel")
    return (
        pl.when(pl.col("campaign").is_null())
        .then(pl.col("channel"))
        .otherwise(pl.concat_str(pl.col("channel"), pl.lit("/"), pl.col("campaign")))
    )


def contacts(
    touches: pl.LazyFrame,
    orders: pl.LazyFrame,
    *,
    granularity: str = "campaign",
    ranks: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Each touchpoint's contacts of known customers after their first order: customer_key, occurred_at,
    touchpoint, by_click (the contact kind is a click), kind. ``ranks`` (touchpoint, contact_rank) gives each
    touchpoint's contact kind, else the lowest rank among ``touches`` of known customers."""
    kinds = pl.DataFrame({"kind": list(CONTACT_RANK), "rank": list(CONTACT_RANK.values())}).lazy()
    first = orders.group_by("customer_key").agg(pl.col("ordered_at").min().alias("first_order"))
    marked = (
        touches.filter(pl.col("customer_key").is_not_null())
        .with_columns(touchpoint_label(granularity).alias("touchpoint"))
        .join(kinds, on="kind", how="inner")
    )
    if ranks is None:
        ranks = marked.group_by("touchpoint").agg(pl.col("rank").min().alias("contact_rank"))
    return (
        marked.join(ranks, on="touchpoint")
        .filter(pl.col("rank") == pl.col("contact_rank"))
        .join(first, on="customer_key", how="inner")
        .filter(pl.col("occurred_at") > pl.col("first_order"))
        .select(
            "customer_key",
            "occurred_at",
            "touchpoint",
            (pl.col("contact_rank") == CONTACT_RANK["click"]).alias("by_click"),
            "kind",
        )
    )


def contact_reach(touches: pl.LazyFrame, *, granularity: str = "campaign") -> pl.LazyFrame:
    """Per touchpoint, every touch of its contact kind, whoever it reached (customers before their first
    order, keys with no order: devices the identity graph did not link, prospects): touchpoint, reach."""
    kinds = pl.DataFrame({"kind": list(CONTACT_RANK), "rank": list(CONTACT_RANK.values())}).lazy()
    marked = touches.with_columns(touchpoint_label(granularity).alias("touchpoint")).join(kinds, on="kind")
    return (
        marked.filter(pl.col("rank") == pl.col("rank").min().over("touchpoint"))
        .group_by("touchpoint")
        .agg(pl.len().alias("reach"))
    )


def codes(labels: pl.Series, names: list[str]) -> np.ndarray:
    """Each label's position in ``names`` (every label must be one of them)."""
    return labels.replace_strict(names, list(range(len(names))), return_dtype=pl.Int64).to_numpy()


def contact_excess(
    contact: pl.DataFrame,
    index: OrderIndex,
    span: float,
    response: float,
    baseline: float,
    gap_days: float,
    delay: np.ndarray,
    survival: Survival | None = None,
) -> dict[str, np.ndarray]:
    """Per contact: excess orders over the baseline, the customer's mean order value, windows ended by as_of.

    ``orders`` is the excess used for clicked contacts, whose response window runs until ``response`` days
    after their click (``delay`` days after the contact): what a click causes comes after the click, and an
    email opened a day late would otherwise lose a third of it. With ``survival``, the baseline of a contact
    that is itself a click (search, affiliate: it shows the customer alive) has the survivor thinning
    divided out.
    """
    idx = contact["idx"].to_numpy()
    t = index.days(contact["occurred_at"])
    first = index.days(contact["first_order"])
    gap = np.where(contact["by_click"].to_numpy(), gap_days, 0.0)
    stretch = response + delay
    end = t + stretch
    pre_start = np.maximum(t - baseline, first)
    post_end = np.minimum(end + baseline, span)
    n_pre, _ = index.window(idx, pre_start, t - TICK_DAYS)
    n_post, _ = index.window(idx, end, post_end)
    n_resp, _ = index.window(idx, t + gap, end)
    n_session, _ = index.window(idx, t, t + gap)
    n_after, _ = index.window(idx, end, end + response)
    exposure = (t - pre_start) + np.maximum(post_end - end, 0.0)
    complete = (end <= span) & (exposure >= response)
    safe = np.where(exposure > 0, exposure, 1.0)
    length = stretch - gap
    expected = (n_pre + n_post) / safe * length
    if survival is not None:
        repeats, _ = index.window(idx, first, t - TICK_DAYS)
        after = np.maximum(post_end - end, 0.0)
        corrected = expected_response(
            survival, n_pre + n_post, t - pre_start, stretch, after, repeats, t - first, gap, stretch
        )
        expected = np.where((exposure > 0) & contact["by_click"].to_numpy(), corrected, expected)
    stepped = complete & (end + response <= span)
    return {
        "orders": np.where(complete, n_resp - expected, 0.0),
        "step": np.where(stepped, n_resp - n_after * length / response, 0.0),
        "stepped": stepped,
        "value": contact["order_value"].to_numpy(),
        "complete": complete,
        # a click followed by an order in its session may be the order's doing (captured demand): such a
        # contact carries no evidence either way, so it is left out, and its caused share comes back by late
        "eligible": n_session == 0,
    }


def contact_clicks(
    touches: pl.LazyFrame, contact: pl.DataFrame, names: list[str], as_of, granularity: str
) -> pl.DataFrame:
    """Clicks up to ``as_of`` of contacted customers on the scored touchpoints: idx, occurred_at, touchpoint."""
    return (
        touches.filter((pl.col("kind") == "click") & (pl.col("occurred_at") <= as_of))
        .with_columns(touchpoint_label(granularity).alias("touchpoint"))
        .filter(pl.col("touchpoint").is_in(names))
        .join(contact.lazy().select("customer_key", "idx").unique(), on="customer_key")
        .select("idx", "occurred_at", "touchpoint")
        .collect()
    )


def session_orders(
    clicks: pl.DataFrame, index: OrderIndex, names: list[str], scheduled: list[str], gap_days: float
) -> np.ndarray:
    """Per click on a ``scheduled`` touchpoint (after a contact): the customer index, the touchpoint's code
    and the orders in the click's session (clicks x 3)."""
    clicks = clicks.filter(pl.col("touchpoint").is_in(scheduled))
    t = index.days(clicks["occurred_at"])
    n, _ = index.window(clicks["idx"].to_numpy(), t, t + gap_days)
    return np.column_stack([clicks["idx"].to_numpy(), codes(clicks["touchpoint"], names), n])


_NEVER = np.iinfo(np.int64).max // 2  # ticks to a next contact that does not come


def clicked_contacts(
    clicks: pl.DataFrame,
    contact: pl.DataFrame,
    index: OrderIndex,
    names: list[str],
    code: np.ndarray,
    response: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per contact: the customer clicked the same touchpoint within the response window and before its next
    contact of the customer (clicks always do), and the days from the contact to that first click (0 when
    not clicked).

    A click belongs to the latest contact before it: counting it for an earlier send whose window it falls in
    too would count the orders it caused twice (at weekly sends, a third of the clicks would be).
    """
    query = index.key(contact["idx"].to_numpy(), index.days(contact["occurred_at"]))
    # ticks to the customer's next contact of the touchpoint (none: never)
    following = pl.col("query").shift(-1).over("touchpoint", "customer_key", order_by="occurred_at")
    until_next = (
        contact.select("touchpoint", "customer_key", "occurred_at", pl.Series("query", query))
        .select((following - pl.col("query")).fill_null(_NEVER))
        .to_series()
        .to_numpy()
    )
    end = query + np.minimum(index.ticks(response), until_next - 1)
    click_code = codes(clicks["touchpoint"], names)
    click_keys = index.key(clicks["idx"].to_numpy(), index.days(clicks["occurred_at"]))
    clicked, delay = np.zeros(query.size, dtype=bool), np.zeros(query.size)
    for touchpoint in np.unique(code):
        keys = np.sort(click_keys[click_code == touchpoint])
        if not keys.size:
            continue
        mine = code == touchpoint
        first = np.searchsorted(keys, query[mine], side="left")
        hit = np.searchsorted(keys, end[mine], side="right") > first
        clicked[mine] = hit
        delay[mine] = np.where(hit, (keys[np.minimum(first, keys.size - 1)] - query[mine]) / TICKS_PER_DAY, 0.0)
    by_click = contact["by_click"].to_numpy()
    return clicked | by_click, np.where(by_click, 0.0, delay)
