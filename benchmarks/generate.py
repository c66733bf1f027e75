"""Benchmark: generate a synthetic project of about `--orders` orders and time it.

People are sized by the orders a person makes under the planted process, measured
on a small pilot run of the same parameters. Prints the people, the rows of each
table, the seconds per stage and in total, and the peak RSS. Targets (2 cores,
10M orders): <= 90 s, peak RSS <= 4 GB.

    uv run python benchmarks/generate.py --orders 10000000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from measure import peak_rss_gb

from cxdata.synth import SynthParams, generate_project, simulate

PILOT_PEOPLE = 20_000


def orders_per_person(seed: int) -> float:
    """History orders per person of the default process, from a pilot simulation."""
    pilot = simulate(SynthParams(customers=PILOT_PEOPLE, seed=seed))
    in_data = (pilot.orders.time < pilot.timeline.cutoff).sum()
    return float(in_data) / PILOT_PEOPLE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write here and keep it (default: a temporary folder)")
    args = parser.parse_args()

    per_person = orders_per_person(args.seed)
    people = max(1, round(args.orders / per_person))
    print(f"{per_person:.2f} orders a person in the pilot -> {people:,} people for {args.orders:,} orders")
    with tempfile.TemporaryDirectory(prefix="cxdata-synth-bench-") as tmp:
        out = args.out or Path(tmp) / "project"
        started = last = time.perf_counter()

        def progress(message: str) -> None:
            nonlocal last
            now = time.perf_counter()
            clock = f"{now - started:6.1f} s (+{now - last:5.1f})"
            print(f"  {clock}  peak {peak_rss_gb():.2f} GB  {message}", flush=True)
            last = now

        result = generate_project(out, SynthParams(customers=people, seed=args.seed), progress=progress)
        seconds = time.perf_counter() - started
    print(f"people {people:,}")
    for table, rows in result.row_counts.items():
        print(f"  {table:<18} {rows:>12,} rows")
    print(f"seconds {seconds:.1f}  peak RSS {peak_rss_gb():.2f} GB")


if __name__ == "__main__":
    main()
