"""The mart step: every mart builds from what the warehouse holds."""

from __future__ import annotations

import polars as pl

from cxdata import schema
from cxdata.identity.step import identity_step
from cxdata.marts.step import mart_step, marts_for
from cxdata.run_context import end_of_day, run_context
from cxdata.warehouse import Warehouse
from tests.staged import project_tables, publish_until

__all__ = ["project_tables"]  # the fixture, imported for pytest


def test_every_mart_builds_from_the_warehouse(project_tables, tmp_path):
    config, tables = project_tables
    with Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}") as wh:
        publish_until(wh, tables, None)
        run = run_context(wh, config, "only")
        identity_step(wh, config, run)
        profiles = {name: mart_step(wh, config, name, run) for name in marts_for(config)}
        dim = wh.read("dim_customer")
        kpis = wh.read("cx_kpis_daily")
        identity = wh.read("customer_identity", columns=["identifier_type", "customer_key", "status"])
        crm = wh.read("identity_record_keys", columns=["customer_key"], where={"source_table": "customers"})
    assert set(profiles) == {"fct_orders", "fct_tickets", "fct_surveys", "fct_web_sessions", "fct_touches"} | {
        "dim_customer",
        "cx_kpis_daily",
    }
    assert profiles["fct_orders"].rows == tables["orders"].height
    assert dim["as_of"].max() == end_of_day(config.as_of, config.timezone)
    assert not set(dim.columns) & schema.PERSONAL_COLUMNS
    # kind: buyers are exactly the customers with an order; a non-buyer with an email of their own is known
    assert (dim["kind"] == "buyer").to_list() == (dim["orders_count"] > 0).to_list()
    emails = identity.filter((pl.col("identifier_type") == "email") & (pl.col("status") == "linked"))
    non_buyers = dim.filter(pl.col("kind") != "buyer")
    with_email = non_buyers.filter(pl.col("customer_key").is_in(emails["customer_key"].implode()))
    assert with_email.height > 0 and set(with_email["kind"]) == {"known_contact"}
    # so is one with a CRM record, and nobody without either, a ticket or a survey answer
    crm_only = non_buyers.filter(pl.col("customer_key").is_in(crm["customer_key"].implode()))
    assert crm_only.height > 0 and set(crm_only["kind"]) == {"known_contact"}
    anonymous = dim.filter(pl.col("kind") == "anonymous_visitor")
    assert anonymous.height > 0 and (anonymous["tickets_count"] == 0).all()
    assert not anonymous["customer_key"].is_in(emails["customer_key"].implode()).any()
    # the customer dimensions add up to the total, day by day
    total = kpis.filter(pl.col("dimension") == "total").select("date", "revenue", "sessions")
    for dimension in ("acquisition_channel", "customer_kind"):
        summed = (
            kpis.filter(pl.col("dimension") == dimension).group_by("date").agg(pl.col("revenue", "sessions").sum())
        )
        joined = total.join(summed, on="date", suffix="_summed")
        assert joined.height == total.height
        assert (joined["revenue"] - joined["revenue_summed"]).abs().max() < 1e-6
        assert (joined["sessions"] == joined["sessions_summed"]).all()
