"""Touchpoint scoring by customer shard: two passes over the shards around a small global fit, then a reduce.

1. `summarise_shard`: per shard (`cxdata.shards.Shard`, its rows filtered in the warehouse) its first kept
   order, its touches per touchpoint and contact kind, its distinct (frequency, recency, T) rows and its
   retention summary (treated counts, fit sample).
2. `plan`: global and small: the time origin, the touchpoints scored and their contact kind and reach (with
   the touches no customer is known for), the survivor correction's MBG/NBD fit on the summed distinct rows,
   the placebo share and the retention propensity models (`cxdata.touchpoints.retention`).
3. `shard_partial`: per shard, under the plan: the journeys and their attribution sums (heuristic credit,
   Markov path counts, Shapley set values), the lift and retention point, placebo and bootstrap-replicate
   sums (replicates x touchpoints x a few additive statistics), the experiment cells and the order counts.
4. `reduce_partials`: the partials added up (``+``) and turned into the estimates the step publishes.

Bootstrap weights and placebo draws are counter-based (`cxdata.touchpoints.resample`), so every sum is the
same whichever shard a customer is in: N shards give what one gives, up to the order of floating-point
additions. One shard, `Shard(0, 1)`, is the unsharded step; there is no other implementation.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl

from cxdata.clv.rfm import purchases
from cxdata.config import ProjectConfig
from cxdata.shards import Shard, shards
from cxdata.touchpoints import lift_shard
from cxdata.touchpoints.attribution import MODELS
from cxdata.touchpoints.attribution_sums import AttributionPartial, attribute_partial, attribution_partial
from cxdata.touchpoints.experiments import experiment_cells, experiment_effects
from cxdata.touchpoints.journeys import build_journeys, touchpoint_events
from cxdata.touchpoints.lift import LiftEstimate, lift_estimate
from cxdata.touchpoints.lift_shard import LiftPartial, LiftSettings, LiftShape
from cxdata.touchpoints.retention import (
    Propensities,
    RetentionEstimate,
    RetentionPartial,
    RetentionSettings,
    RetentionSummary,
    fit_propensities,
    retention_estimate,
    retention_partial,
    retention_summary,
)
from cxdata.warehouse import Warehouse

# the customer tables, read by shard; stg_touchpoint_costs has no customer and is read whole by the reduce
READS = {
    "fct_orders": ["customer_key", "order_id", "ordered_at", "amount", "is_refund"],
    "fct_touches": ["customer_key", "occurred_at", "channel", "campaign", "kind"],
    "fct_tickets": ["customer_key", "opened_at", "channel"],
    "fct_web_sessions": ["customer_key", "started_at", "utm_source", "utm_medium", "utm_campaign", "referrer"],
    "customer_scores": ["customer_key", "clv", "as_of"],
    "experiment_assignments": ["campaign", "customer_key", "group", "share", "assigned_at"],
}
_STATS = {
    "first": pl.Datetime("us", "UTC"),
    "last": pl.Datetime("us", "UTC"),
    "n": pl.Int64,
    "customers": pl.Int64,
}


def shard_inputs(wh: Warehouse, shard: Shard) -> dict[str, pl.LazyFrame | None]:
    """The shard's rows of the customer tables, only the columns the step needs that exist; absent tables
    are None."""
    frames: dict[str, pl.LazyFrame | None] = {}
    for name, wanted in READS.items():
        if not wh.exists(name):
            frames[name] = None
            continue
        present = set(wh.columns(name))
        frames[name] = wh.read(name, columns=[c for c in wanted if c in present], shard=shard).lazy()
    return frames


def kept_orders(orders: pl.LazyFrame, as_of: dt.datetime) -> pl.DataFrame:
    """The purchases up to ``as_of`` (customer_key, ordered_at, amount) in one order of their values, so the
    estimators see the same rows in the same order however the warehouse returned them."""
    kept = purchases(orders).select("customer_key", "ordered_at", "amount")
    return kept.filter(pl.col("ordered_at") <= as_of).sort("customer_key", "ordered_at", "amount").collect()


def _settings(config: ProjectConfig) -> tuple[LiftSettings, RetentionSettings]:
    tp = config.models.touchpoints
    lift = LiftSettings(
        granularity=tp.granularity,
        response_days=tp.response_days,
        baseline_days=tp.baseline_days,
        session_minutes=tp.session_minutes,
        replicates=tp.bootstrap_replicates,
        placebo_sets=tp.placebo_sets,
        seed=tp.seed,
    )
    campaigns = tuple(tp.retention_campaigns) if tp.retention_campaigns is not None else None
    retention = RetentionSettings(
        granularity=tp.granularity,
        churn_days=tp.churn_days,
        ticket_days=tp.ticket_days,
        window_days=tp.retention_window_days,
        replicates=tp.bootstrap_replicates,
        interval=tp.interval,
        seed=tp.seed,
        campaigns=campaigns,
    )
    return lift, retention


@dataclass
class ShardSummary:
    """One shard's first pass (module docstring, step 1)."""

    first_order: dt.datetime | None
    touches: pl.DataFrame
    survival: pl.DataFrame
    retention: RetentionSummary


