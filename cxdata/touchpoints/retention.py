"""Retention effect of touchpoints that reach existing customers: service channels and scheduled CRM sends.

The unit is an order (each order is a moment a customer may stop buying). An
order is *treated* by a service channel when the customer's next ticket after it
(within ``ticket_days``) came in on that channel, and by a CRM touchpoint when
one of its sends reached the customer within ``retention_window_days`` before
the order. Outcomes, on held-out time (orders at least ``churn_days`` before
``as_of``, so every outcome is observed): *churned* (no further order within
``churn_days``) and the revenue of the next ``churn_days`` (the value effect,
a short-horizon stand-in for CLV). The retention value of a touchpoint is the
churn effect times its treated orders times what a kept treated customer went
on to spend in the outcome window: conservative, as a kept customer goes on
buying after it (counting the year after each treated order instead counts a
customer kept at several orders several times over). The revenue effect is
reported beside it but not summed, as it also carries orders the touchpoint
caused directly (already counted by `cxdata.touchpoints.lift`).

Estimator: inverse-propensity weighting for the average effect on the treated
orders (ATT: treated weight 1, control weight e / (1 - e), Hajek-normalised;
the retention value is about the orders the touchpoint did reach, and ATT needs
no treated-like controls where treatment is near certain) with a scikit-learn
logistic propensity model on
confounders known at the order: orders so far, days since the previous order,
tenure, this order's amount, orders in the past year and, per CRM touchpoint,
its sends in the year before the window and whether it sent within the window
(another touchpoint's recent send is a concurrent treatment: the CRM
touchpoints share one audience, so a pooled send count would compare one
touchpoint's sends with another's at equal totals and pass the winback's
effect to the newsletter with the opposite sign). Propensities are clipped to
``[clip, 1 - clip]``. Overlap diagnostics per touchpoint: propensity range by group, share of treated orders
with propensity inside ``[0.05, 0.95]``, largest standardised mean difference
of the confounders before and after weighting, and the effective sample size of
the weighted controls. Intervals: Poisson bootstrap over customers with the
propensity model held fixed (a replicate reweights customers, it does not
refit); refitting it in every resample gives no wider an interval (an
estimated propensity makes IPW more precise than a known one would).

The result is an estimate: it assumes no confounder outside the list above
drives both the treatment and churn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cxdata.touchpoints.contact_windows import contacts
from cxdata.touchpoints.order_index import OrderIndex
from cxdata.touchpoints.resample import weight_blocks

FEATURES = [
    "log_orders_so_far",
    "log_days_since_previous",
    "first_order",
    "log_tenure_days",
    "log_amount",
    "log_orders_past_year",
]


@dataclass
class RetentionEstimate:
    """Per touchpoint: effects on churn and next-period revenue, intervals, diagnostics; and the replicates."""

    table: pl.DataFrame
    replicates: pl.DataFrame  # replicate, touchpoint, churn_effect, revenue_effect, retention_value


def order_units(orders: pl.DataFrame, as_of, churn_days: int) -> tuple[pl.DataFrame, OrderIndex]:
    """One row per order with its confounders and outcomes; the order index used to count windows."""
    customers = orders["customer_key"].unique().sort()
    origin = orders["ordered_at"].min()
    span = (as_of - origin).total_seconds() / 86_400
    index = OrderIndex(orders, customers, origin, span + churn_days + 400)
    # every order belongs to one of ``customers``, so the index's order covers them all
    units = orders[index.order].with_columns(pl.Series("idx", index.idx))
    idx = index.idx
    t = index.keys - idx * index.width
    # one pass over the sorted orders instead of window functions over each customer
    start = np.searchsorted(idx, idx, side="left")
    number = np.arange(idx.size) - start + 1
    since_previous = np.where(number > 1, t - t[np.maximum(np.arange(idx.size) - 1, 0)], 0.0)
    past_year, _ = index.window(idx, t - 365.0, t - 1e-9)
    future, revenue = index.window(idx, t + 1e-9, t + churn_days)
    units = units.with_row_index("unit").with_columns(
        pl.Series("log_orders_so_far", np.log1p(number.astype(np.float64))),
        pl.Series("log_days_since_previous", np.log1p(since_previous)),
        pl.Series("first_order", (number == 1).astype(np.float64)),
        pl.Series("log_tenure_days", np.log1p(t - t[start])),
        pl.col("amount").clip(0.0).log1p().alias("log_amount"),
        pl.Series("log_orders_past_year", np.log1p(past_year)),
        pl.Series("churned", (future == 0).astype(np.float64)),
        pl.Series("revenue_next", revenue),
        pl.Series("held_out", t + churn_days <= span),
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
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(unit, touchpoint, source) pairs of treated orders, and each unit's CRM sends in the past year."""
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
        sent = (
            contacts(touches.filter(pl.col("occurred_at") <= as_of), orders, granularity=granularity)
            .filter(pl.col("kind") == "sent")
            .collect()
            .join(units.select("customer_key", "idx").unique(), on="customer_key")
        )
        t, idx = units["day"].to_numpy(), units["idx"].to_numpy()
        query = idx * index.width + t
        for name in sorted(sent["touchpoint"].unique().to_list()):
            mine = sent.filter(pl.col("touchpoint") == name)
            keys = np.sort(mine["idx"].to_numpy() * index.width + index.days(mine["occurred_at"]))
            hit = np.searchsorted(keys, query) - np.searchsorted(keys, query - window_days) > 0
            earlier = np.searchsorted(keys, query - window_days) - np.searchsorted(keys, query - 365)
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


