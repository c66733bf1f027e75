"""What a file source holds now, as versions that change exactly when its files do: the observation that
tells automation which days (or which snapshot) to stage again.

An event source's version is per day: the hash of the version a staging of that day would record
(`cxdata.io.partitions.day_versions`: each file's name, size and checksum). Only the days whose version
differs from the one they were staged from are reported (`day_stamps`): Dagster writes an event per day
observed, and a history of hundreds of days observed every few minutes would fill the instance. The days
come from the stored manifest (``stg_files``): files whose name, time and size it already knows are not
opened; only new or changed files are read (their event times and checksum), and nothing is stored.

A snapshot source (customers, touchpoint costs) is loaded whole, so its version is the hash of its files'
names, times and sizes: no file is opened.

A day staged from its files before they were observed (by `cxdata run`) is left out, so automation does
not stage it again.

A file modified in the last `SETTLE_SECONDS` may still be being copied in: the observation waits for it
(`settled`), rather than stage half a file and stage it again a minute later.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time

import polars as pl

from cxdata.config import ProjectConfig
from cxdata.io.days import PARTITION_COLUMN
from cxdata.io.partitions import current_files, day_versions, manifest, staged_days, updated_manifest
from cxdata.warehouse import Warehouse

SETTLE_SECONDS = 60


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def day_stamps(wh: Warehouse, config: ProjectConfig, table: str) -> dict[dt.date, str]:
    """Per day of event source ``table`` whose files differ from those it was staged from (or that was never
    staged, or whose files are gone), a short hash of that day's files version now."""
    known = manifest(wh, table)
    files = updated_manifest(config, table, known)
    versions = day_versions(known if files is None else files).select(PARTITION_COLUMN, "files_version")
    staged = staged_days(wh, table)
    gone = staged.join(versions, on=PARTITION_COLUMN, how="anti").with_columns(files_version=pl.lit(""))
    changed = pl.concat([versions.join(staged, on=[PARTITION_COLUMN, "files_version"], how="anti"), gone])
    return {day: _short(version) for day, version in changed.iter_rows()}


def snapshot_stamp(config: ProjectConfig, table: str) -> str:
    """A short hash of the names, modification times and sizes of snapshot source ``table``'s files."""
    files = current_files(config, table, hashed=()).sort("file")
    entries = files.select(pl.concat_str(["file", "mtime_ns", "size"], separator="|"))
    return _short(";".join(entries.to_series()))


def settled(config: ProjectConfig, table: str, seconds: float = SETTLE_SECONDS, now_ns: int | None = None) -> bool:
    """Whether none of ``table``'s files changed in the last ``seconds`` (none is still being written)."""
    files = current_files(config, table, hashed=())
    newest = files["mtime_ns"].max()
    moment = time.time_ns() if now_ns is None else now_ns
    return newest is None or moment - int(newest) >= seconds * 1e9  # type: ignore[arg-type]
