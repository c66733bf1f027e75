"""The order units of the retention estimate (`cxdata.touchpoints.retention`): one row per kept order with its
confounders, outcomes and treatments, per customer, so a shard of the customers builds exactly its rows.

Beyond a unit's own customer, only the time origin (the first kept order) and the names of the CRM
touchpoints (each gets two confounder columns) are global.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cxdata.touchpoints.contact_windows import contacts
from cxdata.touchpoints.order_index import DAY_US, OrderIndex

FEATURES = [
    "log_orders_so_far",
    "log_days_since_previous",
    "first_order",
    "log_tenure_days",
    "log_amount",
    "log_orders_past_year",
]


def order_units(orders: pl.DataFrame, as_of, churn_days: int, origin) -> tuple[pl.DataFrame, OrderIndex]:
    """One row per order with its confounders and outcomes (customer index ``idx`` over the sorted customers,
    ``number``: the order's place among its customer's); the order index used to count windows. Days count
    from ``origin``, no later than the first of ``orders``."""
    customers = orders["customer_key"].unique().sort()
    span = (as_of - origin).total_seconds() / 86_400
    index = OrderIndex(orders, customers, origin, span + churn_days + 400)
    # every order belongs to one of ``customers``, so the index's order covers them all
    units = orders[index.order].with_columns(pl.Series("idx", index.idx))
    idx = index.idx
    t = index.day_of()
    # one pass over the sorted orders instead of window functions over each customer; the durations come
    # from whole microseconds, so they do not depend on the origin (a shard's own first order, or all's)
    micros = units["ordered_at"].dt.epoch("us").to_numpy()
    start = np.searchsorted(idx, idx, side="left")
    number = np.arange(idx.size) - start + 1
    previous = micros[np.maximum(np.arange(idx.size) - 1, 0)]
    since_previous = np.where(number > 1, (micros - previous) / DAY_US, 0.0)
    # the order's own key bounds its windows, so the order itself (and any at the same instant) is not its
    # own past
    before = np.searchsorted(index.keys, index.keys, side="left")
    after = np.searchsorted(index.keys, index.keys, side="right")
    year_ago = np.searchsorted(index.keys, index.key(idx, t - 365.0), side="right")
    horizon_end = np.searchsorted(index.keys, index.key(idx, t + churn_days), side="right")
    past_year = (before - year_ago).astype(np.float64)
    future = (horizon_end - after).astype(np.float64)
    revenue = index.cum_revenue[horizon_end] - index.cum_revenue[after]
    horizon = pl.Series([as_of]).cast(pl.Datetime("us", "UTC")).dt.epoch("us").item() - churn_days * DAY_US
    units = units.with_row_index("unit").with_columns(
        pl.Series("number", number),
        pl.Series("log_orders_so_far", np.log1p(number.astype(np.float64))),
        pl.Series("log_days_since_previous", np.log1p(since_previous)),
        pl.Series("first_order", (number == 1).astype(np.float64)),
        pl.Series("log_tenure_days", np.log1p((micros - micros[start]) / DAY_US)),
        pl.col("amount").clip(0.0).log1p().alias("log_amount"),
        pl.Series("log_orders_past_year", np.log1p(past_year)),
        pl.Series("churned", (future == 0).astype(np.float64)),
        pl.Series("revenue_next", revenue),
        pl.Series("held_out", micros <= horizon),
        pl.Series("day", t),
    )
    return units, index


def treatments(
    units: pl.DataFrame,
    index: OrderIndex,
    tickets: pl.LazyFrame | None,
    touches: pl.LazyFrame | None,
    orders: pl.LazyFrame,
    as_of,
    *,
    granularity: str,
    ticket_days: float,
    window_days: float,
    crm: list[str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(unit, touchpoint, source) pairs of treated orders, and each unit's sends in the past year of every CRM
    touchpoint in ``crm`` (None: those that sent to these customers)."""
    parts = []
    sends = pl.DataFrame({"unit": units["unit"]})
    if tickets is not None:
        ticket = (
            tickets.filter(pl.col("customer_key").is_not_null() & (pl.col("opened_at") <= as_of))
            .select(
                "customer_key",
                "opened_at",
                pl.concat_str(pl.lit("service:"), pl.col("channel").str.to_lowercase().fill_null("unknown")).alias(
                    "touchpoint"
                ),
            )
            .sort("opened_at")
            .collect()
        )
        linked = ticket.join_asof(
            units.select("customer_key", "ordered_at", "unit").sort("ordered_at"),
            left_on="opened_at",
            right_on="ordered_at",
            by="customer_key",
            strategy="backward",
            tolerance=f"{int(ticket_days * 24)}h",
            check_sortedness=False,  # both sides are sorted by time just above
        ).filter(pl.col("unit").is_not_null())
        parts.append(linked.select("unit", "touchpoint", pl.lit("service").alias("source")).unique())
    if touches is not None:
        # a sent touch is a contact whatever else the touchpoint does (sent has the lowest contact rank)
        sent = (
            contacts(touches.filter(pl.col("occurred_at") <= as_of), orders, granularity=granularity)
            .filter(pl.col("kind") == "sent")
            .collect()
            .join(units.select("customer_key", "idx").unique(), on="customer_key")
        )
        t, idx = units["day"].to_numpy(), units["idx"].to_numpy()
        query = index.key(idx, t)
        window, year = index.ticks(window_days), index.ticks(365.0)
        names = sorted(sent["touchpoint"].unique().to_list()) if crm is None else crm
        for name in names:
            mine = sent.filter(pl.col("touchpoint") == name)
            keys = np.sort(index.key(mine["idx"].to_numpy(), index.days(mine["occurred_at"])))
            hit = np.searchsorted(keys, query) - np.searchsorted(keys, query - window) > 0
            earlier = np.searchsorted(keys, query - window) - np.searchsorted(keys, query - year)
            # each CRM touchpoint's own reach and recent send: a total over touchpoints would compare one
            # touchpoint's sends with another's at equal totals, and so confound their effects
            sends = sends.with_columns(
                pl.Series(f"log_earlier_sends:{name}", np.log1p(earlier)),
                pl.Series(f"sent:{name}", hit.astype(float)),
            )
            parts.append(
                pl.DataFrame(
                    {"unit": units["unit"].filter(pl.Series(hit)), "touchpoint": name, "source": "marketing"}
                )
            )
    empty = pl.DataFrame(schema={"unit": pl.UInt32, "touchpoint": pl.String, "source": pl.String})
    return pl.concat([empty, *[p.cast(empty.schema) for p in parts]]), sends


def crm_columns(names: list[str]) -> list[str]:
    """The confounder columns of the CRM touchpoints ``names``, in the order `treatments` adds them."""
    return [column for name in names for column in (f"log_earlier_sends:{name}", f"sent:{name}")]


def group_rows(held: pl.DataFrame, treated: pl.DataFrame, name: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Over the ``held`` units: which the touchpoint treated, and which it compares (a service channel is
    compared with orders that had no ticket, not with other channels' tickets)."""
    mine = treated.filter((pl.col("touchpoint") == name) & (pl.col("source") == source))["unit"]
    t = held["unit"].is_in(mine.implode()).to_numpy()
    if source != "service":
        return t, np.ones_like(t)
    rivals = treated.filter((pl.col("source") == source) & (pl.col("touchpoint") != name))["unit"]
    return t, ~held["unit"].is_in(rivals.implode()).to_numpy() | t


def confounders(name: str, crm: list[str]) -> list[str]:
    """The columns a touchpoint's propensity model reads: the other CRM touchpoints' sends are confounders,
    this one's recent send is the treatment itself."""
    return FEATURES + [c for c in crm_columns(crm) if c != f"sent:{name}"]
