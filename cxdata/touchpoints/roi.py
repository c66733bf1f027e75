"""Return on spend per touchpoint and the recommendation that follows from its interval.

The value a touchpoint earns is its *incremental* revenue (the orders it adds
over the customers' own baseline, `cxdata.touchpoints.lift`) plus its
retention value (churn it prevents times what a kept customer spends,
`cxdata.touchpoints.retention`). Attributed credit (conversions, revenue, CLV
of acquired customers under the chosen model) is published beside it, but is
not the value: attribution also credits touches that did not change the
outcome, and the CLV of a customer who already buys is not caused by one touch.

``roi = (incremental_revenue + retention_value) / cost`` over the costs of
every period that starts by ``as_of``; the interval is the quantile interval of
that ratio over the customer bootstrap of both estimates (replicate r of each,
summed), whose spread the lift estimate widens to at least its placebo noise.
The recommendation is ``invest`` when the interval's low end is above the
hurdle, ``cut`` when its high end is below it, ``hold`` otherwise, and null for
a touchpoint without cost (service channels, organic web sources): with no
spend there is no return on spend to judge.

Only contacts of customers with an order can be compared with their own
baseline: a touch on a device the identity graph did not link to its customer
(or on a prospect) is left out, so the estimate covers the linked share of the
touchpoint's touches (``linked_share``). Assuming an unlinked touch does
between nothing and what a linked one does, the revenue interval reaches from
the estimate to the estimate over that share: a campaign whose touches are
mostly cookies on unlinked devices cannot be cut on its linked customers alone.

A randomised holdout (`cxdata.touchpoints.experiments`) outranks the
observational estimate: its revenue effect per assigned customer, applied to
every contact of the touchpoint, replaces the incremental value and its
interval. ``evidence`` says which decided: ``experiment``, ``observational``, or
``insufficient`` for a hold, whose interval crosses the hurdle. A hold also
gets ``more_data_factor``: intervals narrow with the square root of the data,
so the data needed for the interval's half-width to fall below the distance
between the estimate and the hurdle is ``(half-width / distance)^2`` times
today's (more customers, or ``more_weeks`` more weeks at today's contact rate).
"""

from __future__ import annotations

import polars as pl

from cxdata.touchpoints.contact_windows import touchpoint_label
from cxdata.touchpoints.lift import LiftEstimate
from cxdata.touchpoints.retention import RetentionEstimate

SCORE_COLUMNS = [
    "as_of",
    "touchpoint",
    "source",
    "channel",
    "campaign",
    "conversions",
    "revenue",
    "attributed_clv",
    "removal_effect",
    "incremental_orders",
    "incremental_revenue",
    "churn_effect",
    "churn_effect_low",
    "churn_effect_high",
    "retention_value",
    "incremental_value",
    "incremental_value_low",
    "incremental_value_high",
    "placebo_bias",
    "placebo_sd",
    "linked_share",
    "cost",
    "currency",
    "roi",
    "roi_low",
    "roi_high",
    "hurdle",
    "recommendation",
    "evidence",
    "experiment_treated",
    "experiment_control",
    "more_data_factor",
    "more_weeks",
    "model_run_id",
]
MORE_DATA_CAP = 100.0  # beyond this many times today's data a verdict is not worth waiting for: left null
MORE_WEEKS_CAP = 156.0  # beyond three more years, waiting is no plan (more customers or an experiment are): null


def period_costs(costs: pl.LazyFrame | None, as_of, granularity: str = "campaign") -> pl.DataFrame:
    """Spend per touchpoint over every period that starts by ``as_of``: touchpoint, cost."""
    if costs is None:
        return pl.DataFrame(schema={"touchpoint": pl.String, "cost": pl.Float64})
    return (
        costs.filter(pl.col("period_start") <= as_of)
        .with_columns(touchpoint_label(granularity).alias("touchpoint"))
        .group_by("touchpoint")
        .agg(pl.col("cost").cast(pl.Float64).sum())
        .collect()
    )