def estimate_retention(
    orders: pl.LazyFrame,
    tickets: pl.LazyFrame | None,
    touches: pl.LazyFrame | None,
    as_of,
    *,
    granularity: str = "campaign",
    churn_days: int = 180,
    ticket_days: float = 14.0,
    window_days: float = 45.0,
    clip: float = 0.01,
    replicates: int = 200,
    interval: float = 0.90,
    seed: int = 0,
    campaigns: list[str] | None = None,
) -> RetentionEstimate:
    """IPW effect of each service channel and CRM send touchpoint on churn and next-period revenue (module doc).

    ``campaigns``: the CRM touchpoints whose effect is estimated (all when None); a send that is not meant to
    keep customers gets no retention value, only noise from it. Every CRM touchpoint's sends stay confounders.
    """
    orders = orders.filter(pl.col("ordered_at") <= as_of)
    frame = orders.select("customer_key", "ordered_at", "amount").collect()
    units, index = order_units(frame, as_of, churn_days)
    treated, sends = treatments(
        units,
        index,
        tickets,
        touches,
        orders,
        as_of,
        granularity=granularity,
        ticket_days=ticket_days,
        window_days=window_days,
    )
    units = units.hstack(sends.drop("unit"))  # one row per unit, in the same order
    held = units.filter(pl.col("held_out"))
    crm = [c for c in sends.columns if c != "unit"]
    customer = held["idx"].to_numpy()
    n_customers = int(units["idx"].max() or 0) + 1
    fitted, sums = [], []
    outcomes = held.select("churned", "revenue_next").to_numpy()
    for (name, source), group in sorted(treated.group_by("touchpoint", "source"), key=lambda g: g[0]):
        if source == "marketing" and campaigns is not None and name not in campaigns:
            continue
        t = held["unit"].is_in(group["unit"].implode()).to_numpy()
        # a service channel is compared with orders that had no ticket, not with other channels' tickets
        rivals = treated.filter((pl.col("source") == source) & (pl.col("touchpoint") != name))["unit"]
        sample = ~held["unit"].is_in(rivals.implode()).to_numpy() | t if source == "service" else np.ones_like(t)
        t = t[sample]
        if t.sum() < 10 or (~t).sum() < 10:
            continue
        # the other CRM touchpoints' sends are confounders; this one's recent send is the treatment itself
        xs = held.select(FEATURES + [c for c in crm if c != f"sent:{name}"]).to_numpy()[sample]
        e = _propensity(xs, t, clip, seed)
        y = outcomes[sample]
        sums.append(_customer_sums(t, e, y, customer[sample], n_customers))
        # a kept customer is worth what kept treated customers went on to spend in the outcome window
        kept_treated = t & (y[:, 0] == 0)
        head = {
            "touchpoint": name,
            "source": source,
            "treated_orders": group.height,
            "held_out_treated": int(t.sum()),
        }
        fitted.append(
            (head, float(y[kept_treated, 1].mean()) if kept_treated.any() else 0.0, _diagnostics(xs, t, e))
        )
    boot = _effects(_replicate_sums(np.hstack(sums), replicates, seed)) if sums else np.zeros((replicates, 0))
    rows, reps = [], []
    for k, (head, kept, diagnostics) in enumerate(fitted):
        point = _effects(sums[k].sum(axis=0, keepdims=True))[0]
        effects = boot[:, 2 * k : 2 * k + 2]
        bounds = [(1 - interval) / 2, (1 + interval) / 2]
        lo, hi = np.quantile(effects, bounds, axis=0) if replicates else (point, point)
        value = -head["treated_orders"] * kept  # retention value per unit of churn effect
        rows.append(
            {
                **head,
                "churn_effect": point[0],
                "churn_effect_low": lo[0],
                "churn_effect_high": hi[0],
                "revenue_effect": point[1],
                "revenue_effect_low": lo[1],
                "revenue_effect_high": hi[1],
                "kept_customer_value": kept,
                "retention_value": point[0] * value,
                **diagnostics,
            }
        )
        reps.append(
            pl.DataFrame(
                {
                    "replicate": np.arange(replicates),
                    "touchpoint": head["touchpoint"],
                    "churn_effect": effects[:, 0],
                    "revenue_effect": effects[:, 1],
                    "retention_value": effects[:, 0] * value,
                }
            )
        )
    table = pl.DataFrame(rows) if rows else pl.DataFrame(schema={"touchpoint": pl.String, "source": pl.String})
    replicate = (
        pl.concat(reps)
        if reps
        else pl.DataFrame(
            schema={
                "replicate": pl.Int64,
                "touchpoint": pl.String,
                "churn_effect": pl.Float64,
                "revenue_effect": pl.Float64,
                "retention_value": pl.Float64,
            }
        )
    )
    return RetentionEstimate(table, replicate)


