"""Helpers shared by the marts: customer keys from identity resolution, canonical inputs, empty inputs."""

from __future__ import annotations

import polars as pl

from cxdata import schema

RECORD_KEYS_SCHEMA = pl.Schema(
    {"source_table": pl.String(), "record_id": pl.String(), "customer_key": pl.String()}
)


def canonical(frame: pl.LazyFrame, table: str) -> pl.LazyFrame:
    """The frame with every canonical column of ``table`` present (missing optional ones as typed nulls).

    Sources often omit optional columns; the marts select them by name, so they
    must exist. Only the schema is resolved here, never the data.
    """
    present = frame.collect_schema().names()
    spec = schema.TABLES[table]
    missing = [pl.lit(None, dtype=c.dtype).alias(c.name) for c in spec.columns if c.name not in present]
    return frame.with_columns(missing) if missing else frame


def empty(table: str) -> pl.LazyFrame:
    """An empty canonical input, so a mart of a missing source has the right columns and no rows."""
    return pl.LazyFrame(schema=schema.TABLES[table].polars_schema())


def empty_keys() -> pl.LazyFrame:
    """An empty ``record_keys`` frame."""
    return pl.LazyFrame(schema=RECORD_KEYS_SCHEMA)


def attach_key(frame: pl.LazyFrame, record_keys: pl.LazyFrame, table: str, id_column: str) -> pl.LazyFrame:
    """Left-join each record's ``customer_key`` from identity resolution's ``record_keys``.

    Records identity resolution did not place keep a null key rather than being
    dropped, so facts still add up to their source. ``record_keys`` holds one row
    per record; a record listed twice would multiply facts, so collecting raises
    (polars' m:1 join validation, cheaper than deduplicating millions of keys).
    """
    keys = record_keys.filter(pl.col("source_table") == table).select(
        pl.col("record_id").cast(pl.String).alias("__record_id"), pl.col("customer_key").cast(pl.String)
    )
    return (
        frame.with_columns(pl.col(id_column).cast(pl.String).alias("__record_id"))
        .join(keys, on="__record_id", how="left", validate="m:1")
        .drop("__record_id")
    )


def crm_records(customers: pl.LazyFrame, record_keys: pl.LazyFrame, *columns: str | pl.Expr) -> pl.LazyFrame:
    """customer_ref, created_at, ``columns`` and customer_key of every CRM record (stg_customers) identity
    placed (``record_keys``); records it did not place are left out."""
    placed = record_keys.filter(pl.col("source_table") == "customers").select(
        pl.col("record_id").alias("customer_ref"), "customer_key"
    )
    return (
        canonical(customers, "customers")
        .select("customer_ref", "created_at", *columns)
        .join(placed, on="customer_ref", how="inner")
        .filter(pl.col("customer_key").is_not_null())
    )


def hours_between(start: str, end: str) -> pl.Expr:
    """Hours from ``start`` to ``end`` as a float (null when either is null)."""
    return (pl.col(end) - pl.col(start)).dt.total_microseconds() / 3_600_000_000


def utc_day(column: str) -> pl.Expr:
    """The UTC calendar day of a timestamp column."""
    return pl.col(column).dt.convert_time_zone("UTC").dt.date()
