"""Benchmark: the value and touchpoint steps in customer shards on celery workers, against one shard.

    uv run python benchmarks/shards.py --customers 200000 --shards 8 [--dir D]

On PostgreSQL (CXDATA_WAREHOUSE_URL, default the local test database), each warehouse a schema of its own
(dropped at the end), Redis db 12 as the celery broker (CXDATA_BENCH_REDIS_URL):

1. ``cxdata generate``, then ``cxdata run`` of the whole project with one shard: the state every rerun starts
   from. Its fitted models are deleted, so each rerun fits, and the schema is copied once per rerun.
2. ``cxdata run`` again on each copy, the path a user runs (nothing new is staged, identity and the marts find
   nothing to redo, the value and touchpoint steps fit and score), its steps on celery workers
   (``scale.executor: celery``, each step a fresh process): one shard on one worker, then N shards on one
   worker and on two.
3. For each rerun: the wall time of the value and touchpoint steps (first start to last end), each step's
   peak RSS (its process on the worker, read from /proc while it runs), and whether the sharded reruns
   publish what the unsharded one does (`cxdata.warehouse.compare`, floats within 1e-9 of their column's
   largest value).

Targets (issue 22): every shard step's peak RSS <= 1/6 of the unsharded step's; two workers >= 1.6x one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import redis
import sqlalchemy as sa
import yaml

from cxdata.config import WAREHOUSE_SCHEMA_ENV, WAREHOUSE_URL_ENV
from cxdata.warehouse.compare import compare_warehouses
from cxdata.warehouse.snapshot import copy_schema
from pipelines.executors import CELERY_BACKEND_ENV, CELERY_BROKER_ENV

EXE = shutil.which("cxdata", path=str(Path(sys.executable).parent)) or "cxdata"
PG_URL = os.environ.get(WAREHOUSE_URL_ENV, "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CXDATA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
SHARDED = ("score_customer_value", "score_touchpoints")
MEMORY_TARGET, SPEED_TARGET = 1 / 6, 1.6


class PeakWatch:
    """The peak RSS (VmHWM, GB) of every process under the given parents, read from /proc while they run."""

    def __init__(self, parents: list[int]) -> None:
        self.parents, self.peaks = parents, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            for pid in _descendants(self.parents):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                found = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")), "0")
                self.peaks[pid] = max(self.peaks.get(pid, 0.0), int(found) / 1024**2)

    def stop(self) -> dict[int, float]:
        self._stop.set()
        self._thread.join()
        return self.peaks


def _descendants(parents: list[int]) -> list[int]:
    found, stack = [], list(parents)
    while stack:
        pid = stack.pop()
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        found += [int(c) for c in children]
        stack += [int(c) for c in children]
    return found


def start_workers(count: int, home: Path, schema: str, logs: Path) -> list[subprocess.Popen]:
    """``count`` celery workers of pipelines.celery_app (one process each, a fresh child per step)."""
    env = {**os.environ, CELERY_BROKER_ENV: REDIS_URL, CELERY_BACKEND_ENV: REDIS_URL, "DAGSTER_HOME": str(home),
           WAREHOUSE_URL_ENV: PG_URL, WAREHOUSE_SCHEMA_ENV: schema}  # fmt: skip
    workers = []
    for n in range(count):
        name = f"bench{n}-{uuid.uuid4().hex[:6]}@%h"
        command = [sys.executable, "-m", "celery", "-A", "pipelines.celery_app", "worker", "-n", name, "-Q",
                   "dagster", "--pool", "prefork", "--concurrency", "1", "--max-tasks-per-child", "1",
                   "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle"]  # fmt: skip
        log = (logs / f"worker{n}.log").open("wb")
        workers.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=Path.cwd()))
    time.sleep(15)  # the workers import the definitions and Great Expectations before they take a task
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    redis.Redis.from_url(REDIS_URL).flushdb()


def cxdata(*args: str, folder: Path, schema: str, home: Path, extra: dict[str, str] | None = None) -> float:
    env = {**os.environ, WAREHOUSE_URL_ENV: PG_URL, WAREHOUSE_SCHEMA_ENV: schema, "DAGSTER_HOME": str(home),
           CELERY_BROKER_ENV: REDIS_URL, CELERY_BACKEND_ENV: REDIS_URL, **(extra or {})}  # fmt: skip
    began = time.perf_counter()
    done = subprocess.run([EXE, *args], cwd=folder, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(
            f"cxdata {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return time.perf_counter() - began


def sharded_steps(
    home: Path, after: float, peaks: dict[int, float]
) -> tuple[float, dict[str, tuple[float, float]]]:
    """The wall span of the value and touchpoint steps of the runs started after ``after``, and each such step's
    (seconds, peak RSS GB of its process)."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        since = dg.RunsFilter(created_after=dt.datetime.fromtimestamp(after, dt.UTC))
        runs = [record.dagster_run.run_id for record in instance.get_run_records(filters=since)]
        stats = [s for run in runs for s in instance.get_run_step_stats(run) if s.step_key.startswith(SHARDED)]
        started = {
            event.dagster_event.step_key: event.dagster_event.pid
            for run in runs
            for event in instance.all_logs(run, of_type=dg.DagsterEventType.STEP_START)
        }
    span = max(s.end_time for s in stats) - min(s.start_time for s in stats)
    steps = {s.step_key: (s.end_time - s.start_time, peaks.get(started.get(s.step_key, -1), 0.0)) for s in stats}
    return span, steps


