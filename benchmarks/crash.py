"""Benchmark: `cxdata run` killed with SIGKILL at random moments, each kill followed by a normal run.

A synthetic project of ``--customers`` customers (alerts on every detractor and late
ticket of the last quarter, a few deliveries per run, so runs keep delivering) is run
once normally to measure its duration T. Then, ``--kills`` times: a run starts in its
own session, is killed (the whole process group, Dagster's step processes included)
after a uniform random delay in (0, T) from a seeded RNG, and the warehouse is checked
at once: every table and view of the schema must answer ``select * limit 1`` and no
staging table may be left, since staging tables are never committed. A normal run
follows and must succeed, after which everything must read again. The merge log
(``identity_merges``) must never lose rows from one check to the next. A loopback
webhook answers 200 and records each alert_id it receives; an id received twice is an
alert whose delivery a kill cut off before it was saved (at most one per kill).

Prints one line per kill and a summary per backend; exits 1 if any relation was
broken, any staging table left, any recovery run failed or the merge log shrank.
PostgreSQL comes from ``CXDATA_BENCH_PG_URL`` (default: local test database), in a
fresh schema dropped at the end.

    uv run python benchmarks/crash.py [--customers 3000] [--kills 50] [--backend both] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cxdata.config import WAREHOUSE_SCHEMA_ENV, WAREHOUSE_URL_ENV
from cxdata.faults import ENV as CRASH_ENV
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse
from cxdata.warehouse.identifiers import STAGING_PREFIX

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WEBHOOK_ENV = "CXDATA_ALERT_WEBHOOK_URL"
ALERTS = "alerts:\n  min_clv_percentile: 0\n  lookback_days: 90\n  sla_hours: 2\n  max_notifications_per_run: 10\n"
RUN_TIMEOUT = 1800.0


class _Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Accept)
        self.ids: list[str] = []


class _Accept(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        self.server.ids.append(str(body.get("alert_id")))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args: object) -> None:
        pass


@dataclass
class Backend:
    """Where one backend's runs write, and the environment `cxdata run` gets for it."""

    name: str
    url: str
    schema: str | None
    env: dict[str, str]
    project: Path


@dataclass
class Tally:
    """What the kills of one backend found."""

    kills: int = 0
    hit: int = 0
    broken: int = 0
    leftovers: int = 0
    failed: int = 0
    shrinks: int = 0
    duplicated: int = 0
    normal_seconds: float = 0.0
    recovery_seconds: list[float] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return self.broken + self.leftovers + self.failed + self.shrinks


def _run_env(hook_url: str, url: str | None, schema: str | None) -> dict[str, str]:
    env = {**os.environ, WEBHOOK_ENV: hook_url, "COLUMNS": "200"}
    for name in ("DAGSTER_HOME", CRASH_ENV, WAREHOUSE_URL_ENV, WAREHOUSE_SCHEMA_ENV):
        env.pop(name, None)  # the CLI then keeps its Dagster home beside the project
    if url:
        env[WAREHOUSE_URL_ENV] = url
    if schema:
        env[WAREHOUSE_SCHEMA_ENV] = schema
    return env


