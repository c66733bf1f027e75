"""Publish and append wide dim_customer- and customer_scores-shaped frames on DuckDB and PostgreSQL, by phase.

    uv run python benchmarks/publish_wide.py [--rows N] [--seed S] [--only duckdb|postgresql] [--profile FILE]

Builds (seeded numpy/polars) a dim_customer frame with the column set of
``sql/column_types.json`` and a customer_scores frame, then times on each warehouse,
through `Warehouse.transaction()`: publishing dim_customer as a new table and
replacing it, the same for customer_scores, and appending customer_scores to
customer_scores_history with ``replace={"as_of": ...}`` once the history holds
4x the rows (a new day, then a rerun of that day: its rows deleted and inserted).

Each line prints wall seconds, this process's CPU seconds and, on PostgreSQL, the
CPU seconds of the server process running the transaction (read from /proc: the
server must be local), then the phases inside: timing wrappers placed around the
warehouse functions by this script only (stored_frame conversion, bulk load into
staging, indexes and ANALYZE, swap or insert, comments; finish holds the swaps and
inserts; then the commit). On a shared
machine wall time includes waiting for a core; CPU seconds do not.

PostgreSQL comes from ``CXDATA_BENCH_PG_URL`` (default: the local test database),
in schema ``cxdata_bench_publish_wide``, dropped afterwards; DuckDB writes a file
in a temporary folder. ``--profile FILE`` writes a cProfile of the timed
operations.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import sqlalchemy as sa
from measure import server_cpu_seconds, server_process

from cxdata.warehouse import Warehouse, comments, indexes, loaders, transaction
from cxdata.warehouse.comments import sql_dir

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_SCHEMA = "cxdata_bench_publish_wide"
AS_OF = datetime(2026, 12, 6, tzinfo=UTC)
HISTORY_DAYS = 4

_DTYPES = {
    "VARCHAR": pl.String,
    "BIGINT": pl.Int64,
    "DOUBLE": pl.Float64,
    "BOOLEAN": pl.Boolean,
    "DATE": pl.Date,
    "TIMESTAMPTZ": pl.Datetime("us", "UTC"),
}
_CHOICES = {
    "kind": ["person", "household", "company"],
    "currency": ["EUR", "USD", "GBP"],
    "last_nps_class": ["promoter", "passive", "detractor"],
    "touch_channels": ["email", "email,paid_search", "social,email,display", "affiliate"],
    "last_touch_channel": ["email", "paid_search", "social", "display", "affiliate"],
    "referral_source": ["friend", "newsletter", "search", "partner"],
    "acquisition_channel": ["web", "store", "phone", "marketplace"],
    "journey_stage": ["new", "active", "at_risk", "lapsed"],
    "segment": ["champions", "loyal", "at_risk", "hibernating", "new"],
    "churn_reason_1": ["recency", "frequency", "tickets", "nps"],
    "churn_reason_2": ["recency", "frequency", "tickets", "nps"],
    "churn_reason_3": ["recency", "frequency", "tickets", "nps"],
}


def wide_frame(table: str, rows: int, seed: int) -> pl.DataFrame:
    """A frame with ``table``'s columns and DuckDB types from sql/column_types.json: random values, ~10% nulls in
    the optional columns, keys ``C0000000001``..., ``as_of`` fixed."""
    declared = json.loads((sql_dir() / "column_types.json").read_text())[table]
    rng = np.random.default_rng(seed)
    start = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
    span = 6 * 365 * 86_400 * 1_000_000
    columns: dict[str, pl.Series] = {}
    for column, types in declared.items():
        dtype = _DTYPES[types["duckdb"]]
        if column == "customer_key":
            series = ("C" + pl.Series(column, np.arange(rows)).cast(pl.String).str.zfill(10)).alias(column)
        elif column == "as_of":
            series = pl.Series(column, [AS_OF] * rows, dtype=pl.Datetime("us", "UTC"))
        elif "run_id" in column:
            series = pl.Series(column, [f"run-{seed:04d}-{column}"] * rows)
        elif dtype == pl.String:
            series = pl.Series(column, rng.choice(np.array(_CHOICES.get(column, ["a", "b", "c"])), rows))
        elif dtype == pl.Int64:
            series = pl.Series(column, rng.poisson(3.0, rows).astype(np.int64))
        elif dtype == pl.Float64:
            series = pl.Series(column, np.round(rng.gamma(2.0, 40.0, rows), 4))
        elif dtype == pl.Boolean:
            series = pl.Series(column, rng.random(rows) < 0.3)
        elif dtype == pl.Date:
            series = pl.Series(column, rng.integers(18_000, 20_000, rows).astype(np.int32)).cast(pl.Date)
        else:
            series = pl.Series(column, start + rng.integers(0, span, rows)).cast(pl.Datetime("us", "UTC"))
        if column not in ("customer_key", "as_of", "kind") and "run_id" not in column:
            series = pl.select(pl.when(pl.lit(rng.random(rows) >= 0.1)).then(series)).to_series().alias(column)
        columns[column] = series
    return pl.DataFrame(list(columns.values()))


class Phases:
    """Wall and CPU seconds spent in wrapped warehouse functions, outermost call only per name."""

    def __init__(self) -> None:
        self.spent: dict[str, list[float]] = {}
        self._active: set[str] = set()

    def wrap(self, owner: object, attribute: str, label: str) -> None:
        """Replace ``owner.attribute`` by a wrapper that adds its time to ``label``."""
        original: Callable = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            if label in self._active:
                return original(*args, **kwargs)
            self._active.add(label)
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                spent = self.spent.setdefault(label, [0.0, 0.0])
                spent[0] += time.perf_counter() - wall
                spent[1] += time.process_time() - cpu
                self._active.discard(label)

        setattr(owner, attribute, timed)

    def report(self) -> str:
        """The phases as ``label wall/cpu`` and reset."""
        shown = "  ".join(f"{label} {wall:.2f}/{cpu:.2f}" for label, (wall, cpu) in self.spent.items())
        self.spent.clear()
        return shown


PHASES = Phases()


def _install_phases() -> None:
    PHASES.wrap(transaction, "stored_frame", "stored_frame")
    PHASES.wrap(loaders, "bulk_load", "bulk_load")
    PHASES.wrap(indexes, "build", "indexes")
    PHASES.wrap(comments, "apply_comments", "comments")
    PHASES.wrap(transaction.Transaction, "_swap", "swap")
    PHASES.wrap(transaction.Transaction, "_insert", "delete+insert")
    PHASES.wrap(transaction.Transaction, "_finish", "finish")
    PHASES.wrap(sa.engine.base.RootTransaction, "commit", "commit")
    original_ddl = transaction.Transaction._ddl

    def ddl(self, statement: str) -> None:
        if statement.startswith("ANALYZE"):
            label = "analyze"
        elif statement.startswith("CREATE TABLE"):
            label = "create-staging"
        else:
            return original_ddl(self, statement)
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return original_ddl(self, statement)
        finally:
            spent = PHASES.spent.setdefault(label, [0.0, 0.0])
            spent[0] += time.perf_counter() - wall
            spent[1] += time.process_time() - cpu

    transaction.Transaction._ddl = ddl


@contextmanager
def timed(label: str, wh: Warehouse, profiler: cProfile.Profile | None) -> Iterator[None]:
    """Time the block (wall, this process's CPU, the server's CPU) and print it with the phases inside."""
    server = server_process(wh)
    PHASES.spent.clear()
    wall, cpu, server_cpu = time.perf_counter(), time.process_time(), server_cpu_seconds(server)
    if profiler is not None:
        profiler.enable()
    try:
        yield
    finally:
        if profiler is not None:
            profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    server_part = f" server {server_cpu_seconds(server) - server_cpu:6.2f}" if server is not None else " " * 14
    print(f"  {label:<44} {wall:6.2f} s wall  cpu {cpu:6.2f}{server_part}   | {PHASES.report()}", flush=True)


def bench(label: str, url: str, schema: str | None, dim: pl.DataFrame, scores: pl.DataFrame, profiler) -> None:
    """Run every timed operation on one warehouse and check the row counts."""
    rows = dim.height
    print(f"{label}:", flush=True)
    with Warehouse(url, schema) as wh:
        wh.publish("bench_warmup", scores.head(10))  # one-off imports (DuckDB's Arrow scan pulls in pandas)
        for name, frame in (("dim_customer", dim), ("customer_scores", scores)):
            for what in ("new", "replacing"):
                with timed(f"publish {name} ({what})", wh, profiler), wh.transaction() as tx:
                    tx.publish(name, frame)
            assert wh.row_count(name) == rows

        # The history: one append, then earlier days copied inside the warehouse.
        wh.append("customer_scores_history", scores, replace={"as_of": AS_OF})
        history = wh._qualified("customer_scores_history")
        listed = ", ".join(wh._quote(column) for column in scores.columns)
        shifted = ", ".join(
            f"{wh._quote(c)} - INTERVAL '{{days}} days'" if c == "as_of" else wh._quote(c) for c in scores.columns
        )
        with wh.engine.begin() as conn:
            for days in range(1, HISTORY_DAYS):
                conn.exec_driver_sql(
                    f"INSERT INTO {history} ({listed}) SELECT {shifted.format(days=days)} FROM {history}"
                    f" WHERE as_of = '{AS_OF.isoformat()}'"
                )
        assert wh.row_count("customer_scores_history") == HISTORY_DAYS * rows
        next_day = scores.with_columns(as_of=pl.lit(AS_OF + timedelta(days=1)).cast(pl.Datetime("us", "UTC")))
        with timed(f"append history, new day, onto {HISTORY_DAYS}x", wh, profiler), wh.transaction() as tx:
            tx.append("customer_scores_history", next_day, replace={"as_of": AS_OF + timedelta(days=1)})
        with timed(f"append history, rerun day, onto {HISTORY_DAYS + 1}x", wh, profiler), wh.transaction() as tx:
            tx.append("customer_scores_history", next_day, replace={"as_of": AS_OF + timedelta(days=1)})
        assert wh.row_count("customer_scores_history") == (HISTORY_DAYS + 1) * rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_400_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["duckdb", "postgresql"])
    parser.add_argument("--profile")
    args = parser.parse_args()
    started = time.perf_counter()
    dim = wide_frame("dim_customer", args.rows, args.seed)
    scores = wide_frame("customer_scores", args.rows, args.seed + 1)
    print(
        f"{args.rows:,} rows: dim_customer {dim.width} columns ({dim.estimated_size('mb'):.0f} MB), "
        f"customer_scores {scores.width} columns ({scores.estimated_size('mb'):.0f} MB), built in "
        f"{time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    print("  phases: name wall/cpu seconds (this process)")
    _install_phases()
    profiler = cProfile.Profile() if args.profile else None

    if args.only in (None, "duckdb"):
        with tempfile.TemporaryDirectory() as folder:
            bench("duckdb", f"duckdb:///{Path(folder) / 'bench.duckdb'}", None, dim, scores, profiler)
    if args.only in (None, "postgresql"):
        url = os.environ.get("CXDATA_BENCH_PG_URL", DEFAULT_PG_URL)
        try:
            bench("postgresql", url, BENCH_SCHEMA, dim, scores, profiler)
        finally:
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{BENCH_SCHEMA}" CASCADE')
            engine.dispose()
    if profiler is not None:
        profiler.dump_stats(args.profile)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
