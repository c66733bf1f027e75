"""What a step consumed of the event tables staged by day, and which days were staged again since.

A step that updates its output from what changed (identity, the fact marts) keeps, per table it reads, the
``stg_partitions`` version (``files_version``, ``loaded_at``) of each day it read. The days whose version now
differs, or that are gone, are the ones to read again; rows without a day are read every time.
"""

from __future__ import annotations

import polars as pl

from cxdata.io.days import PARTITION_COLUMN
from cxdata.io.partitions import STAGED
from cxdata.warehouse import Warehouse

VERSION = ["files_version", "loaded_at"]


def staged_versions(wh: Warehouse, table: str) -> pl.DataFrame | None:
    """The ``stg_partitions`` rows of ``table`` (partition_day, files_version, loaded_at), or None when it is
    not staged by day."""
    if PARTITION_COLUMN not in wh.columns(f"stg_{table}") or not wh.exists(STAGED):
        return None
    rows = wh.read(STAGED, columns=[PARTITION_COLUMN, *VERSION], where={"source_table": table})
    rows = rows.filter(pl.col(PARTITION_COLUMN).is_not_null())
    return rows.cast({PARTITION_COLUMN: pl.Date, "files_version": pl.String}) if rows.height else None


def consumed_rows(table: str, versions: pl.DataFrame | None) -> pl.DataFrame:
    """The rows recording that ``table`` was read at ``versions``: one per day, or one with a null day for a
    table read whole (``versions`` None)."""
    rows = (
        pl.DataFrame({PARTITION_COLUMN: [None], "files_version": [None], "loaded_at": [None]})
        if versions is None
        else versions
    )
    return rows.select(
        pl.lit(table).alias("source_table"),
        pl.col(PARTITION_COLUMN).cast(pl.Date),
        pl.col("files_version").cast(pl.String),
        pl.col("loaded_at").cast(pl.Datetime("us", "UTC")),
    )


def changed_days(versions: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame | None:
    """The days staged since they were consumed, or gone since (partition_day); None when ``table`` was
    consumed whole, so there is nothing to compare by day."""
    dated = known.filter(pl.col(PARTITION_COLUMN).is_not_null()).select(PARTITION_COLUMN, *VERSION)
    if dated.is_empty():
        return None
    same = [PARTITION_COLUMN, *VERSION]
    dated = dated.cast({c: versions.schema[c] for c in same})
    staged = versions.join(dated, on=same, how="anti", nulls_equal=True).select(PARTITION_COLUMN)
    dropped = dated.join(versions, on=PARTITION_COLUMN, how="anti").select(PARTITION_COLUMN)
    return pl.concat([staged, dropped]).unique().sort(PARTITION_COLUMN)