def _start(backend: Backend, log: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "cxdata"
    with log.open("wb") as out:
        # its own session, so one killpg stops the run and every step process it started; started from the
        # project folder, so the checkout's dagster.yaml is not picked up
        return subprocess.Popen(
            [str(exe), "run", "--config", str(backend.project / "cxdata.yaml")],
            cwd=backend.project,
            env=backend.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_group_gone(pgid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def normal_run(backend: Backend, log: Path) -> tuple[bool, float, str]:
    """Run to the end: whether it succeeded, its seconds and the tail of its output."""
    started = time.perf_counter()
    proc = _start(backend, log)
    try:
        code = proc.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        code = proc.wait()
    seconds = time.perf_counter() - started
    _wait_group_gone(proc.pid)
    return code == 0, seconds, log.read_text(encoding="utf-8", errors="replace")[-3000:]


def killed_run(backend: Backend, delay: float, log: Path) -> tuple[bool, str]:
    """Start a run and SIGKILL its process group after ``delay`` s: whether the kill came before it ended, and
    the last step it had finished."""
    proc = _start(backend, log)
    try:
        proc.wait(timeout=delay)
        finished = True
    except subprocess.TimeoutExpired:
        finished = False
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    _wait_group_gone(proc.pid)
    done = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if "(" in line]
    last = next((line.strip() for line in reversed(done) if line.strip()[:1] in "✓✗"), "(no step finished)")
    return not finished, last


def _wait_killed_sessions(backend: Backend, wh: Warehouse, timeout: float = 120.0) -> None:
    # A killed client's PostgreSQL backend may still be inside a statement, holding the locks of its open
    # transaction until it notices the closed socket and rolls back: wait for that, so the reads below see
    # the state the kill left instead of queueing behind a dying session.
    if backend.schema is None:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        others = wh.query(
            "select count(*) as n from pg_locks l join pg_class c on c.oid = l.relation"
            " join pg_namespace s on s.oid = c.relnamespace"
            " where s.nspname = :schema and l.pid <> pg_backend_pid()",
            {"schema": wh.schema},
        )["n"][0]
        if not others:
            return
        time.sleep(0.2)


def inspect(backend: Backend) -> tuple[list[str], list[str], int]:
    """The broken relations (name: error), the staging tables left and the merge log's row count."""
    try:
        with Warehouse(backend.url, backend.schema) as wh:
            _wait_killed_sessions(backend, wh)
            names = wh.query(
                "select table_name from information_schema.tables where table_schema = :schema",
                {"schema": wh.schema},
            )["table_name"].to_list()
            broken = []
            for name in names:
                try:
                    wh.query(f'select * from "{name}" limit 1')
                except Exception as exc:  # any error is a broken relation; report it with its name
                    broken.append(f"{name}: {str(exc).splitlines()[0][:300]}")
            merges = wh.row_count("identity_merges") if "identity_merges" in names else 0
    except Exception as exc:  # the warehouse itself does not open: everything in it is broken
        return [f"(warehouse): {str(exc).splitlines()[0][:300]}"], [], -1
    return broken, [name for name in names if name.startswith(STAGING_PREFIX)], merges


def bench(backend: Backend, kills: int, rng: random.Random, hook: _Receiver, stop: bool) -> Tally:
    """Measure a normal run, then kill and recover ``kills`` times; one line per kill."""
    tally = Tally()
    logs = backend.project / "crash_logs"
    logs.mkdir(exist_ok=True)
    ok, seconds, tail = normal_run(backend, logs / "first.log")
    if not ok:
        raise SystemExit(f"{backend.name}: the first normal run failed:\n{tail}")
    tally.normal_seconds = seconds
    broken, left, merges = inspect(backend)
    tally.broken, tally.leftovers = len(broken), len(left)
    print(f"{backend.name}: normal run T = {seconds:.1f} s; broken {broken or 0}, staging left {left or 0}")
    for i in range(1, kills + 1):
        delay = rng.uniform(0, seconds)
        hit, last = killed_run(backend, delay, logs / f"kill{i:03d}.log")
        tally.kills += 1
        tally.hit += hit
        after_kill = inspect(backend)
        ok, run_seconds, tail = normal_run(backend, logs / f"recover{i:03d}.log")
        tally.recovery_seconds.append(run_seconds)
        after_run = inspect(backend)
        problems = []
        for when, (broken, left, count) in (("after the kill", after_kill), ("after the recovery", after_run)):
            tally.broken += len(broken)
            tally.leftovers += len(left)
            problems += [f"  broken {when}: {entry}" for entry in broken]
            problems += [f"  staging table left {when}: {name}" for name in left]
            if count < merges:
                tally.shrinks += 1
                problems.append(f"  identity_merges shrank {when}: {merges} -> {count} rows")
            merges = max(merges, count)
        if not ok:
            tally.failed += 1
            problems.append(f"  recovery run failed; its output ends:\n{tail}")
        state = "killed" if hit else "finished before the kill"
        print(
            f"{backend.name} kill {i:>3}: at {delay:6.1f} s ({state}; last step done: {last}); "
            f"recovery {'ok' if ok else 'FAILED'} in {run_seconds:.1f} s; merge log {merges} rows"
        )
        if problems:
            print("\n".join(problems))
            if stop:
                print(f"stopping at the first problem; the project is kept at {backend.project}")
                break
        sys.stdout.flush()
    counts = Counter(hook.ids)
    tally.duplicated = sum(1 for n in counts.values() if n > 1)
    print(f"{backend.name}: webhook received {len(hook.ids)} POSTs for {len(counts)} alert ids")
    return tally


def _with_backend(name: str, root: Path, args: argparse.Namespace, hook_url: str) -> Backend:
    project = generate_project(root / name, SynthParams(customers=args.customers, seed=args.seed)).out_dir
    with (project / "cxdata.yaml").open("a", encoding="utf-8") as config:
        config.write(ALERTS)
    if name == "duckdb":
        url = f"duckdb:///{project / 'warehouse.duckdb'}"
        return Backend(name, url, None, _run_env(hook_url, None, None), project)
    url = os.environ.get("CXDATA_BENCH_PG_URL", DEFAULT_PG_URL)
    schema = f"cxcrash_{uuid.uuid4().hex[:10]}"
    return Backend(name, url, schema, _run_env(hook_url, url, schema), project)


def run_backend(name: str, root: Path, args: argparse.Namespace) -> Tally:
    """One backend's project, webhook and kills; its PostgreSQL schema is dropped at the end."""
    hook = _Receiver()
    thread = threading.Thread(target=hook.serve_forever, daemon=True)
    thread.start()
    backend = _with_backend(name, root, args, f"http://127.0.0.1:{hook.server_port}/alerts")
    try:
        return bench(backend, args.kills, random.Random(f"{args.seed}:{name}"), hook, args.stop)
    finally:
        hook.shutdown()
        hook.server_close()
        if backend.schema and not args.keep:
            with Warehouse(backend.url) as wh:
                wh.query(f'DROP SCHEMA IF EXISTS "{backend.schema}" CASCADE')


def summary(tallies: dict[str, Tally], customers: int) -> None:
    """The per-backend table of the issue: everything but the kills, hits and durations must be 0."""
    rows = [
        ("kills", lambda t: t.kills),
        ("kills before the run ended", lambda t: t.hit),
        ("broken relations", lambda t: t.broken),
        ("left-over staging tables", lambda t: t.leftovers),
        ("failed recoveries", lambda t: t.failed),
        ("merge-log shrinks", lambda t: t.shrinks),
        ("alert ids delivered twice", lambda t: t.duplicated),
        ("normal run (s)", lambda t: f"{t.normal_seconds:.1f}"),
        ("median recovery run (s)", lambda t: f"{statistics.median(t.recovery_seconds or [0]):.1f}"),
    ]
    print(f"\nsummary ({customers:,} customers)")
    print(f"{'':<28}" + "".join(f"{name:>12}" for name in tallies))
    for label, value in rows:
        print(f"{label:<28}" + "".join(f"{value(t)!s:>12}" for t in tallies.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--backend", choices=["duckdb", "postgresql", "both"], default="both")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stop", action="store_true", help="stop a backend at its first problem")
    parser.add_argument("--keep", type=Path, help="keep the projects (and PostgreSQL schema) here")
    args = parser.parse_args()
    names = ["duckdb", "postgresql"] if args.backend == "both" else [args.backend]
    tallies: dict[str, Tally] = {}
    with tempfile.TemporaryDirectory() as folder:
        root = args.keep or Path(folder)
        for name in names:
            tallies[name] = run_backend(name, root, args)
    summary(tallies, args.customers)
    sys.exit(1 if any(t.problems for t in tallies.values()) else 0)


if __name__ == "__main__":
    main()