def rerun(
    label: str, config: Path, state: str, home: Path, shards: int, workers: int, logs: Path, schemas: list[str]
) -> dict:
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["scale"] = {"shards": shards, "executor": "celery", "max_concurrent_shards": workers}
    config.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    schemas.append(schema)  # dropped at the end, whatever happens
    copy_schema(PG_URL, state, schema)
    running = start_workers(workers, home, schema, logs)
    watch = PeakWatch([worker.pid for worker in running])
    after = time.time()
    try:
        wall = cxdata("run", "--config", str(config), folder=config.parent, schema=schema, home=home)
    finally:
        peaks = watch.stop()
        stop_workers(running)
    span, steps = sharded_steps(home, after, peaks)
    print(f"{label}: cxdata run {wall:.1f} s; value and touchpoint steps {span:.1f} s")
    for key, (seconds, peak) in sorted(steps.items()):
        print(f"    {key:<52} {seconds:7.1f} s  peak {peak:5.2f} GB")
    return {"schema": schema, "span": span, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--dir", type=Path, help="folder for the project (kept); a temporary one otherwise")
    parser.add_argument("--keep", action="store_true", help="keep the schemas (printed) to inspect them")
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="cxdata-shards-"))
    folder, home, logs = root / "project", root / "dagster_home", root / "logs"
    for path in (home, logs):
        path.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    subprocess.run([EXE, "generate", "--out", str(folder), "--customers", str(args.customers),
                    "--seed", str(args.seed)], check=True, capture_output=True)  # fmt: skip
    config = folder / "cxdata.yaml"
    state = f"bench_{uuid.uuid4().hex[:10]}"
    schemas = [state]
    engine = sa.create_engine(PG_URL)
    try:
        seconds = cxdata("run", "--config", str(config), folder=folder, schema=state, home=home)
        print(f"{args.customers:,} customers, whole run with one shard on PostgreSQL: {seconds:.1f} s")
        with engine.begin() as conn:
            conn.execute(sa.text(f'delete from "{state}".model_artifacts'))  # every rerun fits
        one = rerun("1 shard, 1 worker", config, state, home, 1, 1, logs, schemas)
        runs = [rerun(f"{args.shards} shards, {n} worker(s)", config, state, home, args.shards, n, logs, schemas)
                for n in (1, 2)]  # fmt: skip
        whole = {key.split(".")[0]: peak for key, (_, peak) in one["steps"].items()}
        for run, workers in zip(runs, (1, 2), strict=True):
            worst = {}
            for key, (_, peak) in run["steps"].items():
                if key.rsplit("_s", 1)[-1].isdigit():
                    asset = key.split(".")[0]
                    worst[asset] = max(worst.get(asset, 0.0), peak)
            for asset, peak in sorted(worst.items()):
                share = peak / whole[asset] if whole.get(asset) else float("nan")
                verdict = "meets" if share <= MEMORY_TARGET else "misses"
                print(f"{workers} worker(s): largest {asset} shard step {peak:.2f} GB = {share:.1%} of the "
                      f"unsharded step's {whole.get(asset, 0):.2f} GB ({verdict} the 1/6 target)")  # fmt: skip
            verdicts = compare_warehouses(PG_URL, PG_URL, one["schema"], run["schema"], relative=1e-9)
            differing = [v.table for v in verdicts if not v.equal]
            same = len(verdicts) - len(differing)
            print(f"{workers} worker(s): equal to one shard on {same} of {len(verdicts)} tables"
                  f"{'; differ: ' + ', '.join(differing) if differing else ''}")  # fmt: skip
        speedup = runs[0]["span"] / runs[1]["span"]
        verdict = "meets" if speedup >= SPEED_TARGET else "misses"
        print(
            f"two workers against one on the sharded steps: {speedup:.2f}x ({verdict} the {SPEED_TARGET}x target)"
        )
    finally:
        if args.keep:
            print("kept schemas (state, then each rerun):", " ".join(schemas))
            schemas = []
        with engine.begin() as conn:
            for schema in schemas:
                conn.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
        engine.dispose()
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
