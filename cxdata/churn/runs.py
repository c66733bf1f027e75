"""The ``model_runs`` record of one churn fit, in the table CLV writes to (kind "churn").

Shared columns keep their CLV meaning where one exists: calibration_end is the
holdout cutoff (as_of - horizon_days), holdout_end is as_of, params_json holds
the classifier's hyper-parameters and candidates_json the holdout metrics of
every model and baseline. Churn-only columns (holdout_auc ...) are null on CLV
rows, and CLV-only ones null here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from cxdata.churn.train import Training
from cxdata.clv.runs import cxdata_version, to_json
from cxdata.config import ChurnConfig


def churn_run_record(
    *,
    model_run_id: str,
    run_id: str,
    config: ChurnConfig,
    as_of: dt.datetime,
    window: tuple[dt.datetime | None, dt.datetime | None],
    training: Training | None,
    n_customers: int,
    n_orders: int,
    warnings: list[str],
    failed: str | None,
    trained_at: dt.datetime,
) -> pl.DataFrame:
    """One ``model_runs`` row of a churn run (columns described in the module doc and sql/model_runs.sql)."""
    chosen = training.metrics.get(training.chosen, {}) if training else {}
    metrics = training.metrics if training else {}
    row: dict[str, Any] = {
        "model_run_id": model_run_id,
        "run_id": run_id,
        "kind": "churn",
        "status": "failed" if failed else "ok",
        "failure_reason": failed,
        "model": training.chosen if training else None,
        "trained_at": trained_at,
        "as_of": as_of,
        "data_first_order": window[0],
        "data_last_order": window[1],
        "calibration_end": training.cutoffs.holdout if training else None,
        "holdout_end": as_of,
        "period": "D",
        "horizon_days": config.horizon_days,
        "n_customers": n_customers,
        "n_orders": n_orders,
        "params_json": (
            to_json({**training.model.get_params(), "calibration_choice": training.calibration})
            if training
            else None
        ),
        "candidates_json": to_json(metrics),
        "holdout_auc": chosen.get("auc"),
        "holdout_average_precision": chosen.get("average_precision"),
        "holdout_brier": chosen.get("brier"),
        "holdout_log_loss": chosen.get("log_loss"),
        "holdout_lift_top_decile": chosen.get("lift_top_decile"),
        "holdout_brier_uncalibrated": metrics.get("churn_hgb_uncalibrated", {}).get("brier"),
        "baseline_btyd_auc": metrics.get("btyd_baseline", {}).get("auc"),
        "baseline_rfm_logit_auc": metrics.get("churn_rfm_logit", {}).get("auc"),
        "training_rows": training.training_rows if training else None,
        "cutoffs_json": to_json(training.cutoffs.__dict__) if training else None,
        "importances_json": to_json(training.importances) if training else None,
        "warnings": "; ".join(warnings) or None,
        "seed": config.seed,
        "config_json": to_json(config.model_dump()),
        "cxdata_version": cxdata_version(),
    }
    moments = ("trained_at", "as_of", "data_first_order", "data_last_order", "calibration_end", "holdout_end")
    ints = ("horizon_days", "n_customers", "n_orders", "training_rows", "seed")
    floats = [c for c in row if c.startswith(("holdout_", "baseline_")) and c != "holdout_end"]
    schema: dict[str, pl.DataType] = {c: pl.Datetime("us", "UTC") for c in moments}
    schema |= {c: pl.Int64 for c in ints} | {c: pl.Float64 for c in floats}
    return pl.DataFrame([row], schema={c: schema.get(c, pl.String) for c in row})
