"""Benchmark: a daily `cxdata run` after one more day of data against the full run, and against a full rebuild.

    uv run python benchmarks/incremental.py --customers 1400000 [--dir D] [--days 1]

Generates a project (``cxdata generate``, a child process) in ``--dir`` or a temporary folder, holds back its
last ``--days`` days (cxdata.synth.days), then on DuckDB:

1. ``cxdata run --as-of <day before the held days>``: the full run of the history (wall, child peak RSS);
2. copies the warehouse, delivers the next day's files, and runs ``cxdata run --as-of <that day>`` on one copy
   (the incremental run) and ``cxdata run --full-refresh --as-of <that day>`` on the other (the rebuild);
3. compares every table both hold: keys and text exactly, floats (inside JSON too) to 1e-9, leaving out the
   columns that say when or in which run a row was written (printed), and the tables that describe runs.

Every run is the ``cxdata`` console script in a child process, the path a user runs, with the project's own
Dagster home. Target (issue 22; 1.4M customers): the incremental run <= 10% of the full run's time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from polars.testing import assert_frame_equal

from cxdata.config import WAREHOUSE_URL_ENV
from cxdata.synth.days import deliver, hold_back_days
from cxdata.warehouse import Warehouse

TARGET_SHARE = 0.10
EXE = shutil.which("cxdata", path=str(Path(sys.executable).parent)) or "cxdata"
# What a run writes about itself, not about customers: the two runs differ there by construction.
RUN_TABLES = re.compile(
    r"^(load_audit|run_context|stg_files|stg_partitions|model_runs|model_artifacts|.*_checks?|check_results"
    r"|validation_runs|alerts|gx_.*|identity_inputs|identity_touched|identity_runs)$"
)
RUN_COLUMNS = re.compile(
    r"^(_loaded_at|run_id|.*_run_id|loaded_at|started_at|finished_at|scored_at|fitted_at|created_at|merged_at"
    r"|first_seen|seen_ns|mtime_ns|seconds)$"
)


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


def close(x: object, y: object) -> bool:
    """Decoded JSON values equal, numbers to 1e-9 (a float's last printed digit may differ)."""
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(close(x[k], y[k]) for k in x)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(close(a, b) for a, b in zip(x, y, strict=True))
    if isinstance(x, float | int) and isinstance(y, float | int):
        return math.isclose(x, y, rel_tol=0, abs_tol=1e-9)
    return x == y


def compare(left: str, right: str) -> list[tuple[str, int, str]]:
    """(table, rows, verdict) for every table both warehouses hold, apart from RUN_TABLES."""
    found = []
    with Warehouse(left) as a, Warehouse(right) as b:
        names = sorted(set(a.tables()) & set(b.tables()))
        for name in names:
            if RUN_TABLES.match(name):
                continue
            columns = [c for c in a.columns(name) if not RUN_COLUMNS.match(c)]
            plain = [c for c in columns if not c.endswith("_json")]
            x, y = (wh.read(name, columns=columns).sort(plain, nulls_last=True) for wh in (a, b))
            try:
                assert_frame_equal(x.select(plain), y.select(plain), check_exact=False, rel_tol=0, abs_tol=1e-9)
                for column in set(columns) - set(plain):
                    pairs = zip(x[column], y[column], strict=True)
                    same = all(close(*(json.loads(v) if v else v for v in pair)) for pair in pairs)
                    assert same, f"{column}: JSON values differ beyond 1e-9"
                verdict = "equal"
            except AssertionError as exc:
                verdict = "DIFFERENT: " + " ".join(str(exc).split())[:160]
            found.append((name, x.height, verdict))
    return found


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
        table = compare(f"duckdb:///{live}", f"duckdb:///{rebuilt}")
        for name, rows, said in table:
            print(f"  {name:<32} {rows:>10,}  {said}")
        different = [name for name, _, said in table if said != "equal"]
        print(f"incremental == rebuild on {len(table) - len(different)} of {len(table)} tables; "
              f"left out: run tables {RUN_TABLES.pattern}, columns {RUN_COLUMNS.pattern}")  # fmt: skip
    if args.dir is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
