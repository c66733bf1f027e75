"""Stage event tables by day: what each source file holds, which days are behind their files, and a load of
only those days.

Two small tables keep the state between runs:

- ``stg_files``: per file of an event source, its size and modification time
  and how many rows it holds on each day (``partition_day``; null for rows
  whose event time is missing or unreadable). A file is read again only when
  its size or time changed, or when a day it holds is staged.
- ``stg_partitions``: per staged day, the version of its files it was staged
  from (``files_version``: each file's name, time and size) and what went where.

A day is *stale* when its files' version differs from the one it was staged
from (a new file, a changed one, a file gone). `plan` restates the stale days
after the last staged day and those inside the lookback; older stale days are
*late*: counted and named, and staged by a backfill of those partitions.

Rows without a day are always read again with their files and replace their
own (null) partition, so an unreadable timestamp is quarantined once, not once
per run. A primary key is kept at its first occurrence in file order (see
`cxdata.validate.rules`) across all days: a load of some days reads, beside
their files, every file holding one of their keys elsewhere, and restates those
days too, so the days a run leaves alone agree with the days it rewrote.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cxdata import schema
from cxdata.config import ProjectConfig
from cxdata.io.days import PARTITION_COLUMN, partitioned, with_partition_day
from cxdata.io.readers import SOURCE_COLUMN, file_label, read_labelled, source_files
from cxdata.io.staging import Staged, stage_table, standardise
from cxdata.privacy.retention import expired_before
from cxdata.privacy.suppress import Suppression
from cxdata.validate import quarantine
from cxdata.warehouse import Warehouse

MANIFEST = "stg_files"
STAGED = "stg_partitions"
_MANIFEST_SCHEMA = {
    "source_table": pl.String(),
    "file": pl.String(),
    "mtime_ns": pl.Int64(),
    "size": pl.Int64(),
    "md5": pl.String(),
    "seen_ns": pl.Int64(),
    PARTITION_COLUMN: pl.Date(),
    "rows": pl.Int64(),
}
_STAT_COLUMNS = ["file", "mtime_ns", "size", "md5", "seen_ns"]
_STAT_SCHEMA = {name: _MANIFEST_SCHEMA[name] for name in _STAT_COLUMNS}
# A file changed less than this before it was read may change again with the same time and size (file system
# clocks tick coarsely): it is read again next time, and its checksum decides whether its days are stale.
_RACY_NS = 2_000_000_000
# A key's duplicates elsewhere can pull in further days; each round adds at least one day, so this only
# guards against a bug, never stops a real load short.
_MAX_ROUNDS = 50


@dataclass(frozen=True)
class Restate:
    """Which days of one event table a run stages: ``days`` (sorted), and the stale days left for a
    backfill, ``late`` (day to the rows its files hold), because they lie before the lookback."""

    days: tuple[dt.date, ...]
    late: dict[dt.date, int]

    @property
    def rows_late(self) -> int:
        """Rows of the source on the late days."""
        return sum(self.late.values())


def file_sources(config: ProjectConfig, table: str) -> bool:
    """Whether ``table`` is staged by day: an event table read from files (a query is reloaded whole)."""
    return partitioned(table) and config.sources[table].url is None


def current_files(
    config: ProjectConfig, table: str, hashed: Collection[str] | None = None, only: Collection[str] | None = None
) -> pl.DataFrame:
    """The files of a file source now (``only`` those labels, when given): label, modification time (ns),
    size, when they were looked at (ns) and the md5 of their bytes, which decides a day's version (only for
    the labels in ``hashed``, when given)."""
    rows = []
    for path in source_files(config, table):
        label = file_label(config, path)
        if only is not None and label not in only:
            continue
        found = path.stat()
        seen = time.time_ns()  # taken before the bytes are read: a write after it makes the file racy
        digest = _md5(path) if hashed is None or label in hashed else None
        rows.append((label, int(found.st_mtime_ns), int(found.st_size), digest, seen))
    return pl.DataFrame(rows, schema=_STAT_SCHEMA, orient="row")


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest(wh: Warehouse, table: str) -> pl.DataFrame:
    """The stored ``stg_files`` rows of ``table`` (empty before its first load)."""
    if not wh.exists(MANIFEST):
        return pl.DataFrame(schema=_MANIFEST_SCHEMA)
    return wh.read(MANIFEST, columns=list(_MANIFEST_SCHEMA), where={"source_table": table}).cast(_MANIFEST_SCHEMA)


def refresh_manifest(wh: Warehouse, config: ProjectConfig, table: str) -> pl.DataFrame:
    """``table``'s manifest brought up to date with its files (`updated_manifest`), stored when anything
    changed."""
    known = manifest(wh, table)
    refreshed = updated_manifest(config, table, known)
    if refreshed is None:
        return known
    with wh.transaction() as tx:
        tx.append(MANIFEST, refreshed, replace={"source_table": table})
    return refreshed


def updated_manifest(config: ProjectConfig, table: str, known: pl.DataFrame) -> pl.DataFrame | None:
    """The manifest ``known`` brought up to date with ``table``'s files, not stored: new and changed files
    are read (their event times only) for the days they hold, gone files are dropped; None when nothing
    changed."""
    now = current_files(config, table, hashed=())
    same = ["file", "mtime_ns", "size"]
    settled = known.filter(pl.col("mtime_ns") < pl.col("seen_ns") - _RACY_NS).select(same).unique()
    changed = now.join(settled, on=same, how="anti")
    kept = known.join(changed.select("file"), on="file", how="anti").join(
        now.select("file"), on="file", how="semi"
    )
    if changed.is_empty() and kept.height == known.height:
        return None
    labels = set(changed["file"])
    counted = _days_of(config, table, current_files(config, table, only=labels))
    return pl.concat([kept, counted]).sort("file", PARTITION_COLUMN, nulls_last=True)


def _days_of(config: ProjectConfig, table: str, files: pl.DataFrame) -> pl.DataFrame:
    """Rows per day of ``files`` (as `current_files` gives them), reading only what the day needs."""
    if files.is_empty():
        return pl.DataFrame(schema=_MANIFEST_SCHEMA)
    source = config.sources[table]
    parts = read_labelled(config, table, labels=set(files["file"]))
    moments = [
        with_partition_day(
            standardise(part, table, source, config.timezone, label, dt.datetime.now(dt.UTC)),
            table,
            config.timezone,
        ).select(pl.lit(label).alias("file"), PARTITION_COLUMN)
        for label, part in parts
    ]
    counts = pl.concat(moments).group_by("file", PARTITION_COLUMN).len("rows").collect()
    return (
        counts.join(files, on="file")
        .select(
            pl.lit(table).alias("source_table"), *_STAT_COLUMNS, PARTITION_COLUMN, pl.col("rows").cast(pl.Int64)
        )
        .cast(_MANIFEST_SCHEMA)
    )


def day_versions(files: pl.DataFrame, kept_from: dt.date | None = None) -> pl.DataFrame:
    """Per day of a manifest (from ``kept_from`` on: earlier days are past retention), the version of the
    files holding it: each file's ``name|size|md5``, sorted and joined, so any new, changed or missing file
    changes it; and the rows its files hold."""
    entry = pl.concat_str([pl.col("file"), pl.col("size").cast(pl.String), pl.col("md5")], separator="|")
    kept = pl.col(PARTITION_COLUMN) >= kept_from if kept_from is not None else pl.lit(True)
    return (
        files.filter(pl.col(PARTITION_COLUMN).is_not_null() & kept)
        .group_by(PARTITION_COLUMN)
        .agg(entry.sort().str.join(";").alias("files_version"), pl.col("rows").sum())
        .sort(PARTITION_COLUMN)
    )


def staged_days(wh: Warehouse, table: str) -> pl.DataFrame:
    """Per staged day of ``table``: the files' version it was staged from (empty before any load)."""
    columns = {PARTITION_COLUMN: pl.Date(), "files_version": pl.String()}
    if not wh.exists(STAGED):
        return pl.DataFrame(schema=columns)
    return wh.read(STAGED, columns=list(columns), where={"source_table": table}).cast(columns)


