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

By customer shard: a shard's units are its customers' orders (`cxdata.touchpoints.retention_units`). Each
shard first summarises its units (`retention_summary`: treated counts and its first customers by key hash for
the propensity fit); the propensity models are fitted once on the held-out units of the customers first by
key hash, up to ``fit_rows`` units (all of them below that), in one order of customer and order; each shard
then adds its customers' IPW sums, their bootstrap replicates and the diagnostics' moments
(`retention_partial`), which add up over shards to those of all customers (`retention_estimate`).

The result is an estimate: it assumes no confounder outside the list above
drives both the treatment and churn.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from cxdata.touchpoints.resample import key_hashes, weight_blocks
from cxdata.touchpoints.retention_balance import diagnostics, merge_moments, moments
from cxdata.touchpoints.retention_units import (
    FEATURES,
    confounders,
    crm_columns,
    group_rows,
    order_units,
    treatments,
)

__all__ = ["FEATURES", "RetentionEstimate", "estimate_retention"]
# a constant folded into the seed of the fit sample's key hash, so the sample is not the bootstrap's stream
_SAMPLE_STREAM = 0x5A4D


@dataclass
class RetentionEstimate:
    """Per touchpoint: effects on churn and next-period revenue, intervals, diagnostics; and the replicates."""

    table: pl.DataFrame
    replicates: pl.DataFrame  # replicate, touchpoint, churn_effect, revenue_effect, retention_value


@dataclass(frozen=True)
class RetentionSettings:
    """The estimator's parameters (`estimate_retention`)."""

    granularity: str = "campaign"
    churn_days: int = 180
    ticket_days: float = 14.0
    window_days: float = 45.0
    clip: float = 0.01
    replicates: int = 200
    interval: float = 0.90
    seed: int = 0
    campaigns: tuple[str, ...] | None = None
    fit_rows: int = 300_000


@dataclass
class RetentionSummary:
    """What one shard tells the propensity fit: per (touchpoint, source) its treated orders and its held-out
    treated and compared units, the CRM touchpoints that sent, and the held-out units (features, treatments)
    of its customers first by key hash, up to ``fit_rows`` units."""

    groups: pl.DataFrame
    crm: list[str]
    sample: pl.DataFrame
    sample_treated: pl.DataFrame


@dataclass
class Propensities:
    """The fitted groups (touchpoint, source, treated orders) in order, their models and the CRM names."""

    crm: list[str]
    groups: list[tuple[str, str, int]]
    models: list[Pipeline]


@dataclass
class RetentionPartial:
    """One shard's IPW column sums (6 per fitted group), their replicates, the kept treated customers' revenue
    sum and count per group, and the diagnostics' moments per group; partials add up (``+``)."""

    sums: np.ndarray
    reps: np.ndarray
    kept: np.ndarray
    moments: list[dict[str, np.ndarray]] = field(default_factory=list)

    def __add__(self, other: RetentionPartial) -> RetentionPartial:
        names = [f.name for f in fields(self) if f.name != "moments"]
        merged = {name: getattr(self, name) + getattr(other, name) for name in names}
        merged_moments = [merge_moments(a, b) for a, b in zip(self.moments, other.moments, strict=True)]
        return RetentionPartial(**merged, moments=merged_moments)


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
    """IPW effect of each service channel and CRM send touchpoint on churn and next-period revenue (module doc),
    all customers at once (one shard).

    ``campaigns``: the CRM touchpoints whose effect is estimated (all when None); a send that is not meant to
    keep customers gets no retention value, only noise from it. Every CRM touchpoint's sends stay confounders.
    """
    chosen = tuple(campaigns) if campaigns is not None else None
    settings = RetentionSettings(
        granularity, churn_days, ticket_days, window_days, clip, replicates, interval, seed, chosen
    )
    frame = orders.filter(pl.col("ordered_at") <= as_of).select("customer_key", "ordered_at", "amount").collect()
    origin = frame["ordered_at"].min()
    summary = retention_summary(frame, tickets, touches, as_of, origin, settings)
    fitted = fit_propensities([summary], settings)
    partial = retention_partial(frame, tickets, touches, as_of, origin, fitted, settings)
    return retention_estimate(partial, fitted, settings)


