"""Marketing segments: ordered rules over score columns, one segment per customer, and their summary.

Rules live in the config (``models.churn.segments``, `cxdata.config.SegmentRule`):
a name and conditions ``{column: {min, max}}`` (inclusive, ANDed), tried in
order; the last rule has no conditions and catches everybody else. A null
value fails its condition. Columns are those of customer_scores (clv,
clv_percentile, churn_probability, value_at_risk, frequency, ...) plus
days_since_last_order and tenure_days.

A side of a bound may be relative instead: ``min_percentile`` / ``max_percentile``
(0 to 100) of the scored customers of the run that have a value in the column.
Each run resolves it to a value (`resolve`): ``min_percentile: 80`` becomes the
smallest value at least as high as 80% of the values (the top 20%), and
``max_percentile: 30`` the largest value at most as high as 30% of them. That
is the rule of customer_scores' own percentile columns (share of scored
customers whose value is at most this one's, ties sharing the highest rank), so
``{clv: {min_percentile: 80}}`` picks exactly the customers ``{clv_percentile:
{min: 80}}`` picks, and shows the CLV it means on this run. Tied values stay
together: a tie across the cut is wholly inside a ``min_percentile`` bound and
wholly outside a ``max_percentile`` one. A percentile side that no value
reaches (no scored customer has the column, or ``max_percentile`` below the
lowest tie) matches nobody.

Default rules (cxdata/config_sections.py, in this order):
- champions: CLV in the top 20% (``clv: {min_percentile: 80}``) and churn_probability <= 0.3;
- loyal: frequency >= 2 (customer_scores.frequency: repeat purchase periods, days by default) and
  churn_probability <= 0.4;
- promising_new: tenure_days <= 90 (first order in the last 90 days) and churn_probability <= 0.7;
- high_value_at_risk: value at risk (clv times churn_probability) in the top 20%
  (``value_at_risk: {min_percentile: 80}``);
- needs_attention: churn_probability <= 0.6;
- hibernating: churn_probability <= 0.85;
- lost: everybody else.

High value and value at stake are relative: what counts as a high CLV depends on the business, so they are
the top of this project's own distribution. "At risk" is the value at risk rather than a churn percentile:
CLV comes from the same purchase model as the churn risk, so the two rank customers almost in reverse order
(see docs/design.md), and a top share of each picks almost nobody together; their product ranks the value
that would be lost. The churn bounds are absolute: a calibrated probability means the same on every project
(0.3: at least a 70% chance of an order in the horizon), and where most customers are likely gone the
segments should say so. The 90 days of promising_new are a calendar fact: a project whose customers all
started long ago (CDNOW as of 1998-06-30) has nobody in it.

segment_summary carries each segment's definition beside its figures: the rule in words with the values a
relative bound resolved to (`describe`), the resolved thresholds as JSON and, for the default segment names,
a suggested action (`ACTIONS`).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass

import polars as pl
from matplotlib.figure import Figure

from cxdata.config import DEFAULT_CURRENCY, Bound, SegmentRule


@dataclass(frozen=True)
class Condition:
    """One column's bound in a rule as one scoring applies it: the configured bound and the values its sides
    are (a percentile side resolved on the scored customers; None when no value reaches it)."""

    column: str
    bound: Bound
    min: float | None
    max: float | None

    @property
    def matches_nobody(self) -> bool:
        """Whether a percentile side found no value, so that the condition holds for nobody."""
        return (self.bound.min_percentile is not None and self.min is None) or (
            self.bound.max_percentile is not None and self.max is None
        )

    def expr(self) -> pl.Expr:
        """True where a row's value is within the bounds (null values never are)."""
        if self.matches_nobody:
            return pl.lit(False)
        condition = pl.lit(True)
        if self.min is not None:
            condition = condition & (pl.col(self.column) >= self.min).fill_null(False)
        if self.max is not None:
            condition = condition & (pl.col(self.column) <= self.max).fill_null(False)
        return condition


