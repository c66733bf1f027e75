"""Retention (`privacy.retain_days`) on a generated project, both backends: a daily run after the retention is
set purges the expired days of orders and web events from staging, identity and the facts, logs what it
purged, and equals a full rebuild from the same files under the same retention (which stages no expired row
and counts them in load_audit); a second purge the same day finds nothing more."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl

from cxdata.config import load_config
from cxdata.privacy.retention import purge_expired
from cxdata.warehouse import Warehouse
from cxdata.warehouse.compare import compare_warehouses
from tests.lean import lean
from tests.warehouse_pair import Side, lean_project, run_on

CUSTOMERS, SEED = 150, 31
COMPARED = {"stg_orders", "stg_web_events", "fct_orders", "fct_web_sessions", "identity_record_keys",
            "customer_identity", "dim_customer", "customer_activity"}  # fmt: skip


def _days(side: Side, table: str) -> pl.Series:
    with Warehouse(side.url, side.schema) as wh:
        return wh.read(table, columns=["partition_day"])["partition_day"]


def test_expired_days_leave_staging_identity_and_facts_as_a_full_rebuild_would(
    tmp_path, monkeypatch, two_warehouses
):
    daily, rebuilt, copy = two_warehouses
    project = lean_project(tmp_path, monkeypatch, CUSTOMERS, SEED)
    run_on(monkeypatch, project.config_path, daily)
    copy()  # the rebuild starts from the same stored model fits

    config = load_config(project.config_path)
    today = dt.datetime.now(ZoneInfo(config.timezone)).date()
    # half the orders' history and a third of the web events' expire
    kept_orders, kept_web = (
        project.params.as_of - dt.timedelta(days=450),
        project.params.as_of - dt.timedelta(days=300),
    )
    retain = {"orders": (today - kept_orders).days, "web_events": (today - kept_web).days}
    old_orders = int((_days(daily, "stg_orders") < kept_orders).sum())
    old_web = int((_days(daily, "stg_web_events") < kept_web).sum())
    assert old_orders > 50 and old_web > 50
    with Warehouse(daily.url, daily.schema) as wh:
        orders_before = wh.read("fct_orders", columns=["order_id", "customer_key"])
    lean(project.config_path, privacy={"retain_days": retain})

    run = run_on(monkeypatch, project.config_path, daily)
    run_on(monkeypatch, project.config_path, rebuilt, full_refresh=True)

    assert _days(daily, "stg_orders").min() >= kept_orders and _days(daily, "stg_web_events").min() >= kept_web
    with Warehouse(daily.url, daily.schema) as wh:
        log = wh.read("retention_log", where={"run_id": run.run_id})
        orders = wh.read("fct_orders", columns=["order_id", "customer_key"])
        records = wh.read("identity_record_keys", where={"source_table": "orders"}, columns=["record_id"])
    purged = dict(log.select("table_name", "rows_purged").iter_rows())
    assert purged["stg_orders"] == old_orders and purged["stg_web_events"] == old_web
    gone = orders_before.join(orders, on="order_id", how="anti")
    assert gone.height == old_orders  # accepted orders are facts one to one
    assert gone.join(records, left_on="order_id", right_on="record_id", how="semi").is_empty()
    with Warehouse(rebuilt.url, rebuilt.schema) as wh:
        audit = wh.read("load_audit", columns=["table_name", "rows_expired", "run_id"]).sort("run_id")
    expired = dict(audit.filter(pl.col("rows_expired") > 0).select("table_name", "rows_expired").iter_rows())
    assert expired["orders"] >= old_orders and expired["web_events"] >= old_web

    verdicts = compare_warehouses(daily.url, rebuilt.url, daily.schema, rebuilt.schema)
    assert {v.table for v in verdicts} >= COMPARED
    assert [(v.table, v.difference) for v in verdicts if v.table in COMPARED and not v.equal] == []

    with Warehouse(daily.url, daily.schema) as wh:  # nothing more to purge the same day
        assert purge_expired(wh, load_config(project.config_path), "again", dt.datetime.now(dt.UTC)).is_empty()
