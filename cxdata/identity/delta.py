"""What changed in the staged identity inputs since the last identity run: the records new or changed
(``upserted``) and those gone, for `cxdata.identity.incremental.update`.

Two small tables keep what identity consumed:

- ``identity_record_hashes``: per record identity consumed, its table, id,
  ``partition_day`` (null for a table staged whole or a row without a day) and a
  64-bit hash of the columns identity reads (`records.columns_needed`). A record
  whose hash differs, or that has none, is upserted; one that had a hash and is
  no longer staged is gone.
- ``identity_inputs``: per event table staged by day, the version of each day
  it consumed (``stg_partitions``' files_version and loaded_at); one row with a
  null day for a table consumed whole; and on every row the fingerprint of the
  identity config.

Only the days whose ``stg_partitions`` row differs from the one consumed (new,
restaged, or gone) are read again and hashed, with the rows without a day; a
table not staged by day (customers, touchpoint costs, query sources) is hashed
whole. Over-approximating is safe: an unchanged record hashes as before and
drops out, and a record counted as changed is only resolved again. Anything the
tables cannot vouch for asks for a full resolve, with the reason: no stored
hashes, another identity config, another set of identity tables. Versions are
read before the rows, so a day restaged meanwhile is read again next time.

Hashes are polars' hashes of the values as this warehouse returns them: stable
within one polars version. Another version changes them all, which counts every
record as changed and so resolves in full.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from cxdata.config import ProjectConfig
from cxdata.identity.links import RECORD_ID
from cxdata.identity.records import TABLES, columns_needed
from cxdata.io.consumed import changed_days, consumed_rows, staged_versions
from cxdata.io.days import PARTITION_COLUMN
from cxdata.warehouse import Warehouse

HASHES = "identity_record_hashes"
INPUTS = "identity_inputs"
_SEED = 0x1DE7
HASH_SCHEMA = {"source_table": pl.String, "record_id": pl.String, PARTITION_COLUMN: pl.Date, "row_hash": pl.Int64}


@dataclass(frozen=True)
class Delta:
    """The records upserted and gone (source_table, record_id); the hash rows to write in place of those of
    ``replaced`` (source_table, record_id; None: the hashes of every record, to publish whole); the
    ``identity_inputs`` rows to publish; ``full_reason``: why the delta cannot be trusted (None when it can);
    ``scope``: per table, ``whole`` or how many days were read again."""

    upserted: pl.DataFrame
    gone: pl.DataFrame
    hashes: pl.DataFrame
    replaced: pl.DataFrame | None
    inputs: pl.DataFrame
    full_reason: str | None
    scope: dict[str, str]


def config_fingerprint(config: ProjectConfig) -> str:
    """The md5 of the identity config: any change of it changes what unchanged records resolve to."""
    return hashlib.md5(config.identity.model_dump_json().encode(), usedforsecurity=False).hexdigest()


def row_hashes(frame: pl.LazyFrame, table: str, columns: list[str]) -> pl.LazyFrame:
    """source_table, record_id, partition_day (null without one) and the hash of ``columns`` of each row of
    staged ``table``."""
    key, _ = TABLES[table]
    names = frame.collect_schema().names()
    day = pl.col(PARTITION_COLUMN) if PARTITION_COLUMN in names else pl.lit(None, pl.Date)
    return frame.select(
        pl.lit(table).alias("source_table"),
        pl.col(key).cast(pl.String).alias("record_id"),
        day.cast(pl.Date).alias(PARTITION_COLUMN),
        pl.struct(columns).hash(_SEED).reinterpret(signed=True).alias("row_hash"),
    )


def identity_delta(wh: Warehouse, config: ProjectConfig, tables: list[str], full: str | None) -> Delta:
    """The delta of staged ``tables`` against what the last identity run consumed; with ``full`` (a reason),
    or when the stored state cannot vouch for one, every record is hashed and ``full_reason`` says why."""
    fingerprint = config_fingerprint(config)
    versions = {table: staged_versions(wh, table) for table in tables}
    reason = full or distrust(wh, config, tables)
    consumed = None if reason else wh.read(INPUTS).cast({PARTITION_COLUMN: pl.Date})
    parts, previous, scope = [], [], {}
    for table in tables:
        known = None if consumed is None else consumed.filter(pl.col("source_table") == table)
        current, before, scope[table] = _table_delta(wh, config, table, versions[table], known)
        parts.append(current)
        if before is not None:
            previous.append(before)
    hashes = pl.concat(parts) if parts else pl.DataFrame(schema=HASH_SCHEMA)
    inputs = pl.concat(
        [
            consumed_rows(table, versions[table]).with_columns(pl.lit(fingerprint).alias("identity_config"))
            for table in tables
        ],
        how="vertical_relaxed",
    )
    if reason:
        empty = hashes.clear().select(RECORD_ID)
        return Delta(hashes.select(RECORD_ID), empty, hashes, None, inputs, reason, scope)
    before = pl.concat(previous) if previous else pl.DataFrame(schema=HASH_SCHEMA)
    upserted = hashes.join(before, on=[*RECORD_ID, "row_hash"], how="anti").select(RECORD_ID)
    gone = before.join(hashes, on=RECORD_ID, how="anti").select(RECORD_ID)
    replaced = pl.concat([before.select(RECORD_ID), hashes.select(RECORD_ID)]).unique()
    return Delta(upserted, gone, hashes, replaced, inputs, None, scope)


def distrust(wh: Warehouse, config: ProjectConfig, tables: list[str]) -> str | None:
    """Why the stored hashes cannot give a delta of staged ``tables``, or None."""
    if not (wh.exists(HASHES) and wh.exists(INPUTS)):
        return "no record hashes of an earlier identity run"
    consumed = wh.read(INPUTS, columns=["source_table", "identity_config"]).unique()
    if set(consumed["identity_config"]) != {config_fingerprint(config)}:
        return "the identity config changed since the last identity run"
    if set(consumed["source_table"]) != set(tables):
        return "the identity tables changed since the last identity run"
    return None


def _table_delta(
    wh: Warehouse, config: ProjectConfig, table: str, versions: pl.DataFrame | None, known: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame | None, str]:
    """The current hashes of the part of ``table`` to compare, the stored ones of that part (None without
    ``known``, what was consumed) and how much that part is."""
    name = f"stg_{table}"
    columns = columns_needed(table, wh.columns(name), config.identity.probabilistic.enabled)
    read = [*columns, PARTITION_COLUMN] if versions is not None else columns
    days = None if known is None or versions is None else changed_days(versions, known)
    if days is None:
        current = row_hashes(wh.read(name, columns=read).lazy(), table, columns).collect()
        if known is None:
            return current, None, "whole"
        before = wh.read(HASHES, columns=list(HASH_SCHEMA), where={"source_table": table})
        return current, before.cast(HASH_SCHEMA), "whole"
    by_day = days.select(PARTITION_COLUMN)
    undated = {PARTITION_COLUMN: None}
    current = pl.concat(
        [
            wh.read(name, columns=read, where_in=by_day).lazy(),
            wh.read(name, columns=read, where=undated).lazy(),
        ]
    ).pipe(row_hashes, table, columns)
    stored = by_day.with_columns(pl.lit(table).alias("source_table"))
    before = pl.concat(
        [
            wh.read(HASHES, columns=list(HASH_SCHEMA), where_in=stored),
            wh.read(HASHES, columns=list(HASH_SCHEMA), where={"source_table": table, **undated}),
        ]
    )
    return current.collect(), before.cast(HASH_SCHEMA), f"{days.height} day(s)"


def counts(delta: Delta) -> Mapping[str, int]:
    """The delta's sizes, for the step's facts."""
    return {"upserted": delta.upserted.height, "gone": delta.gone.height, "hashed": delta.hashes.height}