def _units(
    orders: pl.DataFrame, tickets, touches, as_of, origin, settings: RetentionSettings, crm: list[str] | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every unit of ``orders``' customers with its confounders and the CRM columns, and its treatments."""
    units, index = order_units(orders, as_of, settings.churn_days, origin)
    treated, sends = treatments(
        units,
        index,
        tickets,
        touches,
        orders.lazy(),
        as_of,
        granularity=settings.granularity,
        ticket_days=settings.ticket_days,
        window_days=settings.window_days,
        crm=crm,
    )
    return units.hstack(sends.drop("unit")), treated  # one row per unit, in the same order


def retention_summary(
    orders: pl.DataFrame, tickets, touches, as_of, origin, settings: RetentionSettings
) -> RetentionSummary:
    """One shard's `RetentionSummary` from its kept orders up to ``as_of`` (customer_key, ordered_at, amount),
    tickets and touches; ``origin`` is the first kept order of all customers."""
    group_schema = {"touchpoint": pl.String, "source": pl.String, "treated_orders": pl.Int64}
    group_schema |= {"treated": pl.Int64, "compared": pl.Int64}
    if orders.height == 0:
        return RetentionSummary(pl.DataFrame(schema=group_schema), [], pl.DataFrame(), pl.DataFrame())
    units, treated = _units(orders, tickets, touches, as_of, origin, settings, None)
    crm = [c.split(":", 1)[1] for c in units.columns if c.startswith("sent:")]
    held = units.filter(pl.col("held_out"))
    rows = []
    for (name, source), group in treated.group_by("touchpoint", "source"):
        t, compared = group_rows(held, treated, name, source)
        t = t[compared]
        rows.append((name, source, group.height, int(t.sum()), int((~t).sum())))
    groups = pl.DataFrame(rows, schema=group_schema, orient="row")
    sample = _first_by_hash(held, settings)
    sample_treated = treated.join(sample.select("unit", "customer_key", "number"), on="unit").drop("unit")
    return RetentionSummary(groups, crm, sample.drop("unit"), sample_treated)


def _first_by_hash(held: pl.DataFrame, settings: RetentionSettings) -> pl.DataFrame:
    """The held units of the customers first by key hash (ties by key), whole customers up to ``fit_rows``."""
    per = held.group_by("customer_key").agg(pl.len().alias("units"))
    per = per.with_columns(
        pl.Series("hash", key_hashes(per["customer_key"], settings.seed ^ _SAMPLE_STREAM), dtype=pl.UInt64)
    ).sort("hash", "customer_key")
    chosen = per.filter(pl.col("units").cum_sum() <= settings.fit_rows).select("customer_key", "hash")
    return held.join(chosen, on="customer_key")


def fit_propensities(summaries: list[RetentionSummary], settings: RetentionSettings) -> Propensities:
    """The propensity model of every touchpoint with at least 10 treated and 10 compared held-out units, fitted
    on the held-out units of the customers first by key hash over all shards (module docstring)."""
    crm = sorted({name for s in summaries for name in s.crm})
    groups = pl.concat([s.groups for s in summaries]).group_by("touchpoint", "source").agg(pl.all().sum())
    samples = [s.sample for s in summaries if s.sample.height]
    columns = [*FEATURES, *crm_columns(crm)]
    if not samples:
        return Propensities(crm, [], [])
    sample = pl.concat(samples, how="diagonal_relaxed")
    sample = sample.with_columns(pl.col(columns[len(FEATURES) :]).fill_null(0.0))
    per = sample.group_by("customer_key", "hash").agg(pl.len().alias("units")).sort("hash", "customer_key")
    chosen = per.filter(pl.col("units").cum_sum() <= settings.fit_rows).select("customer_key")
    # one order of the rows whatever the shards: the fit's sums are then the same to the last bit
    held = sample.join(chosen, on="customer_key").sort("customer_key", "number").with_row_index("unit")
    treated = pl.concat([s.sample_treated for s in summaries if s.sample_treated.width], how="vertical_relaxed")
    treated = treated.join(held.select("customer_key", "number", "unit"), on=["customer_key", "number"])
    fitted, models = [], []
    for name, source, treated_orders, n_treated, n_compared in groups.sort("touchpoint", "source").iter_rows():
        if source == "marketing" and settings.campaigns is not None and name not in settings.campaigns:
            continue
        if n_treated < 10 or n_compared < 10:
            continue
        t, compared = group_rows(held, treated, name, source)
        xs = held.select(confounders(name, crm)).to_numpy()[compared]
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, random_state=settings.seed))
        models.append(model.fit(xs, t[compared]))
        fitted.append((name, source, int(treated_orders)))
    return Propensities(crm, fitted, models)