def recommend(low: pl.Expr, high: pl.Expr, cost: pl.Expr, hurdle: float) -> pl.Expr:
    """invest / cut / hold from the ROI interval against ``hurdle``; null without cost."""
    return (
        pl.when(cost.is_null() | (cost <= 0))
        .then(pl.lit(None, dtype=pl.String))
        .when(low > hurdle)
        .then(pl.lit("invest"))
        .when(high < hurdle)
        .then(pl.lit("cut"))
        .otherwise(pl.lit("hold"))
    )


def score_touchpoints(
    attribution: pl.DataFrame,
    lift: LiftEstimate,
    retention: RetentionEstimate,
    costs: pl.DataFrame,
    *,
    as_of,
    model: str = "markov",
    hurdle: float = 1.0,
    interval: float = 0.90,
    model_run_id: str = "",
    experiments: pl.DataFrame | None = None,
    currency: str = "EUR",
) -> pl.DataFrame:
    """One row per touchpoint (attributed, estimated or paid for): credit, value, cost, ROI interval, verdict,
    the evidence behind it and, for a hold, how much more data would decide it (module docstring)."""
    credit = attribution.filter((pl.col("model") == model) & pl.col("touchpoint").is_not_null()).select(
        "touchpoint",
        "conversions",
        "revenue",
        pl.col("clv").alias("attributed_clv"),
        "removal_effect",
    )
    lifted = lift.table.select(
        "touchpoint", "incremental_orders", "incremental_revenue", "placebo_bias", "placebo_sd", "linked_share"
    )
    kept = (
        retention.table.select(
            "touchpoint", "churn_effect", "churn_effect_low", "churn_effect_high", "retention_value"
        )
        if retention.table.height
        else pl.DataFrame(
            schema={
                "touchpoint": pl.String,
                "churn_effect": pl.Float64,
                "churn_effect_low": pl.Float64,
                "churn_effect_high": pl.Float64,
                "retention_value": pl.Float64,
            }
        )
    )
    names = pl.concat(
        [f.select("touchpoint") for f in (credit, lifted, kept, costs.select("touchpoint"))]
    ).unique()
    value = pl.col("incremental_revenue").fill_null(0.0) + pl.col("retention_value").fill_null(0.0)
    table = (
        names.join(credit, on="touchpoint", how="left")
        .join(lifted, on="touchpoint", how="left")
        .join(kept, on="touchpoint", how="left")
        .join(costs, on="touchpoint", how="left")
        .join(_value_interval(lift, retention, interval), on="touchpoint", how="left")
        .with_columns(value.alias("incremental_value"), pl.lit("observational").alias("evidence"))
    )
    table = _with_experiments(table, experiments, lift)
    paid = pl.col("cost") > 0
    table = table.with_columns(
        pl.when(paid).then(pl.col(f"incremental_value{end}") / pl.col("cost")).alias(f"roi{end}")
        for end in ("", "_low", "_high")
    )
    verdict = recommend(pl.col("roi_low"), pl.col("roi_high"), pl.col("cost"), hurdle)
    factor = (
        ((pl.col("roi_high") - pl.col("roi_low")) / 2 / (pl.col("roi") - hurdle).abs())
        .pow(2)
        .clip(lower_bound=1.0)
    )
    hold = pl.col("recommendation") == "hold"
    return (
        table.with_columns(verdict.alias("recommendation"))
        .with_columns(
            pl.when(pl.col("recommendation").is_null())
            .then(pl.lit(None, dtype=pl.String))
            .when(hold)
            .then(pl.lit("insufficient"))
            .otherwise(pl.col("evidence"))
            .alias("evidence"),
            pl.when(hold & factor.is_finite() & (factor <= MORE_DATA_CAP)).then(factor).alias("more_data_factor"),
        )
        .with_columns(
            ((pl.col("more_data_factor") - 1.0) * pl.col("contact_weeks"))
            .pipe(lambda weeks: pl.when(weeks <= MORE_WEEKS_CAP).then(weeks))
            .alias("more_weeks"),
            pl.lit(as_of).alias("as_of"),
            pl.lit(model_run_id).alias("model_run_id"),
            pl.lit(currency).alias("currency"),
            pl.lit(float(hurdle)).alias("hurdle"),
            *_parts(pl.col("touchpoint")),
        )
        .select(SCORE_COLUMNS)
        .sort("touchpoint")
    )