def _propensity(x: np.ndarray, t: np.ndarray, clip: float, seed: int, fit_rows: int = 300_000) -> np.ndarray:
    """P(treated | confounders) of every unit, from a logistic model fitted on at most ``fit_rows`` units drawn
    at random (a few parameters are pinned down long before millions of orders; the fit was most of the
    step's time at scale)."""
    rows = np.arange(t.size)
    if t.size > fit_rows:
        rows = np.sort(np.random.default_rng(seed).choice(t.size, fit_rows, replace=False))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, random_state=seed))
    model.fit(x[rows], t[rows])
    return np.clip(model.predict_proba(x)[:, 1], clip, 1 - clip)


def _customer_sums(t: np.ndarray, e: np.ndarray, y: np.ndarray, customer: np.ndarray, n: int) -> np.ndarray:
    """Per customer: the treated units' count and outcome sums, the controls' ATT weights (e / (1 - e)) and
    weighted outcome sums (n x 6); a bootstrap replicate reweights customers, so these are all it needs."""
    wt, wc = t.astype(float), (1 - t) * e / (1 - e)
    columns = [wt, wt * y[:, 0], wt * y[:, 1], wc, wc * y[:, 0], wc * y[:, 1]]
    return np.column_stack([np.bincount(customer, weights=c, minlength=n) for c in columns])


def _replicate_sums(sums: np.ndarray, replicates: int, seed: int) -> np.ndarray:
    """Column sums of ``sums`` (customers x columns) under Poisson(1) customer weights, one row per replicate
    (the same weights as the lift estimate's replicates, `cxdata.touchpoints.resample.weight_blocks`)."""
    out = np.empty((replicates, sums.shape[1]))
    for start, weights in weight_blocks(sums.shape[0], replicates, seed):
        out[start : start + weights.shape[0]] = weights @ sums
    return out


def _effects(sums: np.ndarray) -> np.ndarray:
    """Hajek IPW effects on the treated (churned, revenue_next) from `_customer_sums` column sums, per row,
    for every block of six columns: treated mean minus weighted control mean."""
    blocks = sums.reshape(sums.shape[0], -1, 6)
    treated = blocks[:, :, 1:3] / np.maximum(blocks[:, :, :1], 1e-12)
    control = blocks[:, :, 4:6] / np.maximum(blocks[:, :, 3:4], 1e-12)
    return (treated - control).reshape(sums.shape[0], -1)


def _diagnostics(x: np.ndarray, t: np.ndarray, e: np.ndarray) -> dict[str, float]:
    wc = (1 - t) * e / (1 - e)
    wt, unweighted_c = t.astype(float), (~t).astype(float)
    square = x * x
    variance = [(w @ square) / w.sum() - ((w @ x) / w.sum()) ** 2 for w in (wt, unweighted_c)]
    sd = np.sqrt(np.maximum((variance[0] + variance[1]) / 2, 0.0))

    def smd(weights_t: np.ndarray, weights_c: np.ndarray) -> float:
        mt = weights_t @ x / weights_t.sum()
        mc = weights_c @ x / weights_c.sum()
        return float(np.max(np.abs(mt - mc) / np.where(sd > 0, sd, 1.0)))

    return {
        "propensity_treated_min": float(e[t].min()),
        "propensity_treated_max": float(e[t].max()),
        "propensity_control_min": float(e[~t].min()),
        "propensity_control_max": float(e[~t].max()),
        "overlap_share": float(np.mean((e[t] >= 0.05) & (e[t] <= 0.95))),
        "max_smd_before": smd(wt, unweighted_c),
        "max_smd_after": smd(wt, wc),
        "control_ess": float(wc.sum() ** 2 / (wc**2).sum()),
    }