def retention_partial(
    orders: pl.DataFrame, tickets, touches, as_of, origin, fitted: Propensities, settings: RetentionSettings
) -> RetentionPartial:
    """One shard's `RetentionPartial` under the fitted propensity models (arguments as `retention_summary`)."""
    size, replicates = len(fitted.groups), settings.replicates
    empty = RetentionPartial(
        np.zeros(6 * size), np.zeros((replicates, 6 * size)), np.zeros((size, 2)), [{} for _ in range(size)]
    )
    if orders.height == 0 or not size:
        return empty
    units, treated = _units(orders, tickets, touches, as_of, origin, settings, fitted.crm)
    held = units.filter(pl.col("held_out"))
    customer = held["idx"].to_numpy()
    customers = orders["customer_key"].unique().sort()
    outcomes = held.select("churned", "revenue_next").to_numpy()
    sums, kept, balance = [], np.zeros((size, 2)), []
    for k, ((name, source, _), model) in enumerate(zip(fitted.groups, fitted.models, strict=True)):
        t, compared = group_rows(held, treated, name, source)
        t = t[compared]
        xs = held.select(confounders(name, fitted.crm)).to_numpy()[compared]
        e = np.clip(model.predict_proba(xs)[:, 1], settings.clip, 1 - settings.clip) if t.size else np.zeros(0)
        y = outcomes[compared]
        sums.append(_customer_sums(t, e, y, customer[compared], customers.len()))
        # a kept customer is worth what kept treated customers went on to spend in the outcome window
        kept_treated = t & (y[:, 0] == 0)
        kept[k] = (y[kept_treated, 1].sum(), kept_treated.sum())
        balance.append(moments(xs, t, e))
    columns = np.hstack(sums)
    reps = _replicate_sums(columns, key_hashes(customers, settings.seed), replicates)
    return RetentionPartial(columns.sum(axis=0), reps, kept, balance)


def retention_estimate(
    partial: RetentionPartial, fitted: Propensities, settings: RetentionSettings
) -> RetentionEstimate:
    """The estimate from the summed partial of every customer."""
    replicates, interval = settings.replicates, settings.interval
    boot = _effects(partial.reps) if fitted.groups else np.zeros((replicates, 0))
    rows, reps = [], []
    for k, (name, source, treated_orders) in enumerate(fitted.groups):
        point = _effects(partial.sums[None, 6 * k : 6 * k + 6])[0]
        effects = boot[:, 2 * k : 2 * k + 2]
        bounds = [(1 - interval) / 2, (1 + interval) / 2]
        lo, hi = np.quantile(effects, bounds, axis=0) if replicates else (point, point)
        total, count = partial.kept[k]
        kept = float(total / count) if count else 0.0
        value = -treated_orders * kept  # retention value per unit of churn effect
        balance = partial.moments[k]
        rows.append(
            {
                "touchpoint": name,
                "source": source,
                "treated_orders": treated_orders,
                "held_out_treated": int(balance["n_t"]),
                "churn_effect": point[0],
                "churn_effect_low": lo[0],
                "churn_effect_high": hi[0],
                "revenue_effect": point[1],
                "revenue_effect_low": lo[1],
                "revenue_effect_high": hi[1],
                "kept_customer_value": kept,
                "retention_value": point[0] * value,
                **diagnostics(balance),
            }
        )
        reps.append(
            pl.DataFrame(
                {
                    "replicate": np.arange(replicates),
                    "touchpoint": name,
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


def _customer_sums(t: np.ndarray, e: np.ndarray, y: np.ndarray, customer: np.ndarray, n: int) -> np.ndarray:
    """Per customer: the treated units' count and outcome sums, the controls' ATT weights (e / (1 - e)) and
    weighted outcome sums (n x 6); a bootstrap replicate reweights customers, so these are all it needs."""
    wt, wc = t.astype(float), (1 - t) * e / (1 - e)
    columns = [wt, wt * y[:, 0], wt * y[:, 1], wc, wc * y[:, 0], wc * y[:, 1]]
    return np.column_stack([np.bincount(customer, weights=c, minlength=n) for c in columns])


def _replicate_sums(sums: np.ndarray, bases: np.ndarray, replicates: int) -> np.ndarray:
    """Column sums of ``sums`` (customers x columns) under the customers' Poisson(1) weights (stream ``bases``),
    one row per replicate (the same weights as the lift estimate's, `cxdata.touchpoints.resample`)."""
    out = np.empty((replicates, sums.shape[1]))
    for start, weights in weight_blocks(bases, replicates):
        out[start : start + weights.shape[0]] = weights @ sums
    return out


def _effects(sums: np.ndarray) -> np.ndarray:
    """Hajek IPW effects on the treated (churned, revenue_next) from `_customer_sums` column sums, per row,
    for every block of six columns: treated mean minus weighted control mean."""
    blocks = sums.reshape(sums.shape[0], -1, 6)
    treated = blocks[:, :, 1:3] / np.maximum(blocks[:, :, :1], 1e-12)
    control = blocks[:, :, 4:6] / np.maximum(blocks[:, :, 3:4], 1e-12)
    return (treated - control).reshape(sums.shape[0], -1)
