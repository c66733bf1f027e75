"""Benchmark: the identity step on one more day of data, incremental against a full rebuild.

Generates a project, holds back its last day (cxdata.synth.days), stages the history by day and runs identity
(full), then delivers the day and stages it. Two copies of that warehouse then run the identity step: one with
``full_refresh``, one incremental. Each step runs in its own process, so its peak RSS is its own. Prints wall
and CPU seconds, peak RSS and the incremental run's facts, and whether both copies hold the same identity
tables (DuckDB).

    uv run python benchmarks/identity_incremental.py --customers 20000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
from measure import cpu_seconds, peak_rss_gb, timed
from staging_days import stage_all

from cxdata.config import load_config
from cxdata.identity.step import identity_step
from cxdata.io import partitions
from cxdata.run_context import run_context
from cxdata.synth import SynthParams, generate_project
from cxdata.synth.days import deliver, hold_back_days
from cxdata.warehouse import Warehouse

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
COMPARED = {
    "identity_record_keys": ["source_table", "record_id"],
    "customer_identity": ["identifier_type", "identifier_value"],
    "identity_links": ["source_table", "record_id", "identifier_type", "identifier_value"],
    "identity_merges": ["run_id", "old_key", "new_key", "kind"],
    "identity_record_hashes": ["source_table", "record_id"],
}


def step(config_path: str, url: str, run_id: str, full: bool) -> None:
    """The child: one identity step; prints its figures as one JSON line."""
    config = load_config(Path(config_path), environ={})
    with Warehouse(url) as wh:
        run = run_context(wh, config, run_id, now=NOW + dt.timedelta(days=1))
        began, cpu = time.perf_counter(), cpu_seconds()
        facts = identity_step(wh, config, run, full_refresh=full)["customer_identity"].facts
        seconds, cpu = time.perf_counter() - began, cpu_seconds() - cpu
    keep = ("mode", "mode_reason", "closure_customers", "records_resolved", "records", "upserted", "gone")
    shown = {k: facts.get(k) for k in (*keep, "hashed", "scope", "touched_customers", "merges_this_run")}
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_gb": peak_rss_gb(), "facts": shown}))


def child(config_path: Path, url: str, run_id: str, full: bool) -> dict:
    script = Path(__file__).resolve()
    argv = [sys.executable, str(script), "--child", str(config_path), url, run_id, "full" if full else "inc"]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=script.parent)
    return json.loads(done.stdout.strip().splitlines()[-1])


def tables_of(url: str) -> dict[str, pl.DataFrame]:
    with Warehouse(url) as wh:
        out = {}
        for name, key in COMPARED.items():
            frame = wh.read(name)
            frame = frame.drop("run_id") if name == "customer_identity" else frame
            out[name] = frame.sort([*key, *frame.columns], nulls_last=True)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--lookback", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cxdata-identity-inc-") as tmp:
        folder = Path(tmp) / "project"
        project, _ = timed(
            "generate", lambda: generate_project(folder, SynthParams(args.customers, seed=args.seed))
        )
        print(f"customers {args.customers:,}; orders {project.row_counts['orders']:,}")
        config_path = folder / "cxdata.yaml"
        held = hold_back_days(config_path, days=1)
        config = load_config(config_path, environ={})
        url = f"duckdb:///{folder / 'history.duckdb'}"
        timed("stage the history", lambda: stage_all(url, config, now=NOW))
        first = child(config_path, url, "history", full=True)
        print(f"identity on the history (full): {first['seconds']:.2f} s, peak RSS {first['peak_gb']:.2f} GB")
        for files in held.values():
            deliver(files)
        event = [t for t in config.sources if partitions.file_sources(config, t)]
        with Warehouse(url) as wh:
            days = {t: partitions.restate(wh, config, t, args.lookback).days for t in event}
        timed("stage the new day", lambda: stage_all(url, config, days, now=NOW))
        urls = {}
        for kind in ("full", "incremental"):
            copy = folder / f"{kind}.duckdb"
            shutil.copyfile(folder / "history.duckdb", copy)
            urls[kind] = f"duckdb:///{copy}"
        print(f"load average before the runs: {os.getloadavg()}")
        figures = {kind: child(config_path, urls[kind], "day", full=kind == "full") for kind in urls}
        for kind, got in figures.items():
            print(
                f"identity step, {kind}: {got['seconds']:.2f} s wall, {got['cpu']:.2f} s CPU, "
                f"peak RSS {got['peak_gb']:.2f} GB"
            )
        print(f"incremental facts: {figures['incremental']['facts']}")
        ratio = figures["incremental"]["seconds"] / figures["full"]["seconds"]
        print(f"incremental / full: {ratio:.1%}; load average after: {os.getloadavg()}")
        full, incremental = tables_of(urls["full"]), tables_of(urls["incremental"])
        same = {name: full[name].equals(incremental[name]) for name in full}
        print(f"incremental writes what full writes: {same}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        step(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "full")
    else:
        main()
