"""Benchmark: erase people from a whole project's warehouse, on DuckDB and PostgreSQL.

    uv run python benchmarks/erasure.py --customers 1400000 --people 1000 [--backend both] [--dir D]

Generates a project (``cxdata generate``, a child process) in ``--dir`` or a temporary folder and runs it whole
(``cxdata run``, the console script a user runs) into a DuckDB file and a PostgreSQL schema (CXDATA_BENCH_PG_URL,
default the local test database; the schema is dropped at the end). Then, per backend:

1. one person by ``cxdata forget --customer-ref`` (the command a user types): wall seconds;
2. ``--people`` others by their email in one `cxdata.privacy.erase` call (one transaction, as a batch of
   erasure requests is carried out): wall seconds, rows deleted, and that the search for a few of them (their
   email in ``customer_identity``, their key in ``dim_customer``) finds nothing afterwards.

Target (issue 23): 1,000 people erased from the 1.4M-customer project in <= 60 s on each backend.
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
import uuid
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from cxdata.config import WAREHOUSE_SCHEMA_ENV, WAREHOUSE_URL_ENV, load_config
from cxdata.config_privacy import DEFAULT_SALT_ENV
from cxdata.privacy import REQUEST_SCHEMA, erase
from cxdata.warehouse import Warehouse

EXE = shutil.which("cxdata", path=str(Path(sys.executable).parent)) or "cxdata"
PG_URL = os.environ.get("CXDATA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TARGET_SECONDS = 60.0


def cxdata(*args: str, cwd: Path, env: dict[str, str]) -> float:
    began = time.perf_counter()
    done = subprocess.run([EXE, *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(
            f"cxdata {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return time.perf_counter() - began


def people(url: str, schema: str | None, n: int, seed: int) -> tuple[str, pl.DataFrame]:
    """One customer_ref for the command, and ``n`` other customers' linked emails (one per customer)."""
    with Warehouse(url, schema) as wh:
        identity = wh.read("customer_identity", where={"status": "linked"})
    emails = (
        identity.filter(pl.col("identifier_type") == "email")
        .sort("customer_key", "identifier_value")
        .unique(subset="customer_key", keep="first")
        .sample(n + 1, seed=seed, shuffle=True)
    )
    first_key = emails["customer_key"][0]
    refs = identity.filter((pl.col("identifier_type") == "customer_ref") & (pl.col("customer_key") == first_key))
    ref = refs["identifier_value"][0] if refs.height else None
    chosen = emails.slice(1) if ref else emails.slice(0, n)
    return ref, chosen.select("customer_key", "identifier_value")


def on_backend(name: str, url: str, schema: str | None, config_path: Path, count: int, seed: int) -> None:
    env = {**os.environ, WAREHOUSE_URL_ENV: url, DEFAULT_SALT_ENV: os.environ[DEFAULT_SALT_ENV]}
    env.pop("DAGSTER_HOME", None)
    if schema:
        env[WAREHOUSE_SCHEMA_ENV] = schema
    folder = config_path.parent
    seconds = cxdata("run", "--config", str(config_path), cwd=folder, env=env)
    print(f"{name}: cxdata run {seconds:.1f} s", flush=True)
    ref, chosen = people(url, schema, count, seed)
    if ref:
        seconds = cxdata("forget", "--config", str(config_path), "--customer-ref", ref, cwd=folder, env=env)
        print(f"{name}: cxdata forget (one person) {seconds:.1f} s", flush=True)
    now = dt.datetime.now(dt.UTC)
    requests = pl.DataFrame(
        {
            "request_id": [f"bench-{i}" for i in range(chosen.height)],
            "identifier_type": ["email"] * chosen.height,
            "identifier_value": chosen["identifier_value"],
            "received_at": [now] * chosen.height,
        },
        schema=REQUEST_SCHEMA,
    )
    os.environ[WAREHOUSE_URL_ENV] = url
    config = load_config(config_path)
    with Warehouse(url, schema) as wh:
        began = time.perf_counter()
        log = erase(wh, config, requests, now)
        seconds = time.perf_counter() - began
        sample = chosen.head(20)
        left = wh.read(
            "customer_identity",
            where_in=sample.select(pl.lit("email").alias("identifier_type"), "identifier_value"),
        )
        keys = wh.read("dim_customer", columns=["customer_key"], where_in=sample.select("customer_key"))
    deleted = sum(json.loads(log["batch_rows_deleted"][0]).values())
    verdict = "meets" if seconds <= TARGET_SECONDS else "misses"
    counts = (
        f"{log['customers'].sum():,} customers, {log['records'].sum():,} records, {deleted:,} rows, "
        f"{log['identifiers_suppressed'].sum():,} identifiers suppressed"
    )
    print(
        f"{name}: erase {chosen.height:,} people in one call {seconds:.1f} s "
        f"({verdict} the {TARGET_SECONDS:.0f} s target): {counts}; "
        f"left of 20 checked: {left.height} identity rows, {keys.height} dim_customer rows",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backend", choices=["duckdb", "postgresql", "both"], default="both")
    parser.add_argument("--dir", type=Path, help="folder for the project (kept); a temporary one otherwise")
    args = parser.parse_args()
    os.environ.setdefault(DEFAULT_SALT_ENV, uuid.uuid4().hex + uuid.uuid4().hex)
    root = args.dir or Path(tempfile.mkdtemp(prefix="cxdata-erasure-"))
    project = root / "project"
    if not (project / "cxdata.yaml").exists():
        began = time.perf_counter()
        subprocess.run(
            [EXE, "generate", "--out", str(project), "--customers", str(args.customers), "--seed", str(args.seed)],
            check=True,
            capture_output=True,
        )
        print(f"{args.customers:,} customers generated in {time.perf_counter() - began:.1f} s", flush=True)
    config_path = project / "cxdata.yaml"
    if args.backend in ("duckdb", "both"):
        url = f"duckdb:///{project / 'erasure.duckdb'}"
        on_backend("duckdb", url, None, config_path, args.people, args.seed)
    if args.backend in ("postgresql", "both"):
        schema = f"bench_erase_{uuid.uuid4().hex[:8]}"
        try:
            on_backend("postgresql", PG_URL, schema, config_path, args.people, args.seed)
        finally:
            engine = sa.create_engine(PG_URL)
            with engine.begin() as conn:
                conn.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
            engine.dispose()
    if args.dir is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
