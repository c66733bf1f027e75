"""Segment export and HTTP load on DuckDB and PostgreSQL: print rows, seconds, peak memory, requests and errors.

    uv run python benchmarks/serve_load.py [--customers N] [--requests R] [--clients C] [--backend both]

Builds segment_members, segment_summary, customer_scores, dim_customer_pii and customer_consent
for N customers (a fifth of them in segment ``big``) in a child process, so the
parent's peak memory reflects the export alone. Then exports ``big`` to CSV and
to Parquet with hashed contacts, and serves the warehouse read-only with uvicorn
on a loopback port while C clients send R requests over keep-alive connections
(segment list, 100-member pages, 1,000-member pages, customer scores).
PostgreSQL comes from ``CXDATA_BENCH_PG_URL`` (default: the local test
database); the run uses schema ``cxdata_bench_serve`` and drops it afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl
import sqlalchemy as sa
import uvicorn

from cxdata.serve.access import open_read_only
from cxdata.serve.api import create_app
from cxdata.serve.auth import Tokens
from cxdata.serve.export import export
from cxdata.serve.segments import list_segments
from cxdata.warehouse import Warehouse

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_SCHEMA = "cxdata_bench_serve"
TOKEN = "bench-" + "t" * 30
AS_OF = dt.datetime(2026, 6, 30, 22, tzinfo=dt.UTC)
SEGMENTS = np.array(["big", "champions", "loyal", "hibernating", "lost"])


def build(url: str, schema: str | None, customers: int) -> None:
    """Publish the serving tables for ``customers`` customers."""
    rng = np.random.default_rng(0)
    keys = pl.format("C{}", pl.int_range(1, customers + 1).cast(pl.String).str.zfill(10))
    frame = pl.select(keys.alias("customer_key")).with_columns(
        pl.Series("segment", SEGMENTS[np.arange(customers) % 5]),
        pl.lit(AS_OF).alias("as_of"),
        pl.lit("bench").alias("run_id"),
        pl.Series("clv", rng.gamma(2.0, 200.0, customers)),
        pl.Series("churn_probability", rng.random(customers)),
        pl.Series("p_alive", rng.random(customers)),
    )
    members = frame.select("segment", "customer_key", "as_of", "run_id")
    scores = frame.select(
        "customer_key",
        "as_of",
        pl.lit("bench/clv").alias("model_run_id"),
        "p_alive",
        "clv",
        "churn_probability",
        (pl.col("clv") * pl.col("churn_probability")).alias("value_at_risk"),
        pl.lit("bench/churn").alias("churn_model_run_id"),
        "segment",
    )
    summary = members.group_by("segment", "as_of", "run_id").len("customers").with_row_index("rule_order", 1)
    pii = frame.select(
        "customer_key",
        pl.format("Person.{}@Example.com ", pl.col("customer_key")).alias("email"),
        pl.format("+34 6{}", pl.col("customer_key").str.slice(3)).alias("phone"),
    )
    # six in seven agreed (7 is prime to the 5 of the segment split): an export joins every member's consent
    agreed = pl.int_range(pl.len()) % 7 != 0
    consent = frame.select(
        "customer_key", agreed.alias("consent_email"), agreed.alias("consent_sms"), agreed.alias("consent_ads")
    )
    with Warehouse(url, schema) as wh:
        for name, table in {
            "segment_members": members,
            "segment_summary": summary,
            "customer_scores": scores,
            "dim_customer_pii": pii,
            "customer_consent": consent,
        }.items():
            wh.publish(name, table)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load(url: str, schema: str | None, requests: int, clients: int, customers: int) -> None:
    import http.client

    app = create_app(url, Tokens(((TOKEN.encode(), frozenset({"read"})),)), schema=schema)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    paths = [
        "/segments",
        "/segments/big?limit=100",
        "/segments/lost?limit=1000",
        f"/customers/C{customers // 2:010d}/scores",
    ]

    def client(share: int) -> list[tuple[int, float]]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        results = []
        for i in range(requests // clients):
            started = time.perf_counter()
            try:
                connection.request(
                    "GET", paths[(share + i) % len(paths)], headers={"Authorization": f"Bearer {TOKEN}"}
                )
                response = connection.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = 0
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            results.append((status, time.perf_counter() - started))
        connection.close()
        return results

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        done = [r for batch in pool.map(client, range(clients)) for r in batch]
    seconds = time.perf_counter() - started
    server.should_exit = True
    thread.join(timeout=10)
    errors = sum(status != 200 for status, _ in done)
    latency = np.array([s for _, s in done]) * 1000
    print(
        f"  http: {len(done)} requests, {clients} clients, {seconds:.2f} s, {len(done) / seconds:.0f} req/s, "
        f"{errors} errors, p50 {np.percentile(latency, 50):.1f} ms, p95 {np.percentile(latency, 95):.1f} ms"
    )


def run(backend: str, customers: int, requests: int, clients: int, folder: Path) -> None:
    if backend == "duckdb":
        url, schema = f"duckdb:///{folder / 'serve.duckdb'}", None
    else:
        url, schema = os.environ.get("CXDATA_BENCH_PG_URL", DEFAULT_PG_URL), BENCH_SCHEMA
    child = multiprocessing.get_context("spawn").Process(target=build, args=(url, schema, customers))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"building the {backend} warehouse failed")
    print(f"{backend}: {customers:,} customers, segment 'big' has {customers // 5:,} members")
    try:
        with open_read_only(url, schema) as wh:
            list_segments(wh)  # connection, catalog and imports, outside the timings
            for fmt, contacts in (("csv", "raw"), ("parquet", "hashed")):
                before = peak_mb()
                result = export(wh, "big", folder / f"big.{fmt}", fmt=fmt, contacts=contacts, purpose="email")
                size = result.path.stat().st_size / 1e6
                print(
                    f"  export {fmt} ({contacts} contacts): {result.rows:,} rows in {result.seconds:.2f} s "
                    f"({result.rows / result.seconds:,.0f} rows/s), {size:.1f} MB, "
                    f"peak RSS {peak_mb():.0f} MB (was {before:.0f} MB)"
                )
        load(url, schema, requests, clients, customers)
    finally:
        if schema is not None:
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                conn.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=500_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--backend", choices=["duckdb", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["duckdb", "postgresql"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            run(backend, args.customers, args.requests, args.clients, Path(folder))


if __name__ == "__main__":
    main()
