"""Benchmark: generate a synthetic project, ingest `orders` and publish `stg_orders`.

Prints, with the data size: generation seconds, DuckDB ingest + publish seconds
for every order, PostgreSQL publish seconds for the first `--pg-rows` rows, and
peak RSS after each stage. Targets (2 cores, 10M orders): generation <= 90 s,
DuckDB ingest+publish <= 30 s, PostgreSQL publish of 1M <= 20 s, RSS <= 4 GB.

    uv run python benchmarks/ingest_publish.py --orders 10000000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from measure import peak_rss_gb

from cxdata.config import load_config
from cxdata.io import load_table
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse

PG_URL = os.environ.get("CXDATA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ORDERS_PER_PERSON = 7.0  # the synthetic defaults give about this many orders a person


def report(stage: str, rows: int, seconds: float) -> None:
    rate = rows / seconds
    print(f"{stage:<34} {rows:>12,} rows {seconds:8.1f} s {rate:>12,.0f} rows/s  peak RSS {peak_rss_gb():.2f} GB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--pg-rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cxdata-bench-") as tmp:
        people = round(args.orders / ORDERS_PER_PERSON)
        started = time.perf_counter()
        project = generate_project(Path(tmp) / "project", SynthParams(customers=people, seed=args.seed))
        orders = project.row_counts["orders"]
        written = ", ".join(f"{t} {n:,}" for t, n in project.row_counts.items())
        print(f"people {people:,}; rows written: {written}")
        report("generate (all tables + truth)", orders, time.perf_counter() - started)

        config = load_config(project.config_path)
        started = time.perf_counter()
        frame = load_table(config, "orders")
        ingest_seconds = time.perf_counter() - started
        report("ingest orders (CSV -> contract)", frame.height, ingest_seconds)
        with Warehouse(f"duckdb:///{Path(tmp) / 'bench.duckdb'}") as wh:
            started = time.perf_counter()
            wh.publish("stg_orders", frame)
            publish_seconds = time.perf_counter() - started
        report("publish stg_orders to DuckDB", frame.height, publish_seconds)
        report("DuckDB ingest + publish", frame.height, ingest_seconds + publish_seconds)

        head = frame.head(args.pg_rows)
        del frame
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text("drop schema if exists cxdata_bench cascade"))
        try:
            with Warehouse(PG_URL, schema="cxdata_bench") as wh:
                started = time.perf_counter()
                wh.publish("stg_orders", head)
                report("publish stg_orders to PostgreSQL", head.height, time.perf_counter() - started)
        finally:
            with engine.begin() as conn:
                conn.execute(sa.text("drop schema if exists cxdata_bench cascade"))
            engine.dispose()


if __name__ == "__main__":
    main()
