"""The report's touchpoint section: the decision first (invest, cut, hold), then the evidence behind it.

Read from touchpoint_scores (latest as_of; a run between touchpoint computations
keeps the last one's, and the section says as of when). Each decision is one sentence a
marketer can act on: what a touchpoint returns per 1 unit of the project
currency spent, its interval against the hurdle, the kind of evidence and, for
a hold, how much more data would decide it. The wording matches the
decision_note column of the bi_touchpoint_investment view.

Columns the touchpoint step adds over time (evidence, intervals of the
incremental value, placebo calibration, power, currency, hurdle) are used when
the table has them; an older table gives the same section without them.
"""

from __future__ import annotations

import json
import math
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from cxdata.config import DEFAULT_CURRENCY, TouchpointConfig
from cxdata.report.document import Figure, Listing, Section, Table
from cxdata.report.scores import latest_run, moment
from cxdata.touchpoints.plots import roi_png
from cxdata.warehouse import Warehouse

DEFAULT_HURDLE = TouchpointConfig.model_fields["hurdle"].default
DECISIONS = ("invest", "cut", "hold")
VERBS = {"invest": "Invest in", "cut": "Cut", "hold": "Hold"}
NONE = {
    "invest": "No touchpoint clears the hurdle with confidence.",
    "cut": "No touchpoint falls below the hurdle with confidence.",
    "hold": "No touchpoint is undecided.",
}
# Details in the order a reader checks a verdict: decision and evidence, the ratio, the money, then credit.
# A name holding {currency} is an amount.
DETAILS = {
    "touchpoint": "touchpoint",
    "recommendation": "decision",
    "evidence": "evidence",
    "roi": "value per 1 {currency} spent",
    "roi_low": "low",
    "roi_high": "high",
    "cost": "spend ({currency})",
    "incremental_value": "incremental value ({currency})",
    "incremental_value_low": "incremental value low ({currency})",
    "incremental_value_high": "incremental value high ({currency})",
    "placebo_bias": "placebo bias ({currency})",
    "placebo_sd": "placebo spread ({currency})",
    "more_data_factor": "data needed (x today's)",
    "more_weeks": "more weeks needed",
    "incremental_revenue": "incremental revenue ({currency})",
    "retention_value": "retention value ({currency})",
    "conversions": "attributed conversions",
    "revenue": "attributed revenue ({currency})",
}
EVIDENCE = (
    "Evidence: experiment means a randomised holdout measured the effect; observational means it is estimated"
    " from contacts against each customer's own baseline, calibrated on placebo contacts (placebo bias and"
    " spread); insufficient means the interval still crosses the hurdle."
)


def _number(value: float | None, digits: int) -> str:
    if value is None or not math.isfinite(value) or abs(value) >= 1e12:
        return "?"
    # as the view rounds: through numeric(30, 6), then half away from zero, so 2.25 reads 2.3 in both
    exact = Decimal(repr(value)).quantize(Decimal("1e-6"), rounding=ROUND_HALF_UP)
    rounded = exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return str(abs(rounded) if rounded == 0 else rounded)


def decision_sentence(row: dict, currency: str, hurdle: float) -> str:
    """One touchpoint's decision in words, e.g. ``Hold paid_search/brand: returns 0.80 EUR per 1 EUR spent
    (interval 0.10 to 1.60, hurdle 1.00, evidence: insufficient); about 2.3x the data (12 more weeks) would
    decide it``. ``row`` is a touchpoint_scores row with a recommendation."""
    decision = row["recommendation"]
    evidence = f", evidence: {row['evidence']}" if row.get("evidence") else ""
    text = (
        f"{VERBS[decision]} {row['touchpoint']}: returns {_number(row['roi'], 2)} {currency} per 1 {currency}"
        f" spent (interval {_number(row['roi_low'], 2)} to {_number(row['roi_high'], 2)},"
        f" hurdle {_number(hurdle, 2)}{evidence})"
    )
    if decision != "hold" or "more_data_factor" not in row:  # a table from before power was estimated
        return text
    factor, weeks = row.get("more_data_factor"), row.get("more_weeks")
    if factor is None or not 0 < factor < 1e12:
        return text + "; at the estimated effect no amount of data in reach would decide it"
    wait = f" ({math.ceil(weeks)} more weeks)" if weeks is not None and 0 <= weeks < 1e12 else ""
    return text + f"; about {_number(factor, 1)}x the data{wait} would decide it"


