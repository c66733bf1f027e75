"""Incremental identity closure on a generated project: how many customers and records a day's data touches.

    uv run python benchmarks/identity_closure.py --customers 20000 [--days 3] [--seed 1]

Resolves everything before the last ``--days`` days in full, then brings the state forward one day at a time
with `cxdata.identity.incremental.update` (no fallback) and prints per day: the new records, the closure (keys,
the rounds of its growth), the records resolved again and their share, seconds of the incremental and of a
full resolve, and whether both give the same keys (they must).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import polars as pl

from cxdata.config import load_config
from cxdata.identity import resolve
from cxdata.identity.incremental import IdentityState, apply, update
from cxdata.identity.records import TABLES
from cxdata.io import load_table
from cxdata.synth import SynthParams, generate_project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="closure_"))
    if not (root / "cxdata.yaml").exists():
        generate_project(root, SynthParams(customers=args.customers, seed=args.seed))
    config = load_config(root / "cxdata.yaml")
    tables = {name: load_table(config, name) for name in TABLES if name in config.sources}
    last = tables["orders"]["ordered_at"].max()
    end = dt.datetime(last.year, last.month, last.day, tzinfo=dt.UTC) + dt.timedelta(days=1)
    identity = config.identity
    print(f"{args.customers:,} customers, limits {identity.max_customers_per_identifier}")

    def until(cut: dt.datetime) -> dict[str, pl.DataFrame]:
        # snapshot and undated records count as history
        return {
            name: frame.filter(pl.col(TABLES[name][1]).is_null() | (pl.col(TABLES[name][1]) < cut))
            for name, frame in tables.items()
        }

    def ids(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
        return pl.concat(
            [
                f.select(pl.lit(n).alias("source_table"), pl.col(TABLES[n][0]).cast(pl.String).alias("record_id"))
                for n, f in frames.items()
            ]
        )

    cut = end - dt.timedelta(days=args.days)
    state = IdentityState.of(resolve(until(cut), identity, run_id="history", with_links=True))
    print(f"history: {state.record_keys.height:,} records, {state.record_keys['customer_key'].n_unique():,} keys")
    for day in range(args.days):
        before, cut = cut, cut + dt.timedelta(days=1)
        now_tables = until(cut)
        new = ids(now_tables).join(ids(until(before)), on=["source_table", "record_id"], how="anti")
        gone = new.clear()
        clock = time.perf_counter()
        result = update(now_tables, new, gone, state, identity, 1.0, run_id=f"day{day}")
        inc_seconds = time.perf_counter() - clock
        clock = time.perf_counter()
        full = resolve(now_tables, identity, previous=state.customer_identity, run_id=f"day{day}")
        full_seconds = time.perf_counter() - clock
        state = apply(state, result)
        cols = ["source_table", "record_id", "customer_key", "linked_by"]
        equal = (
            state.record_keys.select(cols)
            .sort(cols, nulls_last=True)
            .equals(full.record_keys.select(cols).sort(cols, nulls_last=True))
        )
        print(
            f"day {cut.date()}: {new.height:,} new records; closure {result.closure.height:,} keys "
            f"(growth by round {result.growth}), {result.subset_records:,} of {result.total_records:,} records "
            f"({result.subset_records / result.total_records:.2%}); touched {result.touched.height:,}; "
            f"merges {result.identity_merges.height}; incremental {inc_seconds:.2f} s, full {full_seconds:.2f} s; "
            f"equal to full: {equal}"
        )


if __name__ == "__main__":
    main()
