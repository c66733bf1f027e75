"""Benchmark: a daily `cxdata run` after one more day of data against the full run, and against a full rebuild.

    uv run python benchmarks/incremental.py --customers 1400000 [--dir D] [--days 1]

Generates a project (``cxdata generate``, a child process) in ``--dir`` or a temporary folder, holds back its
last ``--days`` days (cxdata.synth.days), then on DuckDB:

1. ``cxdata run --as-of <day before the held days>``: the full run of the history (wall, child peak RSS);
2. copies the warehouse, delivers the next day's files, and runs ``cxdata run --as-of <that day>`` on one copy
   (the incremental run) and ``cxdata run --full-refresh --as-of <that day>`` on the other (the rebuild);
3. compares every table (`cxdata.warehouse.compare`): keys and text exactly, floats (inside JSON too) to 1e-9
   plus 1e-12 of their column's largest value (a sum over a million customers added in another order differs
   in its last bits), leaving out the columns that say when or in which run a row was written (printed), and
   the tables that describe runs.

Every run is the ``cxdata`` console script in a child process, the path a user runs, with the project's own
Dagster home. Target (issue 22; 1.4M customers): the incremental run <= 10% of the full run's time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cxdata.config import WAREHOUSE_URL_ENV
from cxdata.synth.days import deliver, hold_back_days
from cxdata.warehouse.compare import RUN_COLUMNS, RUN_STAMPED, RUN_TABLES, compare_warehouses

TARGET_SHARE = 0.10
RELATIVE = 1e-12
EXE = shutil.which("cxdata", path=str(Path(sys.executable).parent)) or "cxdata"


def cxdata(*args: str, cwd: Path, url: str) -> tuple[float, float]:
    """Run the console script; its wall seconds and the peak RSS (GB) of the largest child so far."""
    env = {**os.environ, WAREHOUSE_URL_ENV: url}
    env.pop("DAGSTER_HOME", None)
    began = time.perf_counter()
    done = subprocess.run([EXE, *args], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode:
        tail = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        sys.exit(f"cxdata {' '.join(args)} failed ({done.returncode}):\n{tail}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    return seconds, peak


def step_times(folder: Path, after: float, top: int = 12) -> str:
    """The slowest steps of the Dagster runs the project's instance started after ``after`` (epoch seconds),
    and what all their steps took together."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(folder / ".cxdata" / "dagster_home")) as instance:
        since = dg.RunsFilter(created_after=dt.datetime.fromtimestamp(after, dt.UTC))
        records = instance.get_run_records(filters=since)
        stats = [s for r in records for s in instance.get_run_step_stats(r.dagster_run.run_id)]
    took = sorted(((s.end_time or 0) - (s.start_time or 0), s.step_key) for s in stats if s.start_time)
    lines = [f"    {seconds:6.1f} s  {key}" for seconds, key in reversed(took[-top:])]
    total = sum(seconds for seconds, _ in took)
    return "\n".join([f"  {len(took)} steps, {total:.1f} s in steps; the slowest:", *lines])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--days", type=int, default=1, help="days held back and delivered one at a time")
    parser.add_argument("--dir", type=Path, help="folder for the project (kept); a temporary one otherwise")
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="cxdata-incremental-"))
    folder = root / "project"
    began = time.perf_counter()
    subprocess.run([EXE, "generate", "--out", str(folder), "--customers", str(args.customers),
                    "--seed", str(args.seed)], check=True, capture_output=True)  # fmt: skip
    print(f"generate {args.customers:,} customers: {time.perf_counter() - began:.1f} s")
    config = folder / "cxdata.yaml"
    held = hold_back_days(config, days=args.days)
    first = min(held)
    live, rebuilt = folder / "incremental.duckdb", folder / "rebuilt.duckdb"
    history = (first - dt.timedelta(days=1)).isoformat()
    started = time.time()
    seconds, peak = cxdata("run", "--config", str(config), "--as-of", history, cwd=folder, url=f"duckdb:///{live}")
    print(f"full run of the history (as of {history}): {seconds:.1f} s wall, peak RSS {peak:.2f} GB")
    print(step_times(folder, started))
    full_seconds = seconds
    for day in sorted(held):
        shutil.copyfile(live, rebuilt)
        deliver(held[day])
        as_of = day.isoformat()
        started = time.time()
        seconds, _ = cxdata("run", "--config", str(config), "--as-of", as_of, cwd=folder, url=f"duckdb:///{live}")
        share = seconds / full_seconds
        verdict = "meets" if share <= TARGET_SHARE else "misses"
        print(f"incremental run, one more day ({as_of}): {seconds:.1f} s wall, {share:.1%} of the full run "
              f"({verdict} the {TARGET_SHARE:.0%} target)")  # fmt: skip
        print(step_times(folder, started))
        started = time.time()
        seconds, _ = cxdata(
            "run", "--config", str(config), "--full-refresh", "--as-of", as_of, cwd=folder,
            url=f"duckdb:///{rebuilt}",
        )  # fmt: skip
        print(f"full rebuild of the same inputs: {seconds:.1f} s wall")
        print(step_times(folder, started))
        table = compare_warehouses(f"duckdb:///{live}", f"duckdb:///{rebuilt}", relative=RELATIVE)
        for verdict in table:
            print(f"  {verdict.table:<32} {verdict.rows:>10,}  {verdict.difference or 'equal'}")
        different = [verdict.table for verdict in table if not verdict.equal]
        print(f"incremental == rebuild on {len(table) - len(different)} of {len(table)} tables; left out: "
              f"run tables {RUN_TABLES.pattern}, columns {RUN_COLUMNS.pattern}, {RUN_STAMPED}")  # fmt: skip
    if args.dir is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
