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


NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
# what a full and an incremental run write alike; customer_identity's run_id is left out: a row the
# incremental run does not touch keeps the id of the run that wrote it
COMPARED = {
    "identity_record_keys": ["source_table", "record_id"],
    "customer_identity": ["identifier_type", "identifier_value"],
    "identity_links": ["source_table", "record_id", "identifier_type", "identifier_value"],
    "identity_merges": ["run_id", "old_key", "new_key", "kind"],
    "identity_record_hashes": ["source_table", "record_id"],
    "identity_inputs": ["source_table", "partition_day"],
}


def _changed_tables(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Every record, with two CRM records sharing one email now and one order gone."""
    crm = tables["customers"].sort("customer_ref")
    with_email = crm.filter(pl.col("email").is_not_null())
    first, second = with_email["customer_ref"][0], with_email["email"][1]
    changed = crm.with_columns(
        pl.when(pl.col("customer_ref") == first).then(pl.lit(second)).otherwise(pl.col("email")).alias("email")
    )
    orders = tables["orders"].sort("order_id")
    return {**tables, "customers": changed, "orders": orders.slice(1)}


def _state(wh: Warehouse) -> dict[str, pl.DataFrame]:
    out = {}
    for name, key in COMPARED.items():
        frame = wh.read(name)
        frame = frame.drop([c for c in ("run_id",) if name == "customer_identity"])
        out[name] = frame.sort([*key, *frame.columns], nulls_last=True)
    return out


def _with_share(config, share: float):
    return config.model_copy(
        update={"incremental": config.incremental.model_copy(update={"max_identity_share": share})}
    )


def test_an_incremental_run_writes_what_a_full_run_writes(project_tables, warehouse_target, tmp_path):
    config, tables = project_tables
    config = _with_share(config, 0.5)
    url, db_schema = warehouse_target
    cut = end_of_day(config.as_of - dt.timedelta(days=10), config.timezone)
    final = _changed_tables(tables)
    facts = {}
    for target, target_schema, full in (
        (url, db_schema, False),
        (f"duckdb:///{tmp_path / 'full.duckdb'}", None, True),
    ):
        with Warehouse(target, schema=target_schema) as wh:
            publish_until(wh, tables, cut)
            identity_step(wh, config, run_context(wh, config, "first", now=NOW))
            publish_until(wh, final, None)
            run = run_context(wh, config, "second", now=NOW + dt.timedelta(days=1))
            facts[full] = identity_step(wh, config, run, full_refresh=full)["customer_identity"].facts
            merges = wh.read("identity_merges")
            touched = wh.read("identity_touched")
            got = _state(wh)
            if not full:
                incremental = got
    assert facts[False]["mode"] == "incremental", facts[False]["mode_reason"]
    assert facts[True]["mode"] == "full"
    assert 0 < facts[False]["records_resolved"] < facts[False]["records"]
    assert facts[False]["gone"] == 1 and facts[False]["upserted"] > 0
    assert merges.filter(pl.col("run_id") == "second").height > 0
    assert set(touched["mode"]) == {"full"}
    for name, frame in got.items():
        assert_frame_equal(incremental[name], frame, check_dtypes=False)


def test_past_the_share_the_run_resolves_in_full_and_reuses_no_retired_key(project_tables, duckdb_url):
    # DuckDB only: past the share the step publishes as a full run does, which the test above runs on both
    config, tables = project_tables
    cut = end_of_day(config.as_of - dt.timedelta(days=10), config.timezone)
    with Warehouse(duckdb_url) as wh:
        publish_until(wh, tables, cut)
        identity_step(wh, config, run_context(wh, config, "first", now=NOW))
        publish_until(wh, _changed_tables(tables), None)
        run = run_context(wh, config, "second", now=NOW)
        facts = identity_step(wh, _with_share(config, 1e-6), run)["customer_identity"].facts
        merges = wh.read("identity_merges")
        records = wh.read("identity_record_keys")
        hashed = wh.read("identity_record_hashes")
        touched = wh.read("identity_touched")
    keys = set(records["customer_key"])
    assert facts["mode"] == "full" and "over the share" in facts["mode_reason"]
    # the records outside the days read again keep their hashes: the next delta starts from every record
    assert (
        hashed.select("source_table", "record_id")
        .sort(pl.all())
        .equals(records.select("source_table", "record_id").sort(pl.all()))
    )
    assert not keys & set(merges["old_key"])
    assert set(touched["mode"]) == {"full"} and keys <= set(touched["customer_key"])
