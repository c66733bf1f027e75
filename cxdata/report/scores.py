"""Report sections about the customer models: lifetime value and value at risk, churn.

Model facts come from model_runs (the latest run of each kind), scores from
customer_scores and segment_summary. Missing tables, failed runs and churn
columns that are still null give a section or note saying so. Amounts are
labelled with the project currency. The touchpoint section is in
`cxdata.report.touchpoints`.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl

from cxdata.churn.plots import calibration_bins_png
from cxdata.churn.segments import definitions, summary_png
from cxdata.config import DEFAULT_CURRENCY
from cxdata.report import plots
from cxdata.report.document import Figure, Section, Table, facts_table
from cxdata.warehouse import Warehouse

CHURN_METRICS = ["customers", "churn_rate", "auc", "average_precision", "brier", "log_loss", "lift_top_decile"]
CLV_RUN_COLUMNS = [
    "model_run_id", "model", "as_of", "n_customers", "horizon_days", "holdout_aggregate_error", "holdout_mae",
    "naive_mae", "spend_model", "spend_spearman",
]  # fmt: skip


def moment(value: dt.datetime | None) -> str:
    """A timestamp as shown in the report: minutes, UTC."""
    return "-" if value is None else f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def latest_run(wh: Warehouse, kind: str) -> dict | None:
    """The most recently trained model_runs row of ``kind`` (clv or churn), or None."""
    if not wh.exists("model_runs"):
        return None
    runs = wh.read("model_runs", where={"kind": kind})
    return runs.sort("trained_at").row(-1, named=True) if runs.height else None


def value_section(wh: Warehouse, currency: str = DEFAULT_CURRENCY) -> Section:
    """CLV distribution and summary, the CLV model's holdout accuracy, value at risk by segment; amounts in
    ``currency``."""
    section = Section(
        "value",
        "Customer lifetime value and value at risk",
        "CLV of every scored buyer (customer_scores), the CLV model's holdout accuracy (model_runs) and the"
        " value at risk (CLV times churn probability) of each marketing segment (segment_summary).",
    )
    run = latest_run(wh, "clv")
    if run is not None and run.get("status") == "failed":
        # a failed run leaves the last good run's scores in place: they must not read as this run's
        reason = run.get("failure_reason") or "the CLV model failed"
        section.empty = f"No CLV this run: {reason} (model run {run['model_run_id']}; see model_runs)."
        return section
    if not wh.exists("customer_scores") or wh.row_count("customer_scores") == 0:
        section.empty = "No customer scores yet: the CLV model has not run or failed (see model_runs)."
        return section
    clv = _clv(wh)
    if clv.len() == 0:
        section.empty = "customer_scores has no CLV values."
        return section
    section.figures.append(_clv_chart(clv, currency))
    top = clv.sort(descending=True).head(max(1, clv.len() // 10))
    summary = {
        "scored customers": f"{clv.len():,}",
        "total CLV": f"{clv.sum():,.0f} {currency}",
        "mean CLV": f"{clv.mean():,.2f} {currency}",
        "median CLV": f"{clv.median():,.2f} {currency}",
        "90th percentile": f"{clv.quantile(0.9):,.2f} {currency}",
        "share of CLV in the top 10 % of customers": f"{100 * top.sum() / clv.sum():.1f} %" if clv.sum() else "-",
    }
    section.tables.append(facts_table("CLV summary", summary))
    if run is not None:
        facts = {c: run.get(c) for c in CLV_RUN_COLUMNS}
        facts["as_of"] = moment(facts["as_of"])
        section.tables.append(
            facts_table(
                "Latest CLV model run (holdout errors: lower is better; naive_mae is the baseline's)", facts
            )
        )
    _segments(wh, section, currency)
    return section


def _clv(wh: Warehouse) -> pl.Series:
    return wh.read("customer_scores", columns=["clv"])["clv"].drop_nulls()


def _clv_chart(clv: pl.Series, currency: str) -> Figure:
    # the top percent would squeeze every other customer into the first bin
    cap = float(clv.quantile(0.99) or 0.0) or float(clv.max() or 1.0)
    return Figure(
        "clv_distribution", f"CLV per customer ({currency})", plots.clv_distribution_png(clv, cap, currency)
    )


def clv_figure(wh: Warehouse, currency: str = DEFAULT_CURRENCY) -> Figure | None:
    """The report's CLV histogram from customer_scores, amounts in ``currency``; None without CLV values."""
    if not wh.exists("customer_scores"):
        return None
    clv = _clv(wh)
    return _clv_chart(clv, currency) if clv.len() else None


def _segments(wh: Warehouse, section: Section, currency: str) -> None:
    if not wh.exists("segment_summary") or wh.row_count("segment_summary") == 0:
        section.notes.append(
            "No churn segments yet: value at risk by segment appears once the churn model has run."
        )
        return
    summary = wh.read("segment_summary")
    summary = summary.filter(pl.col("as_of") == summary["as_of"].max()).sort("rule_order")
    section.figures.append(
        Figure("segment_value_at_risk", "Customers and value at risk by segment", summary_png(summary))
    )
    shown = summary.select(
        "segment",
        "customers",
        pl.col("total_clv").alias(f"total CLV ({currency})"),
        pl.col("total_value_at_risk").alias(f"value at risk ({currency})"),
        "mean_churn_probability",
    )
    section.tables.append(Table(f"Segments as of {moment(summary['as_of'][0])}", shown))
    if "rule" in summary.columns:  # a summary published before segments carried their definitions has none
        defined = definitions(summary).select(
            pl.col("segment_order").alias("order"),
            "segment",
            "rule",
            pl.col("suggested_action").alias("suggested action"),
            "customers",
            (pl.col("share_of_customers") * 100).round(1).alias("share (%)"),
        )
        section.tables.append(
            Table("Segment definitions: customers go to the first rule they match (segment_definitions)", defined)
        )


