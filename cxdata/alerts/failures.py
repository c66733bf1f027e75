"""pipeline_failures: one row per failed orchestrator run, so failures are queryable beside the data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from cxdata.warehouse import Warehouse

TABLE = "pipeline_failures"
_MAX_MESSAGE = 500


@dataclass(frozen=True)
class PipelineFailure:
    """A failed run: which job, when, which steps, and the error classes (not messages: they may quote data)."""

    run_id: str
    job_name: str
    failed_at: dt.datetime
    failed_steps: Sequence[str]
    error_types: Sequence[str]
    message: str


def record_failure(wh: Warehouse, failure: PipelineFailure) -> int:
    """Append ``failure`` to pipeline_failures (replacing an earlier record of the same run); the rows held."""
    row = pl.DataFrame(
        {
            "run_id": [failure.run_id],
            "job_name": [failure.job_name],
            "failed_at": [failure.failed_at.astimezone(dt.UTC)],
            "failed_steps": [", ".join(sorted(set(failure.failed_steps)))],
            "error_types": [", ".join(sorted(set(failure.error_types)))],
            "message": [failure.message[:_MAX_MESSAGE]],
        },
        schema={
            "run_id": pl.String,
            "job_name": pl.String,
            "failed_at": pl.Datetime("us", "UTC"),
            "failed_steps": pl.String,
            "error_types": pl.String,
            "message": pl.String,
        },
    )
    wh.append(TABLE, row, replace={"run_id": failure.run_id})
    return wh.row_count(TABLE)
