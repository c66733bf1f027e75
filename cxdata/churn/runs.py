"""The ``model_runs`` row of one churn fit, in the table CLV writes to (kind "churn").

Shared columns keep their CLV meaning where one exists: calibration_end is the
holdout cutoff (as_of - horizon_days), holdout_end is as_of, params_json holds
the classifier's hyper-parameters and candidates_json the holdout metrics of
every model and baseline. Churn-only columns (holdout_auc ...) are null on CLV
rows, and CLV-only ones null here.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.churn.train import Training
from cxdata.config import ChurnConfig
from cxdata.model_runs import model_run
from cxdata.run_context import RunContext


def churn_run_record(
    run: RunContext,
    *,
    model_run_id: str,
    config: ChurnConfig,
    window: tuple[dt.datetime | None, dt.datetime | None],
    training: Training | None,
    n_customers: int,
    n_orders: int,
    warnings: list[str],
    failed: str | None,
    reason: str | None = None,
) -> pl.DataFrame:
    """One ``model_runs`` row of a churn run (columns described in the module doc and sql/model_runs.sql)."""
    chosen = training.metrics.get(training.chosen, {}) if training else {}
    metrics = training.metrics if training else {}
    settings = {**training.model.get_params(), "calibration_choice": training.calibration} if training else None
    return model_run(
        run,
        model_run_id=model_run_id,
        kind="churn",
        config=config,
        model=training.chosen if training else None,
        failed=failed,
        reason=reason,
        window=window,
        n_customers=n_customers,
        n_orders=n_orders,
        warnings=warnings,
        calibration_end=training.cutoffs.holdout if training else None,
        holdout_end=run.as_of,
        period="D",
        horizon_days=config.horizon_days,
        params_json=settings,
        candidates_json=metrics,
        holdout_auc=chosen.get("auc"),
        holdout_average_precision=chosen.get("average_precision"),
        holdout_brier=chosen.get("brier"),
        holdout_log_loss=chosen.get("log_loss"),
        holdout_lift_top_decile=chosen.get("lift_top_decile"),
        holdout_brier_uncalibrated=metrics.get("churn_hgb_uncalibrated", {}).get("brier"),
        baseline_btyd_auc=metrics.get("btyd_baseline", {}).get("auc"),
        baseline_rfm_logit_auc=metrics.get("churn_rfm_logit", {}).get("auc"),
        training_rows=training.training_rows if training else None,
        cutoffs_json=training.cutoffs.__dict__ if training else None,
        importances_json=training.importances if training else None,
    )