@dataclass
class Plan:
    """The global facts every shard's second pass needs (module docstring, step 2)."""

    origin: dt.datetime | None
    lift: LiftShape
    propensities: Propensities


def summarise_shard(wh: Warehouse, config: ProjectConfig, as_of: dt.datetime, shard: Shard) -> ShardSummary:
    """The first pass over ``shard``'s customers."""
    frames = shard_inputs(wh, shard)
    lift, retention = _settings(config)
    kept = kept_orders(frames["fct_orders"], as_of) if frames["fct_orders"] is not None else _no_orders()
    touches = frames["fct_touches"] if frames["fct_touches"] is not None else _no_touches()
    first = kept["ordered_at"].min()
    return ShardSummary(
        first_order=first,
        touches=lift_shard.touch_counts(touches, kept.lazy(), as_of, lift.granularity),
        survival=lift_shard.survival_rows(kept.lazy(), as_of),
        retention=retention_summary(kept, frames["fct_tickets"], frames["fct_touches"], as_of, first, retention),
    )


def plan(wh: Warehouse, config: ProjectConfig, as_of: dt.datetime, summaries: list[ShardSummary]) -> Plan:
    """The global fit from every shard's summary and the touches without a customer (their reach)."""
    lift, retention = _settings(config)
    counts = [s.touches for s in summaries]
    if wh.exists("fct_touches"):
        present = set(wh.columns("fct_touches"))
        columns = [c for c in READS["fct_touches"] if c in present]
        keyless = wh.read("fct_touches", columns=columns, where={"customer_key": None}).lazy()
        counts.append(lift_shard.touch_counts(keyless, _no_orders().lazy(), as_of, lift.granularity))
    firsts = [s.first_order for s in summaries if s.first_order is not None]
    origin = min(firsts) if firsts else None
    rows = pl.concat([s.survival for s in summaries])
    return Plan(
        origin=origin,
        lift=lift_shard.lift_shape(pl.concat(counts), rows, origin, as_of, lift),
        propensities=fit_propensities([s.retention for s in summaries], retention),
    )


@dataclass
class ShardPartial:
    """One shard's second pass (module docstring, step 3); partials of disjoint shards add up (``+``)."""

    stats: pl.DataFrame  # first, last, n, customers of the kept orders
    clv: pl.DataFrame  # scored (any CLV), as_of (latest) of customer_scores; empty without the table
    attribution: AttributionPartial
    lift: LiftPartial
    retention: RetentionPartial
    experiments: pl.DataFrame | None

    def __add__(self, other: ShardPartial) -> ShardPartial:
        stats = pl.concat([self.stats, other.stats]).select(
            pl.col("first").min(), pl.col("last").max(), pl.col("n", "customers").sum()
        )
        experiments = None
        if self.experiments is not None and other.experiments is not None:
            experiments = pl.concat([self.experiments, other.experiments])
        return ShardPartial(
            stats=stats,
            clv=pl.concat([self.clv, other.clv]),
            attribution=self.attribution + other.attribution,
            lift=self.lift + other.lift,
            retention=self.retention + other.retention,
            experiments=experiments,
        )


