"""Marketing segments: ordered rules over score columns, one segment per customer, and their summary.

Rules live in the config (``models.churn.segments``, `cxdata.config.SegmentRule`):
a name and conditions ``{column: {min, max}}`` (inclusive, ANDed), tried in
order; the last rule has no conditions and catches everybody else. A null
value fails its condition. Columns are those of customer_scores (clv_percentile,
churn_probability, frequency, ...) plus days_since_last_order and tenure_days.

Default rules (cxdata/config.py, in this order):
- champions: clv_percentile >= 80 and churn_probability <= 0.3;
- loyal: frequency >= 2 (customer_scores.frequency: repeat purchase periods, days by default) and
  churn_probability <= 0.4;
- promising_new: tenure_days <= 90 (first order in the last 90 days) and churn_probability <= 0.7;
- high_value_at_risk: clv_percentile >= 60 and churn_probability >= 0.4;
- needs_attention: churn_probability <= 0.6;
- hibernating: churn_probability <= 0.85;
- lost: everybody else.

segment_summary carries each segment's definition beside its figures: the rule in words (`describe`) and, for
the default segment names, a suggested action (`ACTIONS`).
"""

from __future__ import annotations

import datetime as dt
import io

import polars as pl
from matplotlib.figure import Figure

from cxdata.config import SegmentRule


def _matches(rule: SegmentRule) -> pl.Expr:
    condition = pl.lit(True)
    for column, bound in rule.conditions.items():
        if bound.min is not None:
            condition = condition & (pl.col(column) >= bound.min).fill_null(False)
        if bound.max is not None:
            condition = condition & (pl.col(column) <= bound.max).fill_null(False)
    return condition


def segment_expr(rules: list[SegmentRule]) -> pl.Expr:
    """The ``segment`` of each row: the name of the first rule it matches (the last rule matches all)."""
    expr = pl.lit(rules[-1].name)
    for rule in reversed(rules[:-1]):
        expr = pl.when(_matches(rule)).then(pl.lit(rule.name)).otherwise(expr)
    return expr.alias("segment")


def assign_segments(scores: pl.DataFrame, rules: list[SegmentRule]) -> pl.DataFrame:
    """``scores`` with a ``segment`` column; raises naming any column a rule needs that is missing."""
    needed = {c for rule in rules for c in rule.conditions}
    missing = sorted(needed - set(scores.columns))
    if missing:
        raise ValueError(f"segment rules use column(s) {missing} that the scores lack; they have {scores.columns}")
    return scores.with_columns(segment_expr(rules))


# what marketing does with each default segment; a project's own segment names have no suggestion
ACTIONS = {
    "champions": "Reward and ask for reviews or referrals; they buy without discounts.",
    "loyal": "Cross-sell and give early access; keep them engaged without discounting.",
    "promising_new": "Onboarding series and an incentive for the second purchase.",
    "high_value_at_risk": "Personal win-back contact now: the value at stake is the highest.",
    "needs_attention": "Reactivation reminders and recommendations before they drift further.",
    "hibernating": "Low-cost reactivation only; keep them out of expensive channels.",
    "lost": "Leave out of paid media; an occasional low-cost win-back at most.",
}


def describe(rule: SegmentRule) -> str:
    """The rule in words: its conditions joined by "and", or who is left for the last rule."""
    parts = []
    for column, bound in rule.conditions.items():
        if bound.min is not None and bound.max is not None:
            parts.append(f"{bound.min:g} ≤ {column} ≤ {bound.max:g}")
        elif bound.min is not None:
            parts.append(f"{column} ≥ {bound.min:g}")
        elif bound.max is not None:
            parts.append(f"{column} ≤ {bound.max:g}")
    return " and ".join(parts) if parts else "everyone not in an earlier segment"


def segment_members(scored: pl.DataFrame, as_of: dt.datetime, run_id: str) -> pl.DataFrame:
    """segment_members rows: segment, customer_key, as_of, run_id."""
    return scored.select(
        "segment", "customer_key", pl.lit(as_of).alias("as_of"), pl.lit(run_id).alias("run_id")
    ).sort("segment", "customer_key")


def segment_summary(scored: pl.DataFrame, rules: list[SegmentRule], as_of: dt.datetime, run_id: str):
    """Per segment in rule order (empty ones included): customers, total clv and value at risk, mean churn, and
    the segment's definition: its rule in words and the suggested action (`describe`, `ACTIONS`)."""
    order = pl.DataFrame(
        {
            "segment": [r.name for r in rules],
            "rule_order": list(range(1, len(rules) + 1)),
            "rule": [describe(r) for r in rules],
            "suggested_action": [ACTIONS.get(r.name) for r in rules],
        },
        schema_overrides={"suggested_action": pl.String},
    )
    stats = scored.group_by("segment").agg(
        pl.len().alias("customers"),
        pl.col("clv").sum().alias("total_clv"),
        pl.col("value_at_risk").sum().alias("total_value_at_risk"),
        pl.col("churn_probability").mean().alias("mean_churn_probability"),
    )
    return (
        order.join(stats, on="segment", how="left")
        .with_columns(
            pl.col("customers").fill_null(0).cast(pl.Int64),
            pl.col("total_clv", "total_value_at_risk").fill_null(0.0),
            pl.lit(as_of).alias("as_of"),
            pl.lit(run_id).alias("run_id"),
        )
        .sort("rule_order")
    )


def summary_png(summary: pl.DataFrame) -> bytes:
    """PNG bytes of a bar chart: customers per segment, with total value at risk on a second axis."""
    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    names = summary["segment"].to_list()
    positions = list(range(len(names)))
    ax.bar([p - 0.2 for p in positions], summary["customers"].to_list(), width=0.4, label="customers")
    ax.set_ylabel("customers")
    risk = ax.twinx()
    risk.bar([p + 0.2 for p in positions], summary["total_value_at_risk"].to_list(), width=0.4, color="tab:red",
             label="value at risk")  # fmt: skip
    risk.set_ylabel("total value at risk")
    ax.set_xticks(positions, names, rotation=30, ha="right")
    ax.set_title("Segments: size and value at risk")
    fig.legend(loc="upper right")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()
