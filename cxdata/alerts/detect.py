"""Which survey answers and tickets call for a closed-loop alert, for which valuable customers.

Rules (thresholds in `cxdata.config.AlertsConfig`):

- ``nps_detractor``: an NPS answer at or below ``nps_max`` (0-10 scale);
- ``low_csat``: a CSAT answer at or below ``csat_max`` (1-5);
- ``high_effort``: a CES answer at or above ``ces_min`` (1-7, high means more effort);
- ``sla_breach``: a ticket whose first response came later than ``sla_hours`` after it
  opened, or that had none when the SLA ran out.

Only customers whose ``clv_percentile`` in customer_scores is at least
``min_clv_percentile`` alert; unscored and unresolved records never do. An
alert's id is derived from its source record (``survey:<response_id>``,
``ticket:<ticket_id>:sla``), so the same record can never alert twice.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.config import AlertsConfig

ALERT_COLUMNS = {
    "alert_id": pl.String,
    "customer_key": pl.String,
    "reason": pl.String,
    "detail": pl.String,
    "source_table": pl.String,
    "source_id": pl.String,
    "occurred_at": pl.Datetime("us", "UTC"),
    "clv": pl.Float64,
    "clv_percentile": pl.Float64,
    "value_at_risk": pl.Float64,
}


def survey_alerts(
    surveys: pl.LazyFrame, config: AlertsConfig, start: dt.datetime, end: dt.datetime
) -> pl.LazyFrame:
    """Detractor answers (fct_surveys rows) given in ``(start, end]``, one candidate alert per response."""
    kind, score = pl.col("kind").str.to_lowercase(), pl.col("score")
    reason = (
        pl.when((kind == "nps") & (score <= config.nps_max))
        .then(pl.lit("nps_detractor"))
        .when((kind == "csat") & (score <= config.csat_max))
        .then(pl.lit("low_csat"))
        .when((kind == "ces") & (score >= config.ces_min))
        .then(pl.lit("high_effort"))
    )
    return (
        surveys.filter(
            pl.col("customer_key").is_not_null()
            & (pl.col("responded_at") > pl.lit(start))
            & (pl.col("responded_at") <= pl.lit(end))
        )
        .with_columns(reason.alias("reason"), pl.col("response_id").cast(pl.String).alias("source_id"))
        .filter(pl.col("reason").is_not_null())
        .select(
            pl.concat_str(pl.lit("survey:"), "source_id").alias("alert_id"),
            pl.col("customer_key").cast(pl.String),
            "reason",
            pl.concat_str(kind, pl.lit(" score "), score).alias("detail"),
            pl.lit("fct_surveys").alias("source_table"),
            "source_id",
            pl.col("responded_at").alias("occurred_at"),
        )
    )


def ticket_alerts(
    tickets: pl.LazyFrame, config: AlertsConfig, start: dt.datetime, end: dt.datetime
) -> pl.LazyFrame:
    """Tickets (fct_tickets rows) whose first-response SLA ran out in ``(start, end]`` without a response in
    time; the alert's moment is when the SLA ran out."""
    due = pl.col("opened_at") + pl.duration(microseconds=round(config.sla_hours * 3_600_000_000))
    responded = pl.col("first_response_at")
    # A response after `end` was not there yet at `end` (as_of runs see later data they must ignore).
    late = responded.is_null() | (responded > due) | (responded > pl.lit(end))
    hours = (responded - pl.col("opened_at")).dt.total_seconds() / 3600
    detail = (
        pl.when(responded.is_null() | (responded > pl.lit(end)))
        .then(pl.lit(f"no first response within {config.sla_hours:g} h"))
        .otherwise(
            pl.concat_str(
                pl.lit("first response after "), hours.round(1), pl.lit(f" h (SLA {config.sla_hours:g} h)")
            )
        )
    )
    return (
        tickets.with_columns(due.alias("__due"))
        .filter(
            pl.col("customer_key").is_not_null()
            & late
            & (pl.col("__due") > pl.lit(start))
            & (pl.col("__due") <= pl.lit(end))
        )
        .with_columns(pl.col("ticket_id").cast(pl.String).alias("source_id"))
        .select(
            pl.concat_str(pl.lit("ticket:"), "source_id", pl.lit(":sla")).alias("alert_id"),
            pl.col("customer_key").cast(pl.String),
            pl.lit("sla_breach").alias("reason"),
            detail.alias("detail"),
            pl.lit("fct_tickets").alias("source_table"),
            "source_id",
            pl.col("__due").alias("occurred_at"),
        )
    )


def valuable_customers(scores: pl.LazyFrame, min_percentile: float) -> pl.LazyFrame:
    """customer_key, clv, clv_percentile and value_at_risk of customers at or above ``min_percentile`` (0-100).

    Missing ``clv_percentile`` is ranked from clv here; missing or null ``value_at_risk`` (churn not run yet)
    stays null rather than failing the alert.
    """
    names = scores.collect_schema().names()
    percentile = (
        pl.col("clv_percentile")
        if "clv_percentile" in names
        else pl.col("clv").rank("max") / pl.col("clv").count() * 100
    )
    at_risk = pl.col("value_at_risk") if "value_at_risk" in names else pl.lit(None)
    return scores.select(
        pl.col("customer_key").cast(pl.String),
        pl.col("clv").cast(pl.Float64),
        percentile.cast(pl.Float64).alias("clv_percentile"),
        at_risk.cast(pl.Float64).alias("value_at_risk"),
    ).filter(pl.col("clv_percentile") >= min_percentile)


def detect_alerts(
    surveys: pl.LazyFrame | None,
    tickets: pl.LazyFrame | None,
    scores: pl.LazyFrame,
    config: AlertsConfig,
    start: dt.datetime,
    end: dt.datetime,
) -> pl.LazyFrame:
    """Candidate alerts of ``(start, end]`` for customers above the clv percentile, with their clv and value
    at risk (columns `ALERT_COLUMNS`); a missing fact table contributes none."""
    parts = []
    if surveys is not None:
        parts.append(survey_alerts(surveys, config, start, end))
    if tickets is not None:
        parts.append(ticket_alerts(tickets, config, start, end))
    if not parts:
        return pl.LazyFrame(schema=ALERT_COLUMNS)
    candidates = pl.concat(parts, how="vertical_relaxed")
    return (
        candidates.join(valuable_customers(scores, config.min_clv_percentile), on="customer_key", how="inner")
        .unique("alert_id", keep="first", maintain_order=True)
        .select([pl.col(name).cast(dtype) for name, dtype in ALERT_COLUMNS.items()])
    )
