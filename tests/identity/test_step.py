"""The identity step: twice over growing data it keeps keys and appends the merge log; a kill loses no merge."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import polars as pl
from polars.testing import assert_frame_equal

from cxdata.faults import ENV as CRASH_ENV
from cxdata.identity.step import IDENTITY_TABLES, identity_step
from cxdata.run_context import end_of_day, run_context
from cxdata.warehouse import Warehouse
from tests.staged import project_tables, publish_until

__all__ = ["project_tables"]  # the fixture, imported for pytest


def test_identity_twice_keeps_keys_and_appends_the_merge_log(project_tables, warehouse_target):
    config, tables = project_tables
    url, db_schema = warehouse_target
    cut = end_of_day(config.as_of - dt.timedelta(days=45), config.timezone)
    with Warehouse(url, schema=db_schema) as wh:
        publish_until(wh, tables, cut)
        identity_step(wh, config, run_context(wh, config, "first"))
        before = wh.read("identity_record_keys")
        identity_before = wh.read("customer_identity")
        log_before = wh.read("identity_merges").height
        publish_until(wh, tables, None)
        profiles = identity_step(wh, config, run_context(wh, config, "second"))
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


# identity_step as its own process, so a crash point can kill it exactly like kill -9 would
IDENTITY_RUN = """
import sys
from cxdata.config import load_config
from cxdata.identity.step import identity_step
from cxdata.run_context import run_context
from cxdata.warehouse import Warehouse
url, schema, config_path = sys.argv[1], sys.argv[2] or None, sys.argv[3]
config = load_config(config_path)
with Warehouse(url, schema) as wh:
    identity_step(wh, config, run_context(wh, config, "second"))
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
            identity_step(wh, config, run_context(wh, config, "first"))
            publish_until(wh, tables, None)
    with Warehouse(clean_url) as wh:
        identity_step(wh, config, run_context(wh, config, "second"))
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
        identity_step(wh, config, run_context(wh, config, "second"))
        log = wh.read("identity_merges", columns=MERGE_COLUMNS).sort(MERGE_COLUMNS)
        keys = wh.read("identity_record_keys", columns=list(expected_keys.columns))
    assert expected_log.filter(pl.col("run_id") == "second").height > 0  # the rerun really merges something
    assert_frame_equal(log, expected_log)
    assert_frame_equal(keys.sort("source_table", "record_id"), expected_keys.sort("source_table", "record_id"))
