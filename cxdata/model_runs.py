"""The one builder of ``model_runs`` rows: CLV, churn and touchpoint runs are recorded through `model_run`.

Every row has every column of the table, in the order sql/model_runs.sql
documents them, null where its kind has no value. Nested values (parameters,
metrics, attempts) are JSON text so that the row publishes the same way to
DuckDB and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from importlib import metadata
from typing import Any

import polars as pl
from pydantic import BaseModel

from cxdata.run_context import RunContext

TABLE = "model_runs"
_UTC = pl.Datetime("us", "UTC")
_F, _I, _S = pl.Float64(), pl.Int64(), pl.String()
COLUMNS: dict[str, pl.DataType] = {
    "model_run_id": _S,
    "run_id": _S,
    "kind": _S,
    "status": _S,
    "failure_reason": _S,
    "model": _S,
    "trained_at": _UTC,
    "as_of": _UTC,
    "data_first_order": _UTC,
    "data_last_order": _UTC,
    "calibration_end": _UTC,
    "holdout_end": _UTC,
    "period": _S,
    "horizon_days": _I,
    "n_customers": _I,
    "n_orders": _I,
    "penalizer": _F,
    "params_json": _S,
    "log_likelihood": _F,
    "spend_model": _S,
    "spend_params_json": _S,
    "spend_correlation": _F,
    "holdout_aggregate_error": _F,
    "holdout_mae": _F,
    "holdout_rmse": _F,
    "naive_mae": _F,
    "naive_rmse": _F,
    "spend_spearman": _F,
    "candidates_json": _S,
    "attempts_json": _S,
    "warnings": _S,
    "seed": _I,
    "config_json": _S,
    "cxdata_version": _S,
    # churn only
    "holdout_auc": _F,
    "holdout_average_precision": _F,
    "holdout_brier": _F,
    "holdout_log_loss": _F,
    "holdout_lift_top_decile": _F,
    "holdout_brier_uncalibrated": _F,
    "baseline_btyd_auc": _F,
    "baseline_rfm_logit_auc": _F,
    "training_rows": _I,
    "cutoffs_json": _S,
    "importances_json": _S,
    # the cadence (cxdata/model_store.py): appended last so that older warehouses gain them as new columns
    "mode": _S,
    "fitted_run_id": _S,
    "mode_reason": _S,
}
# set from the arguments of `model_run`, never from a kind's own values
_SHARED = {"model_run_id", "run_id", "kind", "status", "failure_reason", "model", "trained_at", "as_of"}
_SHARED |= {"data_first_order", "data_last_order", "n_customers", "n_orders", "warnings", "seed", "config_json"}
_SHARED |= {"cxdata_version", "mode", "fitted_run_id", "mode_reason"}


def cxdata_version() -> str:
    """The installed cxdata version, or "unknown" outside an installed package."""
    try:
        return metadata.version("cxdata")
    except metadata.PackageNotFoundError:
        return "unknown"


def to_json(value: Any) -> str:
    """``value`` as JSON text for a model_runs column (keys sorted, anything else as its string)."""
    return json.dumps(value, default=str, sort_keys=True)


def model_run(
    run: RunContext,
    *,
    model_run_id: str,
    kind: str,
    config: BaseModel,
    model: str | None,
    failed: str | None,
    window: tuple[dt.datetime | None, dt.datetime | None],
    n_customers: int,
    n_orders: int,
    warnings: Sequence[str],
    reason: str | None = None,
    **values: Any,
) -> pl.DataFrame:
    """One ``model_runs`` row of a ``kind`` model (clv, churn, touchpoints) trained by ``run``: trained at its
    start and as of its as_of, with ``config`` (its models section, whose seed it records), the first and last
    order used, ``reason`` why it was fitted (mode fit; `cxdata.model_store.decide`), and ``values``, the
    kind's own columns; a ``*_json`` value is stored as JSON text, None as null.
    """
    unknown = set(values) - set(COLUMNS)
    if unknown or set(values) & _SHARED:
        raise ValueError(f"not a model_runs column of a kind's own: {sorted(unknown or set(values) & _SHARED)}")
    row = (
        dict.fromkeys(COLUMNS)
        | _this_run(run, model_run_id, window, n_customers, n_orders, warnings)
        | {
            "kind": kind,
            "status": "failed" if failed else "ok",
            "failure_reason": failed,
            "model": model,
            "seed": getattr(config, "seed", None),
            "config_json": to_json(config.model_dump()),
            "mode": "fit",
            "fitted_run_id": None if failed else model_run_id,
            "mode_reason": reason,
        }
    )
    row |= {name: to_json(v) if name.endswith("_json") and v is not None else v for name, v in values.items()}
    return pl.DataFrame([row], schema=COLUMNS)


def scored_with(
    fit: dict[str, Any],
    run: RunContext,
    *,
    model_run_id: str,
    window: tuple[dt.datetime | None, dt.datetime | None],
    n_customers: int,
    n_orders: int,
    warnings: Sequence[str],
    reason: str,
    mode: str = "score",
) -> pl.DataFrame:
    """The ``model_runs`` row of a run that scored with the stored fit ``fit`` (its model_runs row, a dict)
    instead of training: ``mode`` score (touchpoints: kept, the fit's figures stay published), fitted_run_id
    the fit's model_run_id, this run's id, moments, data window, counts and warnings, ``reason`` why it did
    not refit; every other column (model, parameters, holdout metrics, calibration and holdout ends,
    candidates, attempts, config) is the fit's, carried, not recomputed."""
    row = (
        {name: fit.get(name) for name in COLUMNS}
        | _this_run(run, model_run_id, window, n_customers, n_orders, warnings)
        | {
            "status": "ok",
            "failure_reason": None,
            "mode": mode,
            "fitted_run_id": fit["model_run_id"],
            "mode_reason": reason,
        }
    )
    return pl.DataFrame([row], schema=COLUMNS)


def _this_run(
    run: RunContext,
    model_run_id: str,
    window: tuple[dt.datetime | None, dt.datetime | None],
    n_customers: int,
    n_orders: int,
    warnings: Sequence[str],
) -> dict[str, Any]:
    # what a model_runs row says of the run that wrote it, whether it fitted or scored with a stored fit
    return {
        "model_run_id": model_run_id,
        "run_id": run.run_id,
        "trained_at": run.now,
        "as_of": run.as_of,
        "data_first_order": window[0],
        "data_last_order": window[1],
        "n_customers": n_customers,
        "n_orders": n_orders,
        "warnings": "; ".join(warnings) or None,
        "cxdata_version": cxdata_version(),
    }
