"""Return on spend per touchpoint and the recommendation that follows from its interval.

The value a touchpoint earns is its *incremental* revenue (the orders it adds
over the customers' own baseline, `cxdata.touchpoints.lift`) plus its
retention value (churn it prevents times what a kept customer spends,
`cxdata.touchpoints.retention`). Attributed credit (conversions, revenue, CLV
of acquired customers under the chosen model) is published beside it, but is
not the value: attribution also credits touches that did not change the
outcome, and the CLV of a customer who already buys is not caused by one touch.

``roi = (incremental_revenue + retention_value) / cost`` over the costs of
every period that starts by ``as_of``; the interval is the bootstrap quantile
interval of that ratio (replicate r of both estimates, summed). The
recommendation is ``invest`` when the interval's low end is above the hurdle,
``cut`` when its high end is below it, ``hold`` otherwise, and null for a
touchpoint without cost (service channels, organic web sources): with no spend
there is no return on spend to judge.
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
    "cost",
    "roi",
    "roi_low",
    "roi_high",
    "recommendation",
    "model_run_id",
]


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
) -> pl.DataFrame:
    """One row per touchpoint (attributed, estimated or paid for): credit, value, cost, ROI interval, verdict."""
    credit = attribution.filter((pl.col("model") == model) & pl.col("touchpoint").is_not_null()).select(
        "touchpoint",
        "conversions",
        "revenue",
        pl.col("clv").alias("attributed_clv"),
        "removal_effect",
    )
    lifted = lift.table.select("touchpoint", "incremental_orders", "incremental_revenue")
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
    table = (
        names.join(credit, on="touchpoint", how="left")
        .join(lifted, on="touchpoint", how="left")
        .join(kept, on="touchpoint", how="left")
        .join(costs, on="touchpoint", how="left")
        .with_columns(
            (pl.col("incremental_revenue").fill_null(0.0) + pl.col("retention_value").fill_null(0.0)).alias(
                "incremental_value"
            )
        )
    )
    bounds = _roi_interval(lift, retention, costs, interval)
    table = table.join(bounds, on="touchpoint", how="left").with_columns(
        pl.when(pl.col("cost") > 0).then(pl.col("incremental_value") / pl.col("cost")).alias("roi"),
        pl.when(pl.col("cost") > 0).then(pl.col("roi_low")).alias("roi_low"),
        pl.when(pl.col("cost") > 0).then(pl.col("roi_high")).alias("roi_high"),
    )
    return (
        table.with_columns(
            recommend(pl.col("roi_low"), pl.col("roi_high"), pl.col("cost"), hurdle).alias("recommendation"),
            pl.lit(as_of).alias("as_of"),
            pl.lit(model_run_id).alias("model_run_id"),
            *_parts(pl.col("touchpoint")),
        )
        .select(SCORE_COLUMNS)
        .sort("touchpoint")
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


def _roi_interval(
    lift: LiftEstimate, retention: RetentionEstimate, costs: pl.DataFrame, interval: float
) -> pl.DataFrame:
    """Quantiles of (replicate incremental revenue + replicate retention value) / cost per touchpoint."""
    reps = lift.replicates.select("replicate", "touchpoint", "incremental_revenue").join(
        retention.replicates.select("replicate", "touchpoint", "retention_value"),
        on=["replicate", "touchpoint"],
        how="full",
        coalesce=True,
    )
    lo, hi = (1 - interval) / 2, (1 + interval) / 2
    value = pl.col("incremental_revenue").fill_null(0.0) + pl.col("retention_value").fill_null(0.0)
    return (
        reps.join(costs.filter(pl.col("cost") > 0), on="touchpoint")
        .with_columns((value / pl.col("cost")).alias("ratio"))
        .group_by("touchpoint")
        .agg(
            pl.col("ratio").quantile(lo, "linear").alias("roi_low"),
            pl.col("ratio").quantile(hi, "linear").alias("roi_high"),
        )
        .with_columns(pl.col("roi_low").cast(pl.Float64), pl.col("roi_high").cast(pl.Float64))
        .select("touchpoint", *[pl.col(c).fill_nan(None) for c in ("roi_low", "roi_high")])
        .pipe(
            lambda f: (
                f
                if f.height
                else pl.DataFrame(schema={"touchpoint": pl.String, "roi_low": pl.Float64, "roi_high": pl.Float64})
            )
        )
    )
