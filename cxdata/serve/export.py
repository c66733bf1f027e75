"""Segment exports: a segment's members, scores and contacts (or an ad platform's audience) to a CSV or Parquet
file, batch by batch, optionally withholding a randomised holdout.

The rows are those of `cxdata.serve.segments.open_segment`. With a holdout (`cxdata.serve.holdouts`) the control
members of the campaign are left out of the file, and the new assignments are recorded in
``experiment_assignments`` in the same step, committed just before the file appears. Rows are appended to a
hidden file beside ``out`` (mode 0600, never through a symbolic link), which replaces ``out`` only once it is
complete; ``out`` must be a regular file or absent (`cxdata.files`).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import sqlalchemy as sa

from cxdata.config import DEFAULT_CURRENCY
from cxdata.files import check_target, replacing
from cxdata.serve import consent, holdouts
from cxdata.serve.access import BadValue, fetch, shown, table
from cxdata.serve.segments import MEMBERS, MONEY_COLUMNS, Contacts, open_segment
from cxdata.warehouse import Warehouse

FORMATS: tuple[str, ...] = ("csv", "parquet")
RUN_ID_COLUMNS = ("model_run_id", "churn_model_run_id")  # internal: an export leaves them out unless asked
# an export file is read by people and ad platforms: amounts to the cent, the rest to four decimals
EXPORT_DECIMALS = {**dict.fromkeys(MONEY_COLUMNS, 2), **dict.fromkeys(
    ("p_alive", "expected_purchases", "clv_percentile", "churn_probability", "churn_percentile"), 4
)}  # fmt: skip
_CRASH = "export:written"


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: the file, its format, the segment and moment, the rows and the time taken."""

    path: Path
    format: str
    segment: str
    as_of: dt.datetime
    rows: int
    seconds: float
    withheld: int = 0  # control members of the holdout left out of the file
    newly_assigned: int = 0  # members assigned to the holdout's groups by this export
    without_consent: int = 0  # members left out as they did not agree to the export's purpose


def export(
    wh: Warehouse,
    name: str,
    out: str | os.PathLike[str],
    fmt: str = "csv",
    day: dt.date | None = None,
    contacts: Contacts = "raw",
    batch_rows: int = 50_000,
    holdout: holdouts.Holdout | None = None,
    now: dt.datetime | None = None,
    currency: str = DEFAULT_CURRENCY,
    template: str | None = None,
    with_ids: bool = False,
    purpose: str | None = None,
) -> ExportResult:
    """Write segment ``name`` (members, scores with their ``currency`` and contacts as asked; with ``template``,
    only the ad platform's audience columns) to ``out`` as CSV or Parquet, batch by batch; ``out`` appears only
    when complete. With a ``holdout``, only the campaign's treated members are written, and the members assigned
    now (at ``now``, default the current time) are appended to experiment_assignments before ``out`` appears;
    ``wh`` must then be writable. Scores are rounded (`EXPORT_DECIMALS`); the model run ids are written only
    ``with_ids``. Contacts (raw, hashed or a template) are for one ``purpose``: members who did not agree to it
    are left out and counted (`ExportResult.without_consent`)."""
    started = time.perf_counter()
    if fmt not in FORMATS:
        raise BadValue(f"export format must be one of {', '.join(FORMATS)}, got {shown(str(fmt))}")
    path = check_target(out)  # before the query, so a bad path fails at once and creates nothing
    rows, withheld, split = 0, 0, None
    with (
        open_segment(wh, name, day, contacts, batch_rows, currency, template, purpose) as (as_of, result),
        replacing(path, _CRASH) as sink,
    ):
        batches = result.batches
        schema = result.schema
        if holdout is not None:
            split = _split(wh, name, as_of, holdout, now)
            batches = (batch.filter(~pl.col("customer_key").is_in(split.control.implode())) for batch in batches)
        if template is not None:  # the platform's columns only: no internal key in an audience file
            batches = (batch.drop("customer_key") for batch in batches)
            schema = {k: v for k, v in schema.items() if k != "customer_key"}
        hidden = () if with_ids else RUN_ID_COLUMNS
        schema = {k: v for k, v in schema.items() if k not in hidden}
        batches = (_for_people(batch, hidden) for batch in batches)
        if fmt == "csv":
            pl.DataFrame(schema=schema).write_csv(sink)
            for batch in batches:
                batch.write_csv(sink, include_header=False)
                rows += batch.height
        else:
            with pq.ParquetWriter(sink, pl.DataFrame(schema=schema).to_arrow().schema) as writer:
                for batch in batches:
                    writer.write_table(batch.to_arrow())
                    rows += batch.height
        if split is not None:
            withheld = split.control.len()
            if split.new_rows.height:
                wh.append(holdouts.ASSIGNMENTS, split.new_rows)
    newly = 0 if split is None else split.new_rows.height
    refused = consent.left_out(wh, name, as_of, purpose) if purpose is not None else 0
    return ExportResult(path, fmt, name, as_of, rows, time.perf_counter() - started, withheld, newly, refused)


def _for_people(batch: pl.DataFrame, hidden: tuple[str, ...]) -> pl.DataFrame:
    """An export batch without the ``hidden`` columns, its scores rounded (`EXPORT_DECIMALS`)."""
    rounded = [pl.col(c).round(n) for c, n in EXPORT_DECIMALS.items() if c in batch.columns]
    return batch.drop([c for c in hidden if c in batch.columns]).with_columns(rounded)


def _split(
    wh: Warehouse, name: str, as_of: dt.datetime, holdout: holdouts.Holdout, now: dt.datetime | None
) -> holdouts.Assignment:
    members = table(wh, MEMBERS, "segment", "customer_key", "as_of")
    keys = fetch(wh, sa.select(members.c.customer_key).where(members.c.segment == name, members.c.as_of == as_of))[
        "customer_key"
    ]
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    return holdouts.assign_members(wh, holdout, keys, name, moment)
