"""Publish a 1M-row orders frame to PostgreSQL and to DuckDB and print the throughput.

    uv run python benchmarks/publish_postgres.py [--rows N] [--seed S]

PostgreSQL comes from ``CXDATA_BENCH_PG_URL`` (default: local test database);
the run publishes into schema ``cxdata_bench`` and drops it afterwards. DuckDB
writes to a file in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from cxdata.warehouse import Warehouse

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_SCHEMA = "cxdata_bench"


def orders_frame(rows: int, seed: int) -> pl.DataFrame:
    """An orders-like frame: ids, identifiers with gaps, a UTC timestamp, an amount and labels."""
    rng = np.random.default_rng(seed)
    customers = rng.integers(0, rows // 5 + 1, rows)
    start = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
    span_us = 4 * 365 * 86_400 * 1_000_000
    return pl.DataFrame(
        {
            "row": np.arange(rows),
            "customer": customers,
            "ordered_us": start + rng.integers(0, span_us, rows),
            "amount": np.round(rng.gamma(2.0, 40.0, rows), 2),
            "refund": rng.random(rows) < 0.03,
            "guest": rng.random(rows) < 0.1,
            "channel": rng.choice(np.array(["web", "store", "phone", "marketplace"]), rows),
        }
    ).select(
        pl.format("O{}", pl.col("row").cast(pl.String).str.zfill(9)).alias("order_id"),
        pl.when(~pl.col("guest")).then(pl.format("C{}", pl.col("customer"))).alias("customer_ref"),
        pl.format("person.{}@example.com", pl.col("customer")).alias("email"),
        pl.when(pl.col("customer") % 3 == 0)
        .then(pl.format("+34 600 {}", pl.col("customer") % 1_000_000))
        .alias("phone"),
        pl.col("ordered_us").cast(pl.Datetime("us", "UTC")).alias("ordered_at"),
        pl.when(pl.col("refund")).then(-pl.col("amount")).otherwise(pl.col("amount")).alias("amount"),
        pl.lit("EUR").alias("currency"),
        pl.col("channel"),
        pl.when(pl.col("refund")).then(pl.lit("refunded")).otherwise(pl.lit("completed")).alias("status"),
        pl.lit("orders:data/orders.csv").alias("_source"),
        pl.lit(datetime(2024, 6, 1, tzinfo=UTC)).cast(pl.Datetime("us", "UTC")).alias("_loaded_at"),
    )


def bench(label: str, url: str, schema: str | None, frame: pl.DataFrame) -> None:
    """Publish ``frame`` once as stg_orders, check the row count, print rows, seconds and rows/s."""
    with Warehouse(url, schema) as wh:
        # The first publish in a process pays one-off imports (DuckDB's Arrow scan pulls in pandas).
        wh.publish("bench_warmup", frame.head(10))
        result = wh.publish("stg_orders", frame)
        assert wh.row_count("stg_orders") == frame.height
        started = time.perf_counter()
        back = wh.read("stg_orders")
        read_seconds = time.perf_counter() - started
        assert back.height == frame.height
    publish_rate = result.rows / result.seconds
    read_rate = back.height / read_seconds
    print(
        f"{label:<11} publish: {result.rows:>9,} rows in {result.seconds:6.2f} s = {publish_rate:>11,.0f} rows/s"
        f"   read: {read_seconds:6.2f} s = {read_rate:>11,.0f} rows/s"
    )


def main() -> None:
    """Run the benchmark on both warehouses."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    frame = orders_frame(args.rows, args.seed)
    print(f"frame: {frame.height:,} rows x {frame.width} columns, built in {time.perf_counter() - started:.2f} s")

    pg_url = os.environ.get("CXDATA_BENCH_PG_URL", DEFAULT_PG_URL)
    try:
        bench("postgresql", pg_url, BENCH_SCHEMA, frame)
    finally:
        with Warehouse(pg_url) as wh:
            wh.query(f'DROP SCHEMA IF EXISTS "{BENCH_SCHEMA}" CASCADE')

    with tempfile.TemporaryDirectory() as folder:
        bench("duckdb", f"duckdb:///{Path(folder) / 'bench.duckdb'}", None, frame)


if __name__ == "__main__":
    main()