def _percentile_side(column: str, percentile: float, side: str) -> pl.Expr:
    # the percentile of a value is 100 * (values at most it) / (values), as customer_scores' percentile columns
    values = pl.col(column)
    rank, count = values.rank("max").cast(pl.Float64) * 100, values.count().cast(pl.Float64) * percentile
    if side == "min":
        return values.filter(rank >= count).min().cast(pl.Float64)
    return values.filter(rank <= count).max().cast(pl.Float64)


def resolve(scores: pl.DataFrame, rules: list[SegmentRule]) -> list[list[Condition]]:
    """Each rule's conditions with every side a value: percentile sides resolved on ``scores`` (see the
    module doc), in one pass over the frame."""
    wanted = {
        f"{i}/{column}/{side}": _percentile_side(column, getattr(bound, f"{side}_percentile"), side)
        for i, rule in enumerate(rules)
        for column, bound in rule.conditions.items()
        for side in ("min", "max")
        if getattr(bound, f"{side}_percentile") is not None
    }
    found = scores.select(**wanted).row(0, named=True) if wanted else {}
    return [
        [
            Condition(
                column,
                bound,
                found.get(f"{i}/{column}/min", bound.min),
                found.get(f"{i}/{column}/max", bound.max),
            )
            for column, bound in rule.conditions.items()
        ]
        for i, rule in enumerate(rules)
    ]


def segment_expr(rules: list[SegmentRule], conditions: list[list[Condition]]) -> pl.Expr:
    """The ``segment`` of each row: the name of the first rule whose resolved ``conditions`` it meets (the last
    rule matches all)."""
    expr = pl.lit(rules[-1].name)
    for rule, held in reversed(list(zip(rules[:-1], conditions[:-1], strict=True))):
        matches = pl.lit(True)
        for condition in held:
            matches = matches & condition.expr()
        expr = pl.when(matches).then(pl.lit(rule.name)).otherwise(expr)
    return expr.alias("segment")


def assign_segments(scores: pl.DataFrame, rules: list[SegmentRule]) -> pl.DataFrame:
    """``scores`` with a ``segment`` column, percentile bounds resolved on ``scores`` itself; raises naming any
    column a rule needs that is missing."""
    needed = {c for rule in rules for c in rule.conditions}
    missing = sorted(needed - set(scores.columns))
    if missing:
        raise ValueError(f"segment rules use column(s) {missing} that the scores lack; they have {scores.columns}")
    return scores.with_columns(segment_expr(rules, resolve(scores, rules)))


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
# how a relative bound names its column in words; other columns by name
LABELS = {
    "churn_probability": "churn risk",
    "clv": "CLV",
    "value_at_risk": "value at risk",
    "frequency": "repeat purchases",
    "monetary_value": "average repeat spend",
    "expected_purchases": "expected purchases",
    "p_alive": "probability still active",
}


def _shown(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.4g}"


def _relative(condition: Condition) -> str | None:
    bound, column = condition.bound, condition.column
    label = LABELS.get(column, column.replace("_", " "))
    low, high = bound.min_percentile, bound.max_percentile
    if low is None and high is None:
        return None
    if low is not None and high is not None:
        words = f"{label} from percentile {low:g} to {high:g}"
    elif low is not None:
        words = f"{label} in the top {100 - low:g}%"
    else:
        words = f"{label} in the bottom {high:g}%"
    if condition.matches_nobody:
        return f"{words} (no scored customer's {column} reaches it: nobody)"
    if low is not None and high is not None:
        return f"{words} ({_shown(condition.min)} ≤ {column} ≤ {_shown(condition.max)})"
    if low is not None:
        return f"{words} ({column} ≥ {_shown(condition.min)})"
    return f"{words} ({column} ≤ {_shown(condition.max)})"


