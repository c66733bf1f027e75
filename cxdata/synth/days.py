"""Hold back a project's last days, to deliver them one at a time as daily files would arrive.

Tests and benchmarks of daily runs start from a project's history and then add
one day of data, the way a source system drops a file a day:

    held = hold_back_days(project.config_path, days=2)
    run(...)                                   # the history
    deliver(held[sorted(held)[0]])             # the next day's files arrive
    run(...)                                   # the daily run

Each event source read from files becomes a folder holding ``part-0-history.<ext>``
(rows before the held-back days, and rows without a readable day) and the
config points at that folder; the held-back rows wait, one file per source and
day, under ``held_back/`` beside the config. Rows keep their source text: only
which file holds them changes.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from cxdata.config import load_config
from cxdata.io.days import PARTITION_COLUMN, with_partition_day
from cxdata.io.partitions import file_sources
from cxdata.io.readers import SOURCE_COLUMN, read_labelled
from cxdata.io.staging import standardise

HELD_BACK = "held_back"


@dataclass(frozen=True)
class HeldFile:
    """One held-back file and where it goes when its day arrives."""

    held: Path
    destination: Path


def hold_back_days(config_path: Path, days: int) -> dict[dt.date, list[HeldFile]]:
    """Split every event source read from files into its history and its last ``days`` days (the project's
    zone, counted back from the last day any source holds); the held-back files by day."""
    config = load_config(config_path, environ={})
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    tables = [t for t in config.sources if file_sources(config, t)]
    frames = {table: _with_days(config, table) for table in tables}
    last = max(frame[PARTITION_COLUMN].max() for frame in frames.values() if frame.height)
    first_held = last - dt.timedelta(days=days - 1)
    held: dict[dt.date, list[HeldFile]] = {}
    for table, frame in frames.items():
        kind = (
            ".parquet"
            if config.source_path(table).suffix == ".parquet" or _parquet_folder(config, table)
            else ".csv"
        )
        folder = config.base_dir / "data" / f"{table}_files"
        folder.mkdir(parents=True, exist_ok=False)
        late = pl.col(PARTITION_COLUMN) >= pl.lit(first_held)
        # named so that file order is time order, as the first occurrence of a repeated key goes by it
        _write(
            frame.filter(~late.fill_null(False)),
            folder / f"part-0-history{kind}",
            config.sources[table].csv.separator,
        )
        for (day,), part in (
            frame.filter(late.fill_null(False)).partition_by(PARTITION_COLUMN, as_dict=True).items()
        ):
            target = config.base_dir / HELD_BACK / table / f"{day}{kind}"
            target.parent.mkdir(parents=True, exist_ok=True)
            _write(part, target, config.sources[table].csv.separator)
            held.setdefault(day, []).append(HeldFile(target, folder / f"part-1-{day}{kind}"))
        _remove(config.source_path(table))
        raw["sources"][table]["path"] = str(folder.relative_to(config.base_dir))
    config_path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return dict(sorted(held.items()))


def deliver(files: list[HeldFile]) -> None:
    """Move one day's held-back files into their sources' folders, as if the day's files had arrived."""
    for file in files:
        shutil.move(file.held, file.destination)


def _with_days(config, table: str) -> pl.DataFrame:
    """The source's rows as text, in file order, each with the project-zone day of its event."""
    source = config.sources[table]
    parts = []
    for label, part in read_labelled(config, table):
        texts = part.drop(SOURCE_COLUMN)  # CSV is read as text; Parquet keeps its own types
        stamp = dt.datetime.now(dt.UTC)
        day = with_partition_day(
            standardise(part, table, source, config.timezone, label, stamp), table, config.timezone
        )
        parts.append(pl.concat([texts, day.select(PARTITION_COLUMN)], how="horizontal").collect())
    return pl.concat(parts, how="diagonal_relaxed")


def _parquet_folder(config, table: str) -> bool:
    path = config.source_path(table)
    return path.is_dir() and any(p.suffix == ".parquet" for p in path.rglob("*"))


def _write(frame: pl.DataFrame, path: Path, separator: str) -> None:
    rows = frame.drop(PARTITION_COLUMN)
    if path.suffix == ".parquet":
        rows.write_parquet(path)
    else:
        rows.write_csv(path, separator=separator)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