def shard_partial(
    wh: Warehouse, config: ProjectConfig, as_of: dt.datetime, planned: Plan, shard: Shard
) -> ShardPartial:
    """The second pass over ``shard``'s customers under the global ``planned`` facts."""
    tp = config.models.touchpoints
    lift, retention = _settings(config)
    frames = shard_inputs(wh, shard)
    orders = frames["fct_orders"] if frames["fct_orders"] is not None else _no_orders().lazy()
    kept = kept_orders(orders, as_of)
    touches = frames["fct_touches"] if frames["fct_touches"] is not None else _no_touches()
    stats = kept.select(
        pl.col("ordered_at").min().alias("first"),
        pl.col("ordered_at").max().alias("last"),
        pl.len().cast(pl.Int64).alias("n"),
        pl.col("customer_key").n_unique().cast(pl.Int64).alias("customers"),
    )
    scores = frames["customer_scores"]
    clv = _clv_state(scores)
    # the estimators share nothing and spend their time in numpy, polars and scikit-learn, which release the
    # GIL: lift and retention run beside the journeys instead of after them
    with ThreadPoolExecutor(max_workers=2) as pool:
        lift_job = pool.submit(lift_shard.lift_partial, kept, touches, as_of, planned.lift, lift)
        retention_job = pool.submit(
            retention_partial,
            kept,
            frames["fct_tickets"],
            frames["fct_touches"],
            as_of,
            planned.origin,
            planned.propensities,
            retention,
        )
        events = touchpoint_events(
            frames["fct_touches"], frames["fct_web_sessions"], frames["fct_tickets"], granularity=tp.granularity
        )
        usable = scores if clv.height and "clv" in scores.collect_schema().names() else None
        journeys = build_journeys(orders, events, lookback_days=tp.lookback_days, as_of=as_of, clv=usable)
        attribution = attribution_partial(journeys.collect(), models=MODELS, half_life_days=tp.half_life_days)
        lift_sums, retention_sums = lift_job.result(), retention_job.result()
    experiments = None
    if frames["experiment_assignments"] is not None:
        experiments = experiment_cells(
            frames["experiment_assignments"],
            kept.lazy(),
            as_of,
            response_days=config.models.experiments.response_days,
            churn_days=tp.churn_days,
        )
    return ShardPartial(stats.cast(_STATS), clv, attribution, lift_sums, retention_sums, experiments)


@dataclass
class Reduced:
    """The estimates of all customers from the summed partials."""

    stats: dict
    clv_found: pl.DataFrame  # scored, as_of over all shards
    attribution: pl.DataFrame
    lift: LiftEstimate
    retention: RetentionEstimate
    experiments: pl.DataFrame | None


def reduce_partials(
    config: ProjectConfig, as_of: dt.datetime, planned: Plan, parts: list[ShardPartial]
) -> Reduced:
    """Every shard's partial added up and turned into the attribution, lift, retention and experiment
    estimates."""
    tp = config.models.touchpoints
    lift, retention = _settings(config)
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    experiments = None
    if total.experiments is not None:
        experiments = experiment_effects(
            total.experiments,
            as_of,
            response_days=config.models.experiments.response_days,
            interval=tp.interval,
        )
    found = total.clv.select(pl.col("scored").any(), pl.col("as_of").max()) if total.clv.height else total.clv
    return Reduced(
        stats=total.stats.row(0, named=True),
        clv_found=found,
        attribution=attribute_partial(total.attribution, models=MODELS),
        lift=lift_estimate(total.lift, planned.lift, lift),
        retention=retention_estimate(total.retention, planned.propensities, retention),
        experiments=experiments,
    )


def run_shards(wh: Warehouse, config: ProjectConfig, as_of: dt.datetime, count: int = 1) -> Reduced:
    """All passes in this process, one shard after another (``count`` 1: the unsharded step)."""
    chosen = shards(count)
    planned = plan(wh, config, as_of, [summarise_shard(wh, config, as_of, s) for s in chosen])
    return reduce_partials(config, as_of, planned, [shard_partial(wh, config, as_of, planned, s) for s in chosen])


def _clv_state(scores: pl.LazyFrame | None) -> pl.DataFrame:
    """Whether the shard's customer_scores hold a CLV, and the latest as_of (empty without a clv column)."""
    schema = {"scored": pl.Boolean, "as_of": pl.Datetime("us", "UTC")}
    if scores is None or "clv" not in scores.collect_schema().names():
        return pl.DataFrame(schema=schema)
    names = scores.collect_schema().names()
    moment = pl.col("as_of").max() if "as_of" in names else pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    found = scores.select(pl.col("clv").is_not_null().any().alias("scored"), moment.alias("as_of")).collect()
    return found.cast(schema)


def _no_orders() -> pl.DataFrame:
    schema = {"customer_key": pl.String, "ordered_at": pl.Datetime("us", "UTC"), "amount": pl.Float64}
    return pl.DataFrame(schema=schema)


def _no_touches() -> pl.LazyFrame:
    schema = {
        "customer_key": pl.String,
        "occurred_at": pl.Datetime("us", "UTC"),
        "channel": pl.String,
        "campaign": pl.String,
        "kind": pl.String,
    }
    return pl.LazyFrame(schema=schema)
