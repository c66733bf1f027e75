"""The mart step: every mart builds from what the warehouse holds."""

from __future__ import annotations

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
    assert set(profiles) == {"fct_orders", "fct_tickets", "fct_surveys", "fct_web_sessions", "fct_touches"} | {
        "dim_customer",
        "cx_kpis_daily",
    }
    assert profiles["fct_orders"].rows == tables["orders"].height
    assert dim["as_of"].max() == end_of_day(config.as_of, config.timezone)
    assert not set(dim.columns) & schema.PERSONAL_COLUMNS