def plan(
    files: pl.DataFrame, staged: pl.DataFrame, lookback_days: int, kept_from: dt.date | None = None
) -> Restate:
    """The days to restate from a manifest and the staged days' versions: every stale day after the last
    staged day or within ``lookback_days`` of the newest day; the other stale days are late. Days before
    ``kept_from`` are past retention: neither restated nor late (`cxdata.privacy.retention` purges them)."""
    versions = day_versions(files, kept_from)
    if kept_from is not None:
        staged = staged.filter(pl.col(PARTITION_COLUMN) >= kept_from)
    stale = versions.join(staged, on=[PARTITION_COLUMN, "files_version"], how="anti")
    # a staged day whose rows all went (its files gone or emptied) is stale too: restating it clears it
    emptied = staged.join(versions, on=PARTITION_COLUMN, how="anti").select(
        PARTITION_COLUMN, pl.lit(0, pl.Int64).alias("rows")
    )
    stale = pl.concat([stale.select(PARTITION_COLUMN, pl.col("rows").cast(pl.Int64)), emptied])
    if stale.is_empty():
        return Restate((), {})
    newest = versions[PARTITION_COLUMN].max()
    last = staged[PARTITION_COLUMN].max()
    recent = (
        pl.col(PARTITION_COLUMN) >= pl.lit(newest - dt.timedelta(days=lookback_days)) if newest else pl.lit(False)
    )
    fresh = pl.col(PARTITION_COLUMN) > pl.lit(last) if last is not None else pl.lit(True)
    chosen = stale.filter(recent | fresh)
    late = stale.join(chosen, on=PARTITION_COLUMN, how="anti").sort(PARTITION_COLUMN)
    return Restate(
        tuple(sorted(chosen[PARTITION_COLUMN])), dict(late.select(PARTITION_COLUMN, "rows").iter_rows())
    )


