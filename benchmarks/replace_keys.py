"""Replace the rows of 100k customer keys in a 1M-row identity_record_keys table, on DuckDB and PostgreSQL.

    uv run python benchmarks/replace_keys.py [--rows N] [--keys K] [--seed S] [--table NAME]

Prints, per warehouse: the publish of the table (on PostgreSQL with its two
lookup indexes), one transaction with `tx.replace_keys` of K keys (their rows
deleted, as many new rows inserted; the indexes kept up to date), and a
`read(where_in=)` of those keys. On a shared machine wall time includes waiting
for a core, so the replace also prints the CPU seconds it used: this process's
and, on PostgreSQL, its server process's (read from /proc: the server must be
local). ``--table`` names the table: identity_record_keys (the default) gets
PostgreSQL's lookup indexes, an undeclared name (bench_record_keys) none.
PostgreSQL comes from ``CXDATA_BENCH_PG_URL`` (default: the local test
database), in schema ``cxdata_bench_replace_keys``, dropped afterwards; DuckDB
writes a file in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import sqlalchemy as sa
from measure import server_cpu_seconds, server_process

from cxdata.warehouse import Warehouse

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_SCHEMA = "cxdata_bench_replace_keys"


def record_keys(rows: int, seed: int, version: str) -> pl.DataFrame:
    """identity_record_keys-like rows: two records per customer on average, records numbered per table."""
    rng = np.random.default_rng(seed)
    customers = rng.integers(0, rows // 2, rows)
    tables = rng.choice(np.array(["orders", "tickets", "web_events", "customers"]), rows)
    return pl.DataFrame({"customer": customers, "source_table": tables}).select(
        pl.col("source_table"),
        pl.int_range(pl.len()).cast(pl.String).alias("record_id"),
        pl.concat_str(pl.lit("C"), pl.col("customer").cast(pl.String).str.zfill(10)).alias("customer_key"),
        pl.lit(version).alias("linked_by"),
    )


def bench(label: str, url: str, schema: str | None, table: pl.DataFrame, keys: int, seed: int, name: str) -> None:
    """Publish ``table`` as ``name``, replace the rows of ``keys`` of its customer keys, read them back; print the
    times."""
    with Warehouse(url, schema) as wh:
        wh.publish("bench_warmup", table.head(10))  # one-off imports (DuckDB's Arrow scan pulls in pandas)
        started = time.perf_counter()
        wh.publish(name, table)
        publish_seconds = time.perf_counter() - started

        touched = table.select("customer_key").unique(maintain_order=True).sample(keys, seed=seed)
        rows = table.join(touched, on="customer_key", how="semi").with_columns(linked_by=pl.lit("replaced"))
        server = server_process(wh)
        started, cpu = time.perf_counter(), time.process_time() + server_cpu_seconds(server)
        with wh.transaction() as tx:
            tx.replace_keys(name, rows, on=["customer_key"], keys=touched)
        replace_seconds = time.perf_counter() - started
        replace_cpu = time.process_time() + server_cpu_seconds(server) - cpu
        assert server is None or server_process(wh) == server, "the transaction ran on another server process"

        started = time.perf_counter()
        back = wh.read(name, columns=["customer_key", "linked_by"], where_in=touched)
        read_seconds = time.perf_counter() - started
        assert back.height == rows.height and set(back["linked_by"]) == {"replaced"}
        assert wh.row_count(name) == table.height
    print(
        f"{label:<11} publish {table.height:,} rows: {publish_seconds:6.2f} s   "
        f"replace_keys {keys:,} keys ({rows.height:,} rows out, {rows.height:,} in): {replace_seconds:6.2f} s "
        f"({replace_cpu:5.2f} s CPU)   "
        f"read where_in {keys:,} keys: {read_seconds:6.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--table", default="identity_record_keys")
    args = parser.parse_args()
    table = record_keys(args.rows, args.seed, "initial")

    with tempfile.TemporaryDirectory() as folder:
        bench(
            "duckdb", f"duckdb:///{Path(folder) / 'bench.duckdb'}", None, table, args.keys, args.seed, args.table
        )

    url = os.environ.get("CXDATA_BENCH_PG_URL", DEFAULT_PG_URL)
    try:
        bench("postgresql", url, BENCH_SCHEMA, table, args.keys, args.seed, args.table)
    finally:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{BENCH_SCHEMA}" CASCADE')
        engine.dispose()


if __name__ == "__main__":
    main()
