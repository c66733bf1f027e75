"""Benchmark: staging one new day of a generated project against loading every table whole.

Generates a project, holds back its last day (cxdata.synth.days), stages the history whole, then delivers the
day's files and stages only the days `restate` picks. Prints wall and CPU seconds and rows per step, and checks
that the warehouse then equals a whole load of the same files (DuckDB).

    uv run python benchmarks/staging_days.py --customers 200000
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
from measure import peak_rss_gb, timed

from cxdata.config import load_config
from cxdata.io import partitions
from cxdata.io.step import stage_step
from cxdata.synth import SynthParams, generate_project
from cxdata.synth.days import deliver, hold_back_days
from cxdata.warehouse import Warehouse

NOW = dt.datetime.now(dt.UTC)


def stage_all(url: str, config, days: dict | None = None, now: dt.datetime = NOW) -> int:
    """Stage every source (only ``days[table]`` of the event tables when given) at ``now``; the rows staged."""
    rows = 0
    with Warehouse(url) as wh:
        for table in config.sources:
            chosen = None if days is None or table not in days else days[table]
            report = stage_step(wh, config, table, "bench", now, days=chosen)
            rows += int(report.audit["rows_in"])
    return rows


def snapshot(url: str, tables: list[str]) -> dict[str, pl.DataFrame]:
    with Warehouse(url) as wh:
        return {
            name: (frame := wh.read(name).drop("_loaded_at")).sort(frame.columns, nulls_last=True)
            for table in tables
            for name in (f"stg_{table}", f"quarantine_{table}")
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--lookback", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cxdata-days-") as tmp:
        folder = Path(tmp) / "project"
        project, _ = timed(
            "generate", lambda: generate_project(folder, SynthParams(args.customers, seed=args.seed))
        )
        print(f"customers {args.customers:,}; orders {project.row_counts['orders']:,}")
        held, _ = timed("hold back the last day", lambda: hold_back_days(folder / "cxdata.yaml", days=1))
        config = load_config(folder / "cxdata.yaml", environ={})
        url = f"duckdb:///{folder / 'days.duckdb'}"
        rows, whole_s = timed("stage the history whole (every table)", lambda: stage_all(url, config))
        print(f"  {rows:,} rows, peak RSS {peak_rss_gb():.2f} GB")
        for files in held.values():
            deliver(files)
        event = [t for t in config.sources if partitions.file_sources(config, t)]

        def plan() -> dict:
            with Warehouse(url) as wh:
                return {t: partitions.restate(wh, config, t, args.lookback).days for t in event}

        days, _ = timed("plan the day (manifest of the new files)", plan)
        print(f"  days: { {t: [str(d) for d in ds] for t, ds in days.items()} }")
        rows, day_s = timed(
            "stage the new day (event tables by day, snapshots whole)", lambda: stage_all(url, config, days)
        )
        print(f"  {rows:,} rows; {day_s / whole_s:.1%} of the whole load; peak RSS {peak_rss_gb():.2f} GB")
        other = f"duckdb:///{folder / 'whole.duckdb'}"
        timed("stage everything whole again (for the comparison)", lambda: stage_all(other, config))
        got, expected = snapshot(url, event), snapshot(other, event)
        same = all(got[name].equals(expected[name]) for name in expected)
        print(f"by-day load equals a whole load of the same files: {same}")


if __name__ == "__main__":
    main()
