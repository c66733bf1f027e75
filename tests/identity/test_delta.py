"""The identity delta: only the days staged since identity consumed them are read again, and a changed, new or
gone record in them is found; what the stored state cannot vouch for asks for a full resolve."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.identity.delta import HASHES, identity_delta
from cxdata.identity.step import IDENTITY_TABLES, identity_step
from cxdata.io.partitions import STAGED
from cxdata.run_context import run_context
from cxdata.warehouse import Warehouse
from tests.staged import project_tables

__all__ = ["project_tables"]  # the fixture, imported for pytest

LOADED = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def stage_orders(wh: Warehouse, orders: pl.DataFrame, days: list[dt.date], loaded_at: dt.datetime) -> None:
    """``orders`` as stg_orders by day, with the stg_partitions rows of ``days`` restaged at ``loaded_at``."""
    wh.publish("stg_orders", orders)
    versions = orders.filter(pl.col("partition_day").is_in(days)).group_by("partition_day").len()
    rows = versions.select(
        pl.lit("orders").alias("source_table"),
        "partition_day",
        pl.lit("v").alias("files_version"),
        pl.col("len").cast(pl.Int64).alias("rows"),
        pl.lit("r").alias("run_id"),
        pl.lit(loaded_at).alias("loaded_at"),
    )
    with wh.transaction() as tx:
        tx.append(STAGED, rows, replace={"source_table": "orders", "partition_day": days})


def test_only_the_restaged_days_are_read_and_their_changes_found(project_tables, warehouse_target):
    config, tables = project_tables
    url, db_schema = warehouse_target
    names = [t for t in IDENTITY_TABLES if t in config.sources]
    orders = tables["orders"].with_columns(pl.col("ordered_at").dt.date().alias("partition_day"))
    days = sorted(set(orders["partition_day"].drop_nulls()))
    last, earlier = days[-1], orders.filter(pl.col("partition_day") < days[-1])
    with Warehouse(url, schema=db_schema) as wh:
        for table, frame in tables.items():
            if table != "orders":
                wh.publish(f"stg_{table}", frame)
        stage_orders(wh, earlier, days[:-1], LOADED)
        assert identity_delta(wh, config, names, None).full_reason == "no record hashes of an earlier identity run"
        identity_step(wh, config, run_context(wh, config, "first"))
        unchanged = identity_delta(wh, config, names, None)
        assert unchanged.full_reason is None and unchanged.upserted.is_empty() and unchanged.gone.is_empty()
        assert unchanged.scope["orders"] == "0 day(s)" and unchanged.scope["customers"] == "whole"

        # the day before the last is restaged: one order changes its email, one is gone; the last day arrives
        before_last = earlier.filter(pl.col("partition_day") == days[-2]).sort("order_id")
        changed_id, gone_id = before_last["order_id"][0], before_last["order_id"][1]
        restaged = orders.filter(pl.col("order_id") != gone_id).with_columns(
            pl.when(pl.col("order_id") == changed_id)
            .then(pl.lit("someone.else@example.com"))
            .otherwise(pl.col("email"))
            .alias("email")
        )
        stage_orders(wh, restaged, days[-2:], LOADED + dt.timedelta(days=1))
        delta = identity_delta(wh, config, names, None)
        # past the share the step resolves in full, yet hashed only those days: the others keep their hashes
        strict = config.model_copy(
            update={"incremental": config.incremental.model_copy(update={"max_identity_share": 1e-6})}
        )
        facts = identity_step(wh, strict, run_context(wh, config, "second"))["customer_identity"].facts
        records = wh.read("identity_record_keys", columns=["source_table", "record_id"]).sort(pl.all())
        hashed = wh.read(HASHES, columns=["source_table", "record_id"]).sort(pl.all())
    assert facts["mode"] == "full" and "over the share" in facts["mode_reason"]
    assert hashed.equals(records)
    assert delta.full_reason is None and delta.scope["orders"] == "2 day(s)"
    new_ids = set(orders.filter(pl.col("partition_day") == last)["order_id"].cast(pl.String))
    assert set(delta.upserted["record_id"]) == {str(changed_id), *new_ids}
    assert set(delta.upserted["source_table"]) == {"orders"}
    assert delta.gone.rows() == [("orders", str(gone_id))]
    # the hashes written are those of the two days read again
    assert set(delta.hashes.filter(pl.col("source_table") == "orders")["partition_day"]) == set(days[-2:])


def test_another_identity_config_asks_for_a_full_resolve(project_tables, duckdb_url):
    config, tables = project_tables
    names = [t for t in IDENTITY_TABLES if t in config.sources]
    with Warehouse(duckdb_url) as wh:
        for table, frame in tables.items():
            wh.publish(f"stg_{table}", frame)
        identity_step(wh, config, run_context(wh, config, "first"))
        stricter = config.model_copy(
            update={"identity": config.identity.model_copy(update={"max_customers_per_identifier": {"email": 1}})}
        )
        delta = identity_delta(wh, stricter, names, None)
        profile = identity_step(wh, stricter, run_context(wh, stricter, "second"))["customer_identity"]
    assert delta.full_reason == "the identity config changed since the last identity run"
    assert profile.facts["mode"] == "full" and profile.facts["mode_reason"] == delta.full_reason
