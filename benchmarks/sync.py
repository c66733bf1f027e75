"""Benchmark: a change-only sync of a large segment, and the membership replay of its scoring, on both backends.

    uv run python benchmarks/sync.py --members 100000 --churn 0.05 [--others 300000] [--backend both]

Writes, per backend, two scorings as the value step does (segment_members, segment_summary and
customer_scores_history; ``--members`` customers in high_value_at_risk and ``--others`` in other segments),
with ``--churn`` of the segment's members replaced between them, and the contact and consent tables of every
customer. A destination syncs the segment as a Meta audience for ads (the heaviest columns: five hashed in
SQL) to a folder. Then, timed, on the path a user runs:

1. `cxdata sync` (the console script, a child process: imports included) after the first scoring: the whole
   segment added;
2. the membership replay (`update_membership`, what the `segment_membership` asset does) of each scoring;
3. `cxdata sync` after the second scoring: the change-only sync, whose rows are checked against the planted
   adds and removes.

Target (issue 24): the change-only sync of a 100,000-member segment with 5% churn in <= 5 s on each backend.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import polars as pl
import sqlalchemy as sa
import yaml

from cxdata.activation.membership import update_membership
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse

EXE = shutil.which("cxdata", path=str(Path(sys.executable).parent)) or "cxdata"
PG_URL = os.environ.get("CXDATA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SEGMENT = "high_value_at_risk"
OTHERS = ("loyal", "needs_attention", "lost")
T1 = dt.datetime(2026, 6, 1, 21, 59, 59, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 6, 2, 21, 59, 59, tzinfo=dt.UTC)
TARGET_SECONDS = 5.0


def key(n: np.ndarray) -> pl.Series:
    return pl.Series("customer_key", n).cast(pl.String).str.zfill(9).str.pad_start(10, "C")


def scoring(members: np.ndarray, others: np.ndarray, as_of: dt.datetime, run_id: str) -> pl.DataFrame:
    """segment_members rows: ``members`` in the segment, ``others`` spread over the other segments."""
    spread = np.array(OTHERS)[np.arange(len(others)) % len(OTHERS)]
    return pl.DataFrame(
        {
            "segment": np.concatenate([np.full(len(members), SEGMENT), spread]),
            "customer_key": key(np.concatenate([members, others])),
        }
    ).with_columns(pl.lit(as_of).alias("as_of"), pl.lit(run_id).alias("run_id"))


def publish_scoring(wh: Warehouse, members: pl.DataFrame, as_of: dt.datetime, run_id: str, seed: int) -> None:
    summary = members.group_by("segment", "as_of", "run_id").agg(pl.len().cast(pl.Int64).alias("customers"))
    clv = np.random.default_rng(seed).gamma(2.0, 60.0, members.height)
    history = members.select("customer_key", "as_of", pl.Series("clv", clv))
    with wh.transaction() as tx:
        tx.append("segment_members", members, replace={"as_of": as_of})
        tx.append("segment_summary", summary, replace={"as_of": as_of})
        tx.append("customer_scores_history", history, replace={"as_of": as_of})


def people(n: np.ndarray) -> tuple[pl.DataFrame, pl.DataFrame]:
    keys = key(n)
    pii = pl.DataFrame({"customer_key": keys}).with_columns(
        ("p" + pl.col("customer_key").str.slice(1) + "@example.com").alias("email"),
        ("+346" + pl.col("customer_key").str.slice(2)).alias("phone"),
        pl.lit("Ana").alias("first_name"), pl.lit("Pérez").alias("last_name"), pl.lit("28001").alias("postcode"),
        pl.lit("ES").alias("country"),
    )  # fmt: skip
    consent = pl.DataFrame({"customer_key": keys}).with_columns(
        pl.lit(True).alias("consent_email"), pl.lit(True).alias("consent_sms"),
        (pl.int_range(pl.len()) % 20 != 0).alias("consent_ads"), pl.lit(T1).alias("consent_updated_at"),
    )  # fmt: skip
    return pii, consent


def cxdata_sync(config: Path) -> tuple[float, str]:
    began = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXDATA_WAREHOUSE")}
    done = subprocess.run([EXE, "sync", "audience", "--config", str(config)], env=env, capture_output=True,
                          text=True)  # fmt: skip
    if done.returncode:
        sys.exit(f"cxdata sync failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - began, done.stdout.strip()


def on_backend(name: str, url: str, schema: str | None, folder: Path, members: int, others: int, churn: float,
               seed: int) -> None:  # fmt: skip
    rng = np.random.default_rng(seed)
    first = np.arange(members)
    left = rng.choice(first, int(members * churn), replace=False)
    joined = np.arange(members + others, members + others + len(left))
    second = np.concatenate([np.setdiff1d(first, left), joined])
    rest = np.arange(members, members + others)
    config = folder / f"{name}.yaml"
    config.write_text(yaml.safe_dump({
        "name": "sync_bench", "warehouse": url, **({"warehouse_schema": schema} if schema else {}),
        "sources": {"orders": {"path": "orders.csv"}},
        "activation": {"destinations": {"audience": {
            "segment": SEGMENT, "template": "meta", "purpose": "ads", "path": f"out_{name}"}}},
    }))  # fmt: skip
    (folder / "orders.csv").write_text("order_id,customer_ref,ordered_at,amount\n1,c1,2026-01-01,10\n")
    pii, consent = people(np.concatenate([first, rest, joined]))
    with Warehouse(url, schema) as wh:
        wh.publish("dim_customer_pii", pii)
        wh.publish("customer_consent", consent)
        publish_scoring(wh, scoring(first, rest, T1, "r1"), T1, "r1", seed)
    seconds, said = cxdata_sync(config)
    print(f"{name}: cxdata sync, first (whole segment): {seconds:.2f} s: {said}", flush=True)
    with Warehouse(url, schema) as wh:
        began = time.perf_counter()
        report = update_membership(wh, RunContext("m1", T1, T1))
        print(f"{name}: membership replay of scoring 1 ({members + others:,} members): "
              f"{time.perf_counter() - began:.2f} s, {report.entered:,} entries", flush=True)  # fmt: skip
        publish_scoring(wh, scoring(second, rest, T2, "r2"), T2, "r2", seed + 1)
        began = time.perf_counter()
        report = update_membership(wh, RunContext("m2", T2, T2))
        print(f"{name}: membership replay of scoring 2: {time.perf_counter() - began:.2f} s, "
              f"{report.entered:,} entries, {report.exited:,} exits", flush=True)  # fmt: skip
    seconds, said = cxdata_sync(config)
    verdict = "meets" if seconds <= TARGET_SECONDS else "misses"
    written = sorted((folder / f"out_{name}").glob("*.csv"))[-1]
    rows = pl.read_csv(written)
    consented = consent.filter("consent_ads").select("customer_key")
    adds = key(joined).to_frame().join(consented, on="customer_key").height
    removes = key(left).to_frame().join(consented, on="customer_key").height
    counted = rows["change"].value_counts().sort("change")["count"].to_list()
    check = "as planted" if counted == [adds, removes] else f"NOT as planted: {counted} vs {[adds, removes]}"
    print(f"{name}: cxdata sync, change only ({churn:.0%} churn of {members:,}): {seconds:.2f} s "
          f"({verdict} the {TARGET_SECONDS:.0f} s target): {said}; file rows {check}", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--others", type=int, default=300_000)
    parser.add_argument("--churn", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--backend", choices=["duckdb", "postgresql", "both"], default="both")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cxdata-sync-"))
    try:
        if args.backend in ("duckdb", "both"):
            url = f"duckdb:///{folder / 'sync.duckdb'}"
            on_backend("duckdb", url, None, folder, args.members, args.others, args.churn, args.seed)
        if args.backend in ("postgresql", "both"):
            schema = f"bench_sync_{uuid.uuid4().hex[:8]}"
            try:
                on_backend("postgresql", PG_URL, schema, folder, args.members, args.others, args.churn, args.seed)
            finally:
                engine = sa.create_engine(PG_URL)
                with engine.begin() as conn:
                    conn.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
                engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
