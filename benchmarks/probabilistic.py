"""Probabilistic CRM matching benchmark: `match_customers` on a generated project's customers table.

    uv run python benchmarks/probabilistic.py [--customers 200000] [--dir /tmp/bench] [--seed 1]

The project is generated into ``--dir`` (default ``/tmp/cxdata-bench-<N>``) unless it already has a
``cxdata.yaml``, so it shares the projects of the other benchmarks. Prints records, candidate pairs,
pairs over the threshold, seconds (normalising, then matching) and peak RSS.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import polars as pl
from measure import peak_rss_gb

from cxdata.config import load_config
from cxdata.identity import normalise
from cxdata.identity.probabilistic import match_customers
from cxdata.io import load_table
from cxdata.synth import SynthParams, generate_project


def main() -> None:
    """Run the benchmark and print one line per phase."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    out = args.dir or Path(f"/tmp/cxdata-bench-{args.customers}")
    if not (out / "cxdata.yaml").exists():
        start = time.perf_counter()
        generate_project(out, SynthParams(customers=args.customers, seed=args.seed))
        print(f"generate   {time.perf_counter() - start:8.1f} s  ({args.customers:,} people)", flush=True)

    config = load_config(out / "cxdata.yaml")
    start = time.perf_counter()
    identity = config.identity
    customers = (
        load_table(config, "customers")
        .lazy()
        .select(
            "customer_ref",
            normalise.email(pl.col("email")).alias("email"),
            normalise.phone(pl.col("phone"), identity.default_region or "ES", identity.phone_regions).alias(
                "phone"
            ),
            "first_name",
            "last_name",
            "postcode",
            "country",
        )
        .collect()
    )
    print(f"normalise  {time.perf_counter() - start:8.1f} s  {customers.height:,} records", flush=True)

    start = time.perf_counter()
    matches = match_customers(customers, args.threshold, seed=args.seed)
    seconds = time.perf_counter() - start
    stats = matches.stats
    print(
        f"match      {seconds:8.1f} s  {stats['records']:,} records, "
        f"{stats['candidate_pairs']:,} candidate pairs, {stats['pairs']:,} pairs >= {args.threshold}",
        flush=True,
    )
    print(f"           skipped={stats['skipped']} em_failed={stats['em_failed']} prior={stats['prior']}")
    print(f"peak RSS   {peak_rss_gb():.2f} GB", flush=True)


if __name__ == "__main__":
    main()