def decision_order(scores: pl.DataFrame) -> pl.DataFrame:
    """``scores`` ordered as the decision is read: invest (best first), cut (worst first), hold (closest to a
    verdict first), then touchpoints without cost; the same order as bi_touchpoint_investment."""
    position = pl.col("recommendation").replace_strict(
        {d: i for i, d in enumerate(DECISIONS)}, default=len(DECISIONS), return_dtype=pl.Int64
    )
    closest = []
    if "more_data_factor" in scores.columns:
        closest = [pl.when(pl.col("recommendation") == "hold").then(pl.col("more_data_factor"))]
    worst_first = pl.when(pl.col("recommendation") == "cut").then(pl.col("roi")).otherwise(-pl.col("roi"))
    return scores.sort(position, *closest, worst_first, pl.col("touchpoint").cast(pl.String), nulls_last=True)


def decision_lists(scores: pl.DataFrame, currency: str, hurdle: float) -> dict[str, list[str]]:
    """The sentences of each decision (invest, cut, hold, in that order) for touchpoint_scores rows, each list
    in `decision_order`; for asset metadata and the report alike."""
    ordered = decision_order(scores)
    return {
        decision: [
            decision_sentence(row, currency, hurdle)
            for row in ordered.filter(pl.col("recommendation") == decision).iter_rows(named=True)
        ]
        for decision in DECISIONS
    }


def _setting(scores: pl.DataFrame, column: str, fallback):
    values = scores[column].drop_nulls() if column in scores.columns else pl.Series([])
    return values[0] if values.len() else fallback


def _hurdle(wh: Warehouse) -> float:
    run = latest_run(wh, "touchpoints")
    settings = json.loads(run.get("config_json") or "{}") if run is not None else {}
    return float(settings.get("hurdle", DEFAULT_HURDLE))


def touchpoint_section(wh: Warehouse, currency: str = DEFAULT_CURRENCY) -> Section:
    """Invest, cut and hold lists first (each hold with what would decide it), then the chart and details.

    Amounts are in the table's ``currency`` column when it has one, else in ``currency`` (the project's)."""
    section = Section(
        "touchpoints",
        "Touchpoints: where to invest",
        "What to do with each paid touchpoint (touchpoint_scores, latest as_of): invest when even the low end of"
        " its return clears the hurdle, cut when even the high end is below it, hold otherwise. " + EVIDENCE,
    )
    if not wh.exists("touchpoint_scores") or wh.row_count("touchpoint_scores") == 0:
        section.empty = "No touchpoint scores yet: touchpoint_scores is missing or empty."
        return section
    scores = wh.read("touchpoint_scores")
    scores = decision_order(scores.filter(pl.col("as_of") == scores["as_of"].max()))
    currency = _setting(scores, "currency", currency)
    hurdle = float(_setting(scores, "hurdle", None) or _hurdle(wh))
    for decision, items in decision_lists(scores, currency, hurdle).items():
        title = f"{decision.capitalize()} ({len(items)})"
        section.listings.append(Listing(decision, title, items, NONE[decision]))
    unpriced = scores.filter(pl.col("recommendation").is_null())["touchpoint"].cast(pl.String).to_list()
    if unpriced:
        section.notes.append(f"No verdict without recorded spend: {', '.join(unpriced)}.")
    run = latest_run(wh, "touchpoints")
    if run is not None and run.get("mode") == "kept":
        # a run between computations (cxdata/model_store.py): these figures are not the latest run's moment
        section.notes.append(
            f"Touchpoint figures as of {moment(scores['as_of'][0])}, computed by {run['fitted_run_id']}: the"
            f" latest run, as of {moment(run['as_of'])}, kept them (touchpoints are recomputed every"
            " models.refit_every_days days)."
        )
    if scores["roi"].is_not_null().any():
        # the chart the touchpoint step puts on its asset, against the hurdle that run recommended by
        section.figures.append(
            Figure(
                "touchpoint_roi",
                f"Incremental value per 1 {currency} spent, with interval; dashed line: the hurdle"
                f" ({_number(hurdle, 2)})",
                roi_png(scores, hurdle, currency),
            )
        )
    present = [column for column in DETAILS if column in scores.columns]
    details = scores.select(pl.col(column).alias(DETAILS[column].format(currency=currency)) for column in present)
    section.tables.append(Table(f"Details per touchpoint as of {moment(scores['as_of'][0])}", details))
    return section
