"""The ``model_runs`` row of one CLV fit (kind clv): enough to reproduce it from its run id."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from cxdata.clv.btyd import Attempt
from cxdata.config import ClvConfig
from cxdata.model_runs import model_run
from cxdata.run_context import RunContext


def model_run_record(
    run: RunContext,
    *,
    model_run_id: str,
    config: ClvConfig,
    window: tuple[dt.datetime | None, dt.datetime | None],
    calibration_end: dt.datetime,
    holdout_end: dt.datetime,
    model: str | None,
    params: dict[str, float] | None,
    log_likelihood: float | None,
    penalizer: float | None,
    spend: dict[str, Any],
    metrics: dict[str, Any],
    candidates: list[dict[str, Any]],
    attempts: list[Attempt],
    n_customers: int,
    n_orders: int,
    warnings: list[str],
    failed: str | None,
    reason: str | None = None,
) -> pl.DataFrame:
    """One row for ``model_runs`` (columns documented in sql/model_runs.sql), by `cxdata.model_runs.model_run`."""
    return model_run(
        run,
        model_run_id=model_run_id,
        kind="clv",
        config=config,
        model=model,
        failed=failed,
        reason=reason,
        window=window,
        n_customers=n_customers,
        n_orders=n_orders,
        warnings=warnings,
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        period=config.period,
        horizon_days=config.horizon_days,
        penalizer=penalizer,
        params_json=params or None,
        log_likelihood=log_likelihood,
        spend_model=spend.get("model"),
        spend_params_json=spend.get("params") or None,
        spend_correlation=spend.get("correlation"),
        holdout_aggregate_error=metrics.get("aggregate_error"),
        holdout_mae=metrics.get("mae"),
        holdout_rmse=metrics.get("rmse"),
        naive_mae=metrics.get("naive_mae"),
        naive_rmse=metrics.get("naive_rmse"),
        spend_spearman=metrics.get("spend_spearman"),
        candidates_json=candidates,
        attempts_json=[a.as_dict() for a in attempts],
    )
