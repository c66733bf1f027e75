"""Benchmark: what validation adds to the ingest of a synthetic project's orders.

Prints rows, seconds of the bare standardise path and of the row rules
(stage_table), both best of ``--repeat``; then the publish of stg_orders to a
DuckDB warehouse and the Great Expectations checks on it (`check_table`, warm:
the first call pays GX's import). Validation = rules' extra + GX checks,
against ingest = standardise + publish. Target (2 cores, 10M orders): ≤ 30%.
Reuses /tmp/cxdata-bench-1400000 (about 9.6M orders) when present.

    uv run python benchmarks/validate.py --orders 10000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import polars as pl

from cxdata.config import ProjectConfig, load_config
from cxdata.io import read_labelled, stage_table, standardise
from cxdata.synth import SynthParams, generate_project
from cxdata.validate.checks import check_table
from cxdata.warehouse import Warehouse

REUSED = Path("/tmp/cxdata-bench-1400000")
ORDERS_PER_PERSON = 7.0  # the synthetic defaults give about this many orders a person


def bare(config: ProjectConfig) -> int:
    """Today's path without rules: standardise every part and collect once."""
    source, stamp = config.sources["orders"], dt.datetime.now(dt.UTC)
    parts = [
        standardise(p, "orders", source, config.timezone, source.label, stamp)
        for _, p in read_labelled(config, "orders")
    ]
    return (parts[0] if len(parts) == 1 else pl.concat(parts, how="diagonal_relaxed")).collect().height


def ruled(config: ProjectConfig) -> int:
    staged = stage_table(config, "orders")
    assert staged.accepted.height + staged.quarantined.height == staged.audit["rows_in"]
    print(f"quarantined {staged.quarantined.height:,} ({staged.audit['quarantined_by_rule']})")
    return int(staged.audit["rows_in"])


def checked(config: ProjectConfig, path: Path) -> tuple[float, float]:
    """Seconds to publish the accepted orders and to run their GX checks (second, warm call)."""
    accepted = stage_table(config, "orders").accepted
    with Warehouse(f"duckdb:///{path}") as wh:
        started = time.perf_counter()
        wh.publish("stg_orders", accepted)
        publish_seconds = time.perf_counter() - started
        del accepted
        now = dt.datetime.now(dt.UTC)
        check_table(wh, config, "stg_orders", "bench-cold", now)
        started = time.perf_counter()
        report = check_table(wh, config, "stg_orders", "bench-warm", now)
        gx_seconds = time.perf_counter() - started
    print(f"GX checks passed: error {report.passed('error')}, warn {report.passed('warn')}")
    return publish_seconds, gx_seconds


def best(run, config: ProjectConfig, repeat: int) -> tuple[int, float]:
    times, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = run(config)
        times.append(time.perf_counter() - started)
    return rows, min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cxdata-bench-") as tmp:
        if (REUSED / "cxdata.yaml").exists():
            config = load_config(REUSED / "cxdata.yaml")
        else:
            people = round(args.orders / ORDERS_PER_PERSON)
            project = generate_project(Path(tmp) / "project", SynthParams(customers=people, seed=args.seed))
            config = load_config(project.config_path)
        rows, bare_seconds = best(bare, config, args.repeat)
        ruled_rows, rules_seconds = best(ruled, config, args.repeat)
        publish_seconds, gx_seconds = checked(config, Path(tmp) / "bench.duckdb")
    assert rows == ruled_rows
    overhead = (rules_seconds / bare_seconds - 1) * 100
    print(f"orders {rows:,} rows ({config.sources['orders'].label})")
    print(f"bare standardise   {bare_seconds:8.2f} s  {rows / bare_seconds:>12,.0f} rows/s")
    print(f"with row rules     {rules_seconds:8.2f} s  {rows / rules_seconds:>12,.0f} rows/s")
    print(f"overhead of rules  {overhead:8.1f} %  of standardise alone")
    ingest = bare_seconds + publish_seconds
    validation = rules_seconds - bare_seconds + gx_seconds
    print(f"publish stg_orders {publish_seconds:8.2f} s")
    print(f"GX checks (warm)   {gx_seconds:8.2f} s")
    print(
        f"validation {validation:.2f} s on ingest {ingest:.2f} s (standardise + publish): "
        f"{validation / ingest * 100:.1f} %  (target <= 30 %)"
    )


if __name__ == "__main__":
    main()