def churn_section(wh: Warehouse) -> Section:
    """The latest churn run: holdout metrics of the model and baselines, calibration, feature importances."""
    section = Section(
        "churn",
        "Churn model",
        "Holdout metrics of the latest churn run (model_runs) for the chosen classifier and its baselines,"
        " its calibration and the features that matter most.",
    )
    run = latest_run(wh, "churn")
    if run is None:
        section.empty = (
            "No churn model run yet: churn scores, calibration and holdout metrics appear once it runs."
        )
        return section
    if run["status"] != "ok":
        section.empty = f"The latest churn run ({run['model_run_id']}) failed: {run['failure_reason']}"
        return section
    candidates = json.loads(run["candidates_json"] or "{}")
    metrics = pl.DataFrame(
        [{"model": name, "chosen": name == run["model"], **{m: values.get(m) for m in CHURN_METRICS}}
         for name, values in candidates.items()],
        schema={"model": pl.String, "chosen": pl.Boolean, **dict.fromkeys(CHURN_METRICS, pl.Float64)},
    )  # fmt: skip
    facts = {
        "model_run_id": run["model_run_id"],
        "chosen model": run["model"],
        "as_of": moment(run["as_of"]),
        "holdout cutoff": moment(run["calibration_end"]),
        "horizon (days)": str(run["horizon_days"]),
        "training rows": f"{run['training_rows'] or 0:,}",
        "scored customers": f"{run['n_customers'] or 0:,}",
        "warnings": run["warnings"] or "none",
    }
    section.tables.append(facts_table("Latest churn run", facts))
    section.tables.append(Table("Holdout metrics (AUC, lift: higher is better; Brier, log loss: lower)", metrics))
    _calibration(wh, section, candidates, run)
    ranked = json.loads(run["importances_json"] or "[]")[:10]
    if ranked:
        section.tables.append(
            Table("Permutation importance on the holdout (ROC AUC drop), top 10", pl.DataFrame(ranked))
        )
    return section


def _calibration(wh: Warehouse, section: Section, candidates: dict, run: dict) -> None:
    # a run that stored its holdout bins is drawn from them; otherwise scores of an earlier as_of are
    # checked against the orders that followed, once a whole horizon has passed
    curves = {
        name: (values["calibration"]["predicted"], values["calibration"]["observed"])
        for name, values in candidates.items()
        if values.get("calibration", {}).get("predicted")
    }
    if curves:
        section.figures.append(
            Figure("churn_calibration", "Holdout calibration: observed churn rate by predicted probability bin",
                   calibration_bins_png(curves))
        )  # fmt: skip
        return
    backtest = churn_backtest(wh, int(run["horizon_days"]))
    if backtest is None:
        section.notes.append(
            "Calibration curve: this churn run stored no holdout bins and no earlier scores have a whole horizon"
            " of later orders to check against yet; the Brier score above measures calibration meanwhile."
        )
        return
    # scikit-learn takes seconds to import: only a back-test needs it
    from cxdata.churn.evaluate import calibration_png

    as_of, y, p = backtest
    section.figures.append(
        Figure("churn_calibration", f"Back-test calibration of the scores as of {as_of}: churn observed since",
               calibration_png(y, {f"scores as of {as_of:%Y-%m-%d}": p}))
    )  # fmt: skip


def churn_backtest(wh: Warehouse, horizon_days: int) -> tuple[dt.datetime, np.ndarray, np.ndarray] | None:
    """Labels and probabilities of the latest scored as_of whose whole horizon the orders now cover, or None."""
    needed = ("customer_scores_history", "fct_orders")
    if not all(wh.exists(t) for t in needed) or "churn_probability" not in wh.columns(needed[0]):
        return None
    last_order = wh.query("select max(ordered_at) as last_order from fct_orders")["last_order"][0]
    moments = wh.query("select distinct as_of from customer_scores_history where churn_probability is not null")[
        "as_of"
    ]
    horizon = dt.timedelta(days=horizon_days)
    complete = [m for m in moments.to_list() if last_order is not None and m + horizon <= last_order]
    if not complete:
        return None
    as_of = max(complete)
    scored = wh.query(
        "select customer_key, churn_probability from customer_scores_history"
        " where as_of = :as_of and churn_probability is not null",
        {"as_of": as_of},
    ).unique("customer_key")
    bought = wh.query(
        "select distinct customer_key from fct_orders where not is_refund and ordered_at > :start"
        " and ordered_at <= :end",
        {"start": as_of, "end": as_of + horizon},
    )
    labelled = scored.with_columns(
        (~pl.col("customer_key").is_in(bought["customer_key"].implode())).alias("churned")
    )
    return as_of, labelled["churned"].to_numpy(), labelled["churn_probability"].to_numpy()
