"""The fact marts follow what changed: after a day arrives, with a changed and a removed order inside the
lookback and an order that merges two customers, each updated fact table equals a full build of the same
staged tables; what the bookkeeping cannot vouch for builds whole."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cxdata.config import load_config
from cxdata.identity.step import identity_step
from cxdata.io.partitions import days_to_stage
from cxdata.io.step import stage_step
from cxdata.marts.delta import INPUTS, fact_delta
from cxdata.marts.incremental import FACT_SOURCES
from cxdata.marts.step import build_mart, mart_step
from cxdata.run_context import run_context
from cxdata.synth import SynthParams, generate_project
from cxdata.synth.days import deliver, hold_back_days
from cxdata.warehouse import Warehouse

FACTS = list(FACT_SOURCES)
START = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def run(wh: Warehouse, config, run_id: str, at: dt.datetime) -> dict[str, dict]:
    """Stage what is stale, resolve identities and build the fact marts, as a daily run does; each mart's facts
    (its profile's rows checked against the table)."""
    for table in config.sources:
        stage_step(wh, config, table, run_id, at, days=days_to_stage(wh, config, table))
    context = run_context(wh, config, run_id, at)
    identity_step(wh, config, context)
    profiles = {name: mart_step(wh, config, name, context) for name in FACTS}
    # an update's profile describes the whole table, as a full build's does
    assert all(profile.rows == wh.row_count(name) for name, profile in profiles.items())
    return {name: profile.facts for name, profile in profiles.items()}


def ordered(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


@pytest.fixture
def project(tmp_path):
    generated = generate_project(tmp_path / "p", SynthParams(customers=150, seed=23))
    held = hold_back_days(generated.config_path, days=1)
    return load_config(generated.config_path), held


def plant(config, held) -> dict[str, str]:
    """Deliver the held day, change one order and drop another on the last day of the history (inside the
    lookback), and add to the new day an order carrying two customers' identifiers; what was planted."""
    (day,) = held
    deliver(held[day])
    folder = config.source_path("orders")
    history = folder / "part-0-history.csv"
    orders = pl.read_csv(history, infer_schema=False)
    last, dropped = orders["order_no"][-1], orders["order_no"][-2]
    orders = orders.filter(pl.col("order_no") != dropped).with_columns(
        pl.when(pl.col("order_no") == last).then(pl.lit("12345.67")).otherwise(pl.col("total")).alias("total")
    )
    orders.write_csv(history)
    # a buyer known by reference only and another known by email only: one order naming both merges them
    by_ref = orders.filter(pl.col("cust_id").is_not_null() & pl.col("email_address").is_null())["cust_id"][0]
    by_email = orders.filter(pl.col("cust_id").is_null() & pl.col("email_address").is_not_null())
    email = by_email["email_address"][0]
    (new_day,) = [f for f in folder.iterdir() if f.name != history.name]
    arrived = pl.read_csv(new_day, infer_schema=False)
    bridge = arrived.head(1).with_columns(
        pl.lit("999999999").alias("order_no"),
        pl.lit(by_ref).alias("cust_id"),
        pl.lit(email).alias("email_address"),
    )
    pl.concat([arrived, bridge]).write_csv(new_day)
    return {"changed": last, "dropped": dropped, "bridge": "999999999"}


def test_an_updated_day_equals_a_full_build_of_each_fact(project, warehouse_target):
    config, held = project
    url, db_schema = warehouse_target
    with Warehouse(url, schema=db_schema) as wh:
        first = run(wh, config, "first", START)
        assert {facts["mode"] for facts in first.values()} == {"full"}
        again = run(wh, config, "again", START + dt.timedelta(hours=1))
        assert {facts["mode"] for facts in again.values()} == {"incremental"}
        assert again["fct_orders"]["customers_rebuilt"] == 0
        planted = plant(config, held)
        daily = run(wh, config, "daily", START + dt.timedelta(days=1))
        merges = wh.read("identity_merges", where={"run_id": "daily"})
        tables = {name: wh.read(name) for name in FACTS}
        whole = {name: build_mart(wh, config, name, run_context(wh, config, "daily")) for name in FACTS}
    assert {facts["mode"] for facts in daily.values()} == {"incremental"}, daily
    assert merges.height >= 1  # the bridging order merged two customers
    orders = tables["fct_orders"]
    assert planted["dropped"] not in set(orders["order_id"])
    assert orders.filter(pl.col("order_id") == planted["changed"])["amount"].to_list() == [12345.67]
    assert planted["bridge"] in set(orders["order_id"])
    rebuilt = daily["fct_orders"]["customers_rebuilt"]
    assert 0 < rebuilt < orders["customer_key"].n_unique() / 2  # only some customers were built again
    for name in FACTS:  # floats to 1e-9: the contract of incremental == full
        expected = ordered(whole[name].select(tables[name].columns))
        assert_frame_equal(ordered(tables[name]), expected, check_exact=False, rel_tol=0, abs_tol=1e-9)


def test_what_the_bookkeeping_cannot_vouch_for_builds_whole(project, warehouse_target):
    config, _ = project
    url, db_schema = warehouse_target
    with Warehouse(url, schema=db_schema) as wh:
        first = run(wh, config, "first", START)
        assert first["fct_orders"]["mode_reason"] == "fct_orders does not exist yet"
        assert fact_delta(wh, config, "fct_orders", ["orders"]).full_reason is None
        other = config.model_copy(update={"currency": "USD"})
        assert "currency" in fact_delta(wh, other, "fct_orders", ["orders"]).full_reason
        assert "changed" in fact_delta(wh, config, "fct_orders", ["orders", "tickets"]).full_reason
        # identity resolved everyone again (a full refresh): the facts cannot follow its touched customers
        identity_step(wh, config, run_context(wh, config, "refresh", START), full_refresh=True)
        assert fact_delta(wh, config, "fct_orders", ["orders"]).full_reason == (
            "identity resolved every customer again"
        )
        facts = mart_step(wh, config, "fct_orders", run_context(wh, config, "refresh")).facts
        inputs = wh.read(INPUTS, where={"mart": "fct_orders"})
    assert facts["mode"] == "full" and set(inputs["identity_run_id"]) == {"refresh"}
