"""Transactions: several tables become visible together or not at all, appends keep every concurrent row, and a
process killed at any crash point leaves the previous versions and no staging table behind."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import polars as pl
import pytest
import sqlalchemy as sa
from polars.testing import assert_frame_equal

from cxdata.faults import ENV as CRASH_ENV
from cxdata.warehouse import Warehouse, WarehouseError, loaders
from cxdata.warehouse.identifiers import STAGING_PREFIX

# Publishes a, b and appends to log in one transaction, as its own process, so a crash point can kill it.
WRITE = """
import sys
import polars as pl
from cxdata.warehouse import Warehouse
url, schema, version = sys.argv[1], sys.argv[2] or None, int(sys.argv[3])
with Warehouse(url, schema) as wh, wh.transaction() as tx:
    tx.publish("a", pl.DataFrame({"version": [version] * 50_000}))
    tx.append("log", pl.DataFrame({"version": [version]}))
    tx.publish("b", pl.DataFrame({"version": [version] * 3}))
"""

# Appends rows one transaction at a time, as one of several processes writing the same log.
APPEND = """
import sys
import polars as pl
from cxdata.warehouse import Warehouse
url, schema, writer, rows = sys.argv[1], sys.argv[2] or None, sys.argv[3], int(sys.argv[4])
with Warehouse(url, schema) as wh:
    for i in range(rows):
        wh.append("load_audit", pl.DataFrame({"writer": [writer], "i": [i]}))
"""


def _run(script: str, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, CRASH_ENV: crash_at or ""}
    return subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=120
    )


def _versions(wh: Warehouse) -> dict[str, list[int]]:
    return {name: sorted(set(wh.read(name)["version"].to_list())) for name in ("a", "b", "log")}


def _write(url: str, schema: str | None, version: int) -> None:
    with Warehouse(url, schema) as wh, wh.transaction() as tx:
        tx.publish("a", pl.DataFrame({"version": [version] * 50_000}))
        tx.append("log", pl.DataFrame({"version": [version]}))
        tx.publish("b", pl.DataFrame({"version": [version] * 3}))


# while staging (the first table, the last one) and while making them visible (tables swapped, log not yet written)
@pytest.mark.parametrize("point", ["publish:a:staged", "publish:b:staged", "publish:a:visible"])
def test_a_kill_at_any_point_of_a_transaction_leaves_the_previous_versions(
    warehouse_target, staging_tables, point
):
    url, schema = warehouse_target
    _write(url, schema, 1)

    killed = _run(WRITE, url, schema or "", "2", crash_at=point)

    assert killed.returncode == -9, killed.stderr  # SIGKILL, exactly where asked
    with Warehouse(url, schema) as wh:
        assert _versions(wh) == {"a": [1], "b": [1], "log": [1]}
        assert wh.row_count("a") == 50_000
        assert staging_tables(wh) == []
    _write(url, schema, 3)
    with Warehouse(url, schema) as wh:
        assert _versions(wh) == {"a": [3], "b": [3], "log": [1, 3]}


def test_a_failure_in_a_later_table_keeps_every_earlier_one(wh, monkeypatch, staging_tables):
    wh.publish("a", pl.DataFrame({"version": [1]}))
    wh.append("log", pl.DataFrame({"version": [1]}))
    real = loaders.bulk_load
    calls = []

    def fail_on_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("injected load failure")
        return real(*args, **kwargs)

    monkeypatch.setattr(loaders, "bulk_load", fail_on_third)
    with pytest.raises(WarehouseError, match=r"'b'.*injected load failure"), wh.transaction() as tx:
        tx.publish("a", pl.DataFrame({"version": [2]}))
        tx.append("log", pl.DataFrame({"version": [2]}))
        tx.publish("b", pl.DataFrame({"version": [2]}))

    assert wh.read("a")["version"].to_list() == [1] and wh.read("log")["version"].to_list() == [1]
    assert not wh.exists("b") and staging_tables(wh) == []


def test_a_table_written_twice_in_one_transaction_is_refused(wh):
    with pytest.raises(WarehouseError, match="'a' is written twice"), wh.transaction() as tx:
        tx.publish("a", pl.DataFrame({"x": [1]}))
        tx.append("a", pl.DataFrame({"x": [2]}))
    assert not wh.exists("a")


def test_concurrent_appends_from_four_processes_keep_every_row(pg_schema):
    url, schema = pg_schema
    writers, rows = 4, 15
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", APPEND, url, schema, f"w{w}", str(rows)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(writers)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with Warehouse(url, schema) as wh:
        held = wh.read("load_audit")
    assert held.height == writers * rows
    assert held.group_by("writer").agg(pl.col("i").n_unique())["i"].to_list() == [rows] * writers


def test_concurrent_appends_from_threads_keep_every_row(wh):
    writers, rows = 4, 10
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for i in range(rows):
                wh.append("model_runs", pl.DataFrame({"writer": [writer], "i": [i]}), replace={"writer": -1})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert_frame_equal(
        wh.read("model_runs").group_by("writer").len().sort("writer"),
        pl.DataFrame({"writer": range(writers), "len": [rows] * writers}),
        check_dtypes=False,
    )


def test_stale_staging_tables_are_dropped_and_open_transactions_are_untouched(wh, staging_tables):
    stale = f"{STAGING_PREFIX}deadbeef0000_stg_customers"
    with wh.engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE TABLE "{wh.schema}"."{stale}" (email text)')
        conn.exec_driver_sql(f'INSERT INTO "{wh.schema}"."{stale}" VALUES (\'someone@example.com\')')
    assert staging_tables(wh) == [stale]

    with wh.transaction() as tx:
        tx.publish("fresh", pl.DataFrame({"x": [1, 2]}))
        # another session cleaning up now sees only the leftover, never this transaction's staging table
        with Warehouse(str(wh.engine.url.render_as_string(hide_password=False)), wh.schema) as other:
            dropped = other.drop_stale_staging()

    assert dropped == [stale]
    assert staging_tables(wh) == [] and wh.read("fresh")["x"].to_list() == [1, 2]


def test_a_duckdb_file_the_warehouse_creates_is_the_owners_alone(tmp_path):
    path = tmp_path / "new" / "warehouse.duckdb"
    with Warehouse(f"duckdb:///{path}") as wh:
        wh.publish("t", pl.DataFrame({"x": [1]}))
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    with sa.create_engine(f"duckdb:///{path}").connect() as conn:
        assert conn.exec_driver_sql("select x from t").scalar_one() == 1
