"""Identity resolution benchmark: generate a synthetic project, load it, resolve, report seconds and peak RSS.

    uv run python benchmarks/identity.py --customers 200000 [--dir /tmp/bench] [--seed 1]

An existing project in ``--dir`` is reused, so a second run measures identity only.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

from cxdata.config import load_config
from cxdata.identity import resolve
from cxdata.identity.records import TABLES
from cxdata.io import load_table
from cxdata.synth import SynthParams, generate_project


def _rss_gb() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024**3 if sys.platform == "darwin" else 1024**2)


def main() -> None:
    """Run the benchmark and print one line per step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_400_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    out = args.dir or Path(f"/tmp/cxdata-bench-{args.customers}")

    if not (out / "cxdata.yaml").exists():
        start = time.perf_counter()
        generate_project(out, SynthParams(customers=args.customers, seed=args.seed))
        print(f"generate   {time.perf_counter() - start:8.1f} s  ({args.customers:,} people)")

    config = load_config(out / "cxdata.yaml")
    start = time.perf_counter()
    tables = {name: load_table(config, name) for name in TABLES if name in config.sources}
    rows = {name: frame.height for name, frame in tables.items()}
    print(f"load       {time.perf_counter() - start:8.1f} s  {rows}  peak RSS {_rss_gb():.2f} GB")

    start = time.perf_counter()
    result = resolve(tables, config.identity, run_id="bench")
    total = time.perf_counter() - start
    for step, seconds in result.stats["seconds"].items():
        print(f"{step:<10} {seconds:8.1f} s")
    print(
        f"resolve    {total:8.1f} s  records {result.stats['records']:,}  "
        f"customers {result.stats['customers']:,}  identifiers {result.customer_identity.height:,}  "
        f"peak RSS {_rss_gb():.2f} GB"
    )

    # second run against the first's mapping: the steady-state cost of a daily refresh
    start = time.perf_counter()
    again = resolve(tables, config.identity, previous=result.customer_identity, run_id="bench-2")
    print(
        f"rerun      {time.perf_counter() - start:8.1f} s  merges/splits {again.identity_merges.height}  "
        f"peak RSS {_rss_gb():.2f} GB"
    )


if __name__ == "__main__":
    main()
