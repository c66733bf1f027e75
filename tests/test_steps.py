"""Warehouse-to-warehouse steps: identity twice over growing data keeps keys; marts build from the warehouse."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cxdata import schema
from cxdata.config import load_config
from cxdata.faults import ENV as CRASH_ENV
from cxdata.io import load_table
from cxdata.steps import IDENTITY_TABLES, end_of_day, identity_step, mart_step, marts_for
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse

EVENT_TIME = {"customers": "created_at", "orders": "ordered_at", "tickets": "opened_at"}
EVENT_TIME |= {"surveys": "responded_at", "web_events": "occurred_at", "touches": "occurred_at"}


@pytest.fixture(scope="module")
def project_tables(tmp_path_factory):
    project = generate_project(tmp_path_factory.mktemp("steps"), SynthParams(customers=400, seed=11))
    config = load_config(project.config_path)
    return config, {table: load_table(config, table) for table in config.sources}


def publish_until(wh: Warehouse, tables: dict[str, pl.DataFrame], cut: dt.datetime | None) -> None:
    for table, frame in tables.items():
        column = EVENT_TIME.get(table)
        kept = frame if cut is None or column is None else frame.filter(pl.col(column) <= cut)
        wh.publish(f"stg_{table}", kept)


def test_identity_twice_keeps_keys_and_appends_the_merge_log(project_tables, warehouse_target):
    config, tables = project_tables
    url, db_schema = warehouse_target
    cut = end_of_day(config.as_of - dt.timedelta(days=45), config.timezone)
    with Warehouse(url, schema=db_schema) as wh:
        publish_until(wh, tables, cut)
        identity_step(wh, config, run_id="first")
        before = wh.read("identity_record_keys")
        identity_before = wh.read("customer_identity")
        log_before = wh.read("identity_merges").height
        publish_until(wh, tables, None)
        profiles = identity_step(wh, config, run_id="second")
        after = wh.read("identity_record_keys")
        log = wh.read("identity_merges")
    assert after.height == sum(tables[t].height for t in IDENTITY_TABLES if t in tables)
    assert after.height > before.height
    joined = before.join(after, on=["source_table", "record_id"], suffix="_after")
    assert joined.height == before.height  # every old record is still there
    moved = joined.filter(pl.col("customer_key") != pl.col("customer_key_after"))
    merged = set(log.filter(pl.col("run_id") == "second")["old_key"])
    assert set(moved["customer_key"]) <= merged  # a key changes only through a logged merge
    # Anonymous-only profiles merge into a known customer when the device later logs in: that is
    # the point of a CDP, and logged. Customers known by a CRM id, email or phone must keep their key.
    known = identity_before.filter(
        pl.col("identifier_type").is_in(["customer_ref", "email", "phone"]) & (pl.col("status") == "linked")
    )["customer_key"]
    of_known = joined.filter(pl.col("customer_key").is_in(known.implode()))
    kept = of_known.filter(pl.col("customer_key") == pl.col("customer_key_after")).height
    assert kept / of_known.height >= 0.999
    assert set(moved["source_table"]) <= {"web_events", "touches"}
    assert log.height == log_before + profiles["customer_identity"].facts["merges_this_run"]


def test_every_mart_builds_from_the_warehouse(project_tables, tmp_path):
    config, tables = project_tables
    with Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}") as wh:
        publish_until(wh, tables, None)
        identity_step(wh, config, run_id="only")
        profiles = {name: mart_step(wh, config, name) for name in marts_for(config)}
        dim = wh.read("dim_customer")
    assert set(profiles) == {"fct_orders", "fct_tickets", "fct_surveys", "fct_web_sessions", "fct_touches"} | {
        "dim_customer",
        "cx_kpis_daily",
    }
    assert profiles["fct_orders"].rows == tables["orders"].height
    assert dim["as_of"].max() == end_of_day(config.as_of, config.timezone)
    assert not set(dim.columns) & schema.PERSONAL_COLUMNS


def test_end_of_day_is_local_midnight_in_utc():
    assert end_of_day(dt.date(2026, 6, 30), "Europe/Madrid") == dt.datetime(
        2026, 6, 30, 21, 59, 59, 999999, tzinfo=dt.UTC
    )
    assert end_of_day(dt.date(2026, 1, 31), "UTC") == dt.datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)


# identity_step as its own process, so a crash point can kill it exactly like kill -9 would
IDENTITY_RUN = """
import sys
from cxdata.config import load_config
from cxdata.steps import identity_step
from cxdata.warehouse import Warehouse
url, schema, config_path = sys.argv[1], sys.argv[2] or None, sys.argv[3]
with Warehouse(url, schema) as wh:
    identity_step(wh, load_config(config_path), run_id="second")
"""
MERGE_COLUMNS = ["old_key", "new_key", "kind", "reason", "run_id"]


def test_a_kill_between_identity_tables_loses_no_merge(project_tables, warehouse_target, tmp_path):
    # the keys are swapped in, the merge log that explains their moves not yet written
    point = "publish:customer_identity:visible"
    config, tables = project_tables
    cut = end_of_day(config.as_of - dt.timedelta(days=45), config.timezone)
    url, db_schema = warehouse_target
    clean_url = f"duckdb:///{tmp_path / 'clean.duckdb'}"
    for target, target_schema in ((url, db_schema), (clean_url, None)):
        with Warehouse(target, schema=target_schema) as wh:
            publish_until(wh, tables, cut)
            identity_step(wh, config, run_id="first")
            publish_until(wh, tables, None)
    with Warehouse(clean_url) as wh:
        identity_step(wh, config, run_id="second")
        expected_log = wh.read("identity_merges", columns=MERGE_COLUMNS).sort(MERGE_COLUMNS)
        expected_keys = wh.read("identity_record_keys", columns=["source_table", "record_id", "customer_key"])
    with Warehouse(url, schema=db_schema) as wh:
        keys_before = wh.read("identity_record_keys", columns=["source_table", "record_id", "customer_key"])
        log_before = wh.read("identity_merges", columns=MERGE_COLUMNS).sort(MERGE_COLUMNS)

    killed = subprocess.run(
        [sys.executable, "-c", IDENTITY_RUN, url, db_schema or "", str(config.path)],
        env={**os.environ, CRASH_ENV: point},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert killed.returncode == -9, killed.stderr[-2000:]
    with Warehouse(url, schema=db_schema) as wh:
        # nothing of the killed run is visible: the keys did not move without their merge log
        assert_frame_equal(wh.read("identity_merges", columns=MERGE_COLUMNS).sort(MERGE_COLUMNS), log_before)
        assert_frame_equal(
            wh.read("identity_record_keys", columns=list(keys_before.columns)).sort("source_table", "record_id"),
            keys_before.sort("source_table", "record_id"),
        )
        identity_step(wh, config, run_id="second")
        log = wh.read("identity_merges", columns=MERGE_COLUMNS).sort(MERGE_COLUMNS)
        keys = wh.read("identity_record_keys", columns=list(expected_keys.columns))
    assert expected_log.filter(pl.col("run_id") == "second").height > 0  # the rerun really merges something
    assert_frame_equal(log, expected_log)
    assert_frame_equal(keys.sort("source_table", "record_id"), expected_keys.sort("source_table", "record_id"))