def restate(wh: Warehouse, config: ProjectConfig, table: str, lookback_days: int) -> Restate:
    """Which days of an event table's files a run should stage now (`plan`), the manifest refreshed first."""
    kept_from = expired_before(config, table, dt.datetime.now(dt.UTC))
    return plan(refresh_manifest(wh, config, table), staged_days(wh, table), lookback_days, kept_from)


def days_to_stage(wh: Warehouse, config: ProjectConfig, table: str) -> tuple[dt.date, ...] | None:
    """The days a run stages of ``table``: the stale ones `restate` picks with the project's
    ``incremental.lookback_days``; None (a whole load) for a table not staged by day, or not yet staged by day."""
    name = f"stg_{table}"
    if not file_sources(config, table) or not wh.exists(name) or PARTITION_COLUMN not in wh.columns(name):
        return None
    return restate(wh, config, table, config.incremental.lookback_days).days


def days_between(
    wh: Warehouse, config: ProjectConfig, table: str, first: dt.date | None, last: dt.date | None
) -> tuple[dt.date, ...]:
    """The days from ``first`` to ``last`` (either end open when None) that ``table``'s files hold now or that
    were staged before, sorted: what a load of that range restates, stale or not, late or not (a backfill)."""
    days = pl.concat(
        [
            refresh_manifest(wh, config, table).select(PARTITION_COLUMN),
            staged_days(wh, table).select(PARTITION_COLUMN),
        ]
    ).drop_nulls()
    if first is not None:
        days = days.filter(pl.col(PARTITION_COLUMN) >= pl.lit(first))
    if last is not None:
        days = days.filter(pl.col(PARTITION_COLUMN) <= pl.lit(last))
    return tuple(sorted(days[PARTITION_COLUMN].unique()))


def stale_after(
    files: pl.DataFrame, staged: pl.DataFrame, covered: Collection[dt.date], kept_from: dt.date | None = None
) -> dict[dt.date, int]:
    """The stale days (with the rows their files hold) that a load of ``covered`` leaves behind: late rows,
    waiting for a backfill of their days (none before ``kept_from``, past retention)."""
    now = plan(files, staged, 0, kept_from)
    counts = dict(day_versions(files).select(PARTITION_COLUMN, "rows").iter_rows())
    return {day: int(counts.get(day, 0)) for day in sorted({*now.days, *now.late}) if day not in set(covered)}


def stage_days(
    wh: Warehouse,
    config: ProjectConfig,
    table: str,
    days: Collection[dt.date],
    files: pl.DataFrame,
    loaded_at: dt.datetime,
    suppression: Suppression | None = None,
) -> tuple[Staged, tuple[dt.date, ...]]:
    """The load of ``days`` of an event table and of its rows without a day, from the files the manifest
    ``files`` lists for them; and the days it covers: those asked for plus the other days holding one of
    their keys (see the module), which it restates too."""
    key = schema.table(table).primary_key
    wanted = set(days)
    undated = set(files.filter(pl.col(PARTITION_COLUMN).is_null())["file"])
    keyed = _keyed_tables(wh, table, key) if key else []
    for _ in range(_MAX_ROUNDS):
        labels = set(files.filter(pl.col(PARTITION_COLUMN).is_in(sorted(wanted)))["file"]) | undated
        staged = stage_table(config, table, loaded_at, labels=labels, suppression=suppression)
        more = _tied_days(wh, keyed, staged, wanted, key) if key and keyed else set()
        if not more:
            return _only(staged, wanted, config, table, loaded_at), tuple(sorted(wanted))
        wanted |= more
    raise RuntimeError(f"staging {table!r}: repeated keys kept pulling in days after {_MAX_ROUNDS} rounds")


def _keyed_tables(wh: Warehouse, table: str, key: str) -> list[str]:
    """The staged and quarantine tables of ``table`` that already hold days and keys."""
    names = (f"stg_{table}", f"quarantine_{table}")
    return [name for name in names if wh.exists(name) and {key, PARTITION_COLUMN} <= set(wh.columns(name))]


