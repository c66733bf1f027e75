"""The ``model_runs`` record of one CLV fit: enough to reproduce it from its run id.

Nested values (parameters, holdout metrics, attempts) are JSON text so that the
row publishes the same way to DuckDB and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from importlib import metadata
from typing import Any

import polars as pl

from cxdata.clv.btyd import Attempt
from cxdata.config import ClvConfig


def cxdata_version() -> str:
    """The installed cxdata version, or "unknown" outside an installed package."""
    try:
        return metadata.version("cxdata")
    except metadata.PackageNotFoundError:
        return "unknown"


def to_json(value: Any) -> str:
    """``value`` as JSON text for a model_runs column (keys sorted, anything else as its string)."""
    return json.dumps(value, default=str, sort_keys=True)


def model_run_record(
    *,
    model_run_id: str,
    run_id: str,
    config: ClvConfig,
    as_of: dt.datetime,
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
    trained_at: dt.datetime | None = None,
) -> pl.DataFrame:
    """One row for ``model_runs`` (columns documented in sql/model_runs.sql)."""
    row = {
        "model_run_id": model_run_id,
        "run_id": run_id,
        "kind": "clv",
        "status": "failed" if failed else "ok",
        "failure_reason": failed,
        "model": model,
        "trained_at": trained_at or dt.datetime.now(dt.UTC),
        "as_of": as_of,
        "data_first_order": window[0],
        "data_last_order": window[1],
        "calibration_end": calibration_end,
        "holdout_end": holdout_end,
        "period": config.period,
        "horizon_days": config.horizon_days,
        "n_customers": n_customers,
        "n_orders": n_orders,
        "penalizer": penalizer,
        "params_json": to_json(params) if params else None,
        "log_likelihood": log_likelihood,
        "spend_model": spend.get("model"),
        "spend_params_json": to_json(spend.get("params")) if spend.get("params") else None,
        "spend_correlation": spend.get("correlation"),
        "holdout_aggregate_error": metrics.get("aggregate_error"),
        "holdout_mae": metrics.get("mae"),
        "holdout_rmse": metrics.get("rmse"),
        "naive_mae": metrics.get("naive_mae"),
        "naive_rmse": metrics.get("naive_rmse"),
        "spend_spearman": metrics.get("spend_spearman"),
        "candidates_json": to_json(candidates),
        "attempts_json": to_json([a.as_dict() for a in attempts]),
        "warnings": "; ".join(warnings) or None,
        "seed": config.seed,
        "config_json": to_json(config.model_dump()),
        "cxdata_version": cxdata_version(),
    }
    moments = ("trained_at", "as_of", "data_first_order", "data_last_order", "calibration_end", "holdout_end")
    floats = ("penalizer", "log_likelihood", "spend_correlation", "holdout_aggregate_error", "holdout_mae")
    floats += ("holdout_rmse", "naive_mae", "naive_rmse", "spend_spearman")
    schema: dict[str, pl.DataType] = {c: pl.Datetime("us", "UTC") for c in moments}
    schema |= {c: pl.Float64 for c in floats} | {c: pl.String for c in row if c not in schema and c not in floats}
    schema |= {"horizon_days": pl.Int64, "n_customers": pl.Int64, "n_orders": pl.Int64, "seed": pl.Int64}
    return pl.DataFrame([row], schema={c: schema[c] for c in row})