def _absolute(condition: Condition) -> str | None:
    low, high, column = condition.bound.min, condition.bound.max, condition.column
    if low is not None and high is not None:
        return f"{low:g} ≤ {column} ≤ {high:g}"
    if low is not None:
        return f"{column} ≥ {low:g}"
    if high is not None:
        return f"{column} ≤ {high:g}"
    return None


def describe(conditions: list[Condition]) -> str:
    """A rule in words: its conditions joined by "and", a relative bound with the value it resolved to
    ("value at risk in the top 20% (value_at_risk ≥ 82.88)"), or who is left for the last rule."""
    parts = [part for c in conditions for part in (_relative(c), _absolute(c)) if part is not None]
    return " and ".join(parts) if parts else "everyone not in an earlier segment"


def thresholds_json(conditions: list[Condition]) -> str:
    """A rule's resolved thresholds as JSON: per column the configured percentiles and the values applied
    (``{"value_at_risk": {"min_percentile": 80, "min": 82.878}}``; a side no value reached is null)."""
    shown = {}
    for c in conditions:
        sides = {"min_percentile": c.bound.min_percentile, "max_percentile": c.bound.max_percentile}
        shown[c.column] = {k: v for k, v in sides.items() if v is not None}
        for side, value in (("min", c.min), ("max", c.max)):
            if value is not None or sides[f"{side}_percentile"] is not None:
                shown[c.column][side] = value
    return json.dumps(shown)


def segment_members(scored: pl.DataFrame, as_of: dt.datetime, run_id: str) -> pl.DataFrame:
    """segment_members rows: segment, customer_key, as_of, run_id."""
    return scored.select(
        "segment", "customer_key", pl.lit(as_of).alias("as_of"), pl.lit(run_id).alias("run_id")
    ).sort("segment", "customer_key")


def segment_summary(
    scored: pl.DataFrame,
    rules: list[SegmentRule],
    as_of: dt.datetime,
    run_id: str,
    currency: str = DEFAULT_CURRENCY,
):
    """Per segment in rule order (empty ones included): customers, total clv and value at risk in ``currency``,
    mean churn, and the segment's definition on this scoring: its rule in words, its thresholds as JSON
    (percentile bounds resolved on ``scored``, as `assign_segments` did) and the suggested action
    (`describe`, `ACTIONS`)."""
    conditions = resolve(scored, rules)
    order = pl.DataFrame(
        {
            "segment": [r.name for r in rules],
            "rule_order": list(range(1, len(rules) + 1)),
            "rule": [describe(c) for c in conditions],
            "thresholds_json": [thresholds_json(c) for c in conditions],
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
            pl.lit(currency).alias("currency"),
            pl.lit(as_of).alias("as_of"),
            pl.lit(run_id).alias("run_id"),
        )
        .sort("rule_order")
    )


def definitions(summary: pl.DataFrame) -> pl.DataFrame:
    """The segment definitions of one scoring's ``summary`` rows, as the segment_definitions view shows them:
    segment_order, segment, rule, suggested_action, customers and share_of_customers (0..1)."""
    return summary.sort("rule_order").select(
        pl.col("rule_order").alias("segment_order"),
        "segment",
        "rule",
        "suggested_action",
        "customers",
        pl.when(pl.col("customers").sum() > 0)
        .then(pl.col("customers") / pl.col("customers").sum())
        .alias("share_of_customers"),
    )


def definitions_markdown(defined: pl.DataFrame) -> str:
    """`definitions` as a markdown table, the share in percent (what the Dagster UI shows)."""
    rows = ["| order | segment | rule | suggested action | customers | share |", "|---|---|---|---|---|---|"]
    for row in defined.iter_rows(named=True):
        share = "-" if row["share_of_customers"] is None else f"{100 * row['share_of_customers']:.1f}%"
        cells = (
            row["segment_order"],
            row["segment"],
            row["rule"],
            row["suggested_action"] or "-",
            row["customers"],
        )
        rows.append("| " + " | ".join(str(c) for c in cells) + f" | {share} |")
    return "\n".join(rows)


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