def _with_experiments(table: pl.DataFrame, experiments: pl.DataFrame | None, lift: LiftEstimate) -> pl.DataFrame:
    """Where a randomised holdout was read, its revenue effect per assigned customer (with its interval) over
    every contact of the touchpoint replaces the observational value; its group sizes are kept."""
    reach = lift.table.select("touchpoint", "contacts", "contact_weeks")
    table = table.join(reach, on="touchpoint", how="left")
    if experiments is None or experiments.height == 0:
        return table.with_columns(
            pl.lit(None, dtype=pl.Int64).alias("experiment_treated"),
            pl.lit(None, dtype=pl.Int64).alias("experiment_control"),
        )
    read = experiments.filter(pl.col("revenue_effect").is_not_null()).select(
        "touchpoint",
        pl.col("treated_customers").cast(pl.Int64).alias("experiment_treated"),
        pl.col("control_customers").cast(pl.Int64).alias("experiment_control"),
        *[pl.col(f"revenue_effect{end}").alias(f"_effect{end}") for end in ("", "_low", "_high")],
    )
    # a touchpoint with no observed contacts is scaled to the customers the experiment treated
    reached = pl.coalesce(pl.col("contacts").cast(pl.Float64), pl.col("experiment_treated").cast(pl.Float64))
    tested = pl.col("_effect").is_not_null()
    return (
        table.join(read, on="touchpoint", how="left")
        .with_columns(
            *[
                pl.when(tested)
                .then(pl.col(f"_effect{end}") * reached)
                .otherwise(pl.col(f"incremental_value{end}"))
                .alias(f"incremental_value{end}")
                for end in ("", "_low", "_high")
            ],
            pl.when(tested).then(pl.lit("experiment")).otherwise(pl.col("evidence")).alias("evidence"),
        )
        .drop("_effect", "_effect_low", "_effect_high")
    )


def _parts(label: pl.Expr) -> list[pl.Expr]:
    """source, channel and campaign from a touchpoint label (service:<channel>, web:<...>, channel/campaign)."""
    service, web = label.str.starts_with("service:"), label.str.starts_with("web:")
    body = label.str.replace(r"^(service|web):", "")
    return [
        pl.when(service)
        .then(pl.lit("service"))
        .when(web)
        .then(pl.lit("web"))
        .otherwise(pl.lit("marketing"))
        .alias("source"),
        pl.when(web).then(pl.lit("web")).otherwise(body.str.split("/").list.first()).alias("channel"),
        pl.when(service)
        .then(pl.lit(None, dtype=pl.String))
        .when(web)
        .then(body)
        .otherwise(body.str.splitn("/", 2).struct.field("field_1"))
        .alias("campaign"),
    ]


def _value_interval(lift: LiftEstimate, retention: RetentionEstimate, interval: float) -> pl.DataFrame:
    """Quantiles of replicate incremental revenue + replicate retention value per touchpoint, the revenue
    widened to the bounds of the touches the identity graph did not link to a customer (module docstring)."""
    reps = lift.replicates.select("replicate", "touchpoint", "incremental_revenue").join(
        retention.replicates.select("replicate", "touchpoint", "retention_value"),
        on=["replicate", "touchpoint"],
        how="full",
        coalesce=True,
    )
    reps = reps.join(lift.table.select("touchpoint", "linked_share"), on="touchpoint", how="left")
    share = pl.col("linked_share").fill_null(1.0).clip(lower_bound=1e-3)
    revenue = pl.col("incremental_revenue").fill_null(0.0)
    kept = pl.col("retention_value").fill_null(0.0)
    lo, hi = (1 - interval) / 2, (1 + interval) / 2
    return (
        reps.group_by("touchpoint")
        .agg(
            (pl.min_horizontal(revenue, revenue / share) + kept)
            .quantile(lo, "linear")
            .cast(pl.Float64)
            .alias("incremental_value_low"),
            (pl.max_horizontal(revenue, revenue / share) + kept)
            .quantile(hi, "linear")
            .cast(pl.Float64)
            .alias("incremental_value_high"),
        )
        .select("touchpoint", pl.col("incremental_value_low", "incremental_value_high").fill_nan(None))
    )
