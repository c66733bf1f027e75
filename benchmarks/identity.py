"""Identity + marts benchmark: the warehouse-to-warehouse steps a run executes, with seconds and peak RSS.

    uv run python benchmarks/identity.py --customers 1400000 [--dir /tmp/bench] [--seed 1]

Phases, each reused when its output already exists in ``--dir``:
1. generate the synthetic project (``cxdata.yaml``, data/, truth/), in a child process;
2. stage it into ``bench.duckdb`` (ingest + publish of every stg_ table), in a child process so its
   memory does not count against the next phase;
3. in this process: ``identity_step`` and every mart's ``mart_step``, as the Dagster assets call them,
   printing seconds and peak RSS per step;
4. identity again against the first run's mapping, in a child process (the steady-state cost of a daily
   refresh, with its own peak RSS).
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import time
from pathlib import Path

from measure import cpu_seconds, peak_rss_gb

from cxdata.config import load_config
from cxdata.identity.step import IDENTITY_TABLES, identity_step
from cxdata.io import load_table
from cxdata.marts.step import mart_step, marts_for
from cxdata.run_context import run_context
from cxdata.synth import SynthParams, generate_project
from cxdata.synth.params import DEFAULT_CAMPAIGNS
from cxdata.warehouse import Warehouse


def benchmark_params(customers: int, seed: int) -> SynthParams:
    """The issue's benchmark mix (per 1.4M people: 10M orders, ~5M web events, ~2M touches).

    The generator's defaults track more web sessions and send more campaigns per person; fewer contacts,
    fewer tracked devices and browse-only sessions bring the volumes to the benchmark's.
    """
    campaigns = tuple(
        dataclasses.replace(
            c,
            contacts_per_year=c.contacts_per_year * 0.11,
            visitor_contacts_per_year=c.visitor_contacts_per_year * 0.11,
        )
        for c in DEFAULT_CAMPAIGNS
    )
    return SynthParams(
        customers=customers,
        seed=seed,
        campaigns=campaigns,
        browse_sessions_per_year=0.3,
        anonymous_visitor_share=0.15,
        web_consent_share=0.21,
    )


def _stage(out: Path, url: str) -> None:
    config = load_config(out / "cxdata.yaml")
    with Warehouse(url) as wh:
        for table in config.sources:
            start = time.perf_counter()
            published = wh.publish(f"stg_{table}", load_table(config, table))
            seconds = time.perf_counter() - start
            print(f"stage      {seconds:8.1f} s  stg_{table} {published.rows:,} rows", flush=True)
    print(f"stage      peak RSS {peak_rss_gb():.2f} GB (child process)", flush=True)


def main() -> None:
    """Run the benchmark and print one line per step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_400_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--defaults", action="store_true", help="the generator's default mix (more web, touches)")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stage-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rerun-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    mix = "defaults" if args.defaults else "spec"
    out = args.dir or Path(f"/tmp/cxdata-bench-{args.customers}-{mix}")
    url = f"duckdb:///{out / 'bench.duckdb'}"
    if args.stage_only:
        _stage(out, url)
        return
    if args.rerun_only:
        _rerun(out, url)
        return

    if args.generate_only:
        start = time.perf_counter()
        params = (
            SynthParams(customers=args.customers, seed=args.seed)
            if args.defaults
            else benchmark_params(args.customers, args.seed)
        )
        generate_project(out, params)
        print(f"generate   {time.perf_counter() - start:8.1f} s  ({args.customers:,} people)", flush=True)
        return
    if not (out / "cxdata.yaml").exists():
        # in a child process, as staging: the generator's own peak memory must not count as identity's
        options = ["--customers", str(args.customers), "--seed", str(args.seed), *(["--defaults"] * args.defaults)]
        subprocess.run([sys.executable, __file__, "--dir", str(out), "--generate-only", *options], check=True)
    config = load_config(out / "cxdata.yaml")
    with Warehouse(url) as wh:
        staged = all(wh.exists(f"stg_{t}") for t in config.sources)
    if not staged:
        subprocess.run([sys.executable, __file__, "--dir", str(out), "--stage-only"], check=True)

    with Warehouse(url) as wh:
        for name in ("customer_identity", "identity_merges"):  # start from a first run, not a rerun
            if wh.exists(name):
                wh.query(f"drop table {name}")  # fixed names, nothing user-supplied
        rows = {t: wh.row_count(f"stg_{t}") for t in IDENTITY_TABLES if t in config.sources}
        print(f"input      {sum(rows.values()):,} records {rows}", flush=True)
        run = run_context(wh, config, "bench-1")
        total, total_cpu = time.perf_counter(), cpu_seconds()
        start, cpu = time.perf_counter(), cpu_seconds()
        profiles = identity_step(wh, config, run)
        facts = profiles["customer_identity"].facts
        seconds = "  ".join(f"{k} {v:.1f}" for k, v in facts["seconds"].items())
        print(
            f"identity   {time.perf_counter() - start:8.1f} s  cpu {cpu_seconds() - cpu:6.1f} s  ({seconds}, "
            f"rest is reading and publishing)  customers {facts['customers']:,}  peak RSS {peak_rss_gb():.2f} GB",
            flush=True,
        )
        for name in marts_for(config):
            start, cpu = time.perf_counter(), cpu_seconds()
            profile = mart_step(wh, config, name, run)
            seconds = time.perf_counter() - start
            print(
                f"{name:<16} {seconds:6.1f} s  cpu {cpu_seconds() - cpu:6.1f} s  {profile.rows:,} rows  "
                f"peak RSS {peak_rss_gb():.2f} GB",
                flush=True,
            )
        seconds = time.perf_counter() - total
        print(
            f"TOTAL      {seconds:8.1f} s  cpu {cpu_seconds() - total_cpu:6.1f} s  identity + all marts  "
            f"peak RSS {peak_rss_gb():.2f} GB",
            flush=True,
        )

    # a daily refresh runs in a process of its own (Dagster's default executor runs each step in one)
    subprocess.run([sys.executable, __file__, "--dir", str(out), "--rerun-only"], check=True)


def _rerun(out: Path, url: str) -> None:
    config = load_config(out / "cxdata.yaml")
    with Warehouse(url) as wh:
        run = run_context(wh, config, "bench-2")
        start, cpu = time.perf_counter(), cpu_seconds()
        again = identity_step(wh, config, run)
    seconds, merges = time.perf_counter() - start, again["customer_identity"].facts["merges_this_run"]
    print(
        f"rerun      {seconds:8.1f} s  cpu {cpu_seconds() - cpu:6.1f} s  merges/splits {merges}  "
        f"peak RSS {peak_rss_gb():.2f} GB (identity against the first run's mapping, own process)"
    )


if __name__ == "__main__":
    main()