def _held(wh: Warehouse, names: list[str], key: str, where_in: pl.DataFrame) -> pl.DataFrame:
    """The (key, day) of the staged and quarantined rows matching ``where_in``, read by key in the warehouse."""
    found = [pl.DataFrame(schema={key: pl.String(), PARTITION_COLUMN: pl.Date()})]
    for name in names:
        rows = wh.read(name, columns=[key, PARTITION_COLUMN], where_in=where_in)
        found.append(rows.cast({key: pl.String, PARTITION_COLUMN: pl.Date}))
    return pl.concat(found)


def _in_load(frame: pl.DataFrame, days: Collection[dt.date]) -> pl.Expr:
    day = pl.col(PARTITION_COLUMN)
    return day.is_null() | day.is_in(sorted(days))


def _tied_days(wh: Warehouse, names: list[str], staged: Staged, days: set[dt.date], key: str) -> set[dt.date]:
    """Days outside ``days`` that hold a key the load's rows have now or had before the load: their rows'
    standing (first occurrence or duplicate) depends on the load's, so they are restated with it."""
    read = pl.concat(
        [staged.accepted.select(key, PARTITION_COLUMN), staged.quarantined.select(key, PARTITION_COLUMN)]
    )
    before = _held(
        wh, names, key, pl.DataFrame({PARTITION_COLUMN: sorted(days)}, schema={PARTITION_COLUMN: pl.Date})
    )
    keys = pl.concat([read.filter(_in_load(read, days)), before]).select(key).drop_nulls().unique()
    held = _held(wh, names, key, keys)
    inside = pl.col(PARTITION_COLUMN).is_in(sorted(days))
    elsewhere = pl.concat([read, held]).filter(pl.col(PARTITION_COLUMN).is_not_null() & ~inside)
    return set(elsewhere.join(keys, on=key, how="semi")[PARTITION_COLUMN])


def _only(
    staged: Staged, days: Collection[dt.date], config: ProjectConfig, table: str, loaded_at: dt.datetime
) -> Staged:
    """The rows of ``days`` (and those without a day) of a load that read more, with their audit row."""
    accepted = staged.accepted.filter(_in_load(staged.accepted, days))
    quarantined = staged.quarantined.filter(_in_load(staged.quarantined, days))
    limit = config.validation.quarantine_limit(table)
    rows_in = accepted.height + quarantined.height
    blank = int(staged.audit["blank_lines"])  # type: ignore[call-overload]
    # the suppressed and expired rows of the files read: dropped before the load could be narrowed to its days
    erased = int(staged.audit.get("rows_suppressed", 0))  # type: ignore[call-overload]
    expired = int(staged.audit.get("rows_expired", 0))  # type: ignore[call-overload]
    audit = quarantine.audit_row(
        table, config.sources[table].label, rows_in, quarantined, limit, loaded_at, blank, erased, expired
    )
    return Staged(accepted, quarantined, audit)


def file_days(staged: Staged, files: pl.DataFrame, table: str) -> pl.DataFrame:
    """The manifest of a whole load: rows per file and day of what it staged and quarantined, with each
    file's time and size (``files``, from `current_files`)."""
    rows = pl.concat(
        [
            staged.accepted.select(SOURCE_COLUMN, PARTITION_COLUMN),
            staged.quarantined.select(SOURCE_COLUMN, PARTITION_COLUMN),
        ]
    )
    counts = rows.group_by(SOURCE_COLUMN, PARTITION_COLUMN).len("rows").rename({SOURCE_COLUMN: "file"})
    return (
        counts.join(files, on="file")
        .select(
            pl.lit(table).alias("source_table"), *_STAT_COLUMNS, PARTITION_COLUMN, pl.col("rows").cast(pl.Int64)
        )
        .cast(_MANIFEST_SCHEMA)
        .sort("file", PARTITION_COLUMN, nulls_last=True)
    )


def partition_rows(
    files: pl.DataFrame,
    days: Collection[dt.date] | None,
    run_id: str,
    loaded_at: dt.datetime,
    table: str,
    kept_from: dt.date | None = None,
) -> pl.DataFrame:
    """The ``stg_partitions`` rows of a load: per day staged (all days of ``files`` when ``days`` is None;
    none before ``kept_from``, past retention), the files' version it was staged from."""
    versions = day_versions(files, kept_from)
    if days is not None:
        versions = versions.filter(pl.col(PARTITION_COLUMN).is_in(sorted(days)))
    return versions.select(
        pl.lit(table).alias("source_table"),
        PARTITION_COLUMN,
        "files_version",
        pl.col("rows").cast(pl.Int64),
        pl.lit(run_id).alias("run_id"),
        pl.lit(loaded_at, dtype=schema.UTC_TIMESTAMP).alias("loaded_at"),
    )
