"""What the Dagster UI shows of every published table: its row count, its column schema with each column's
description from sql/<table>.sql, and a preview in which personal columns are masked."""

from __future__ import annotations

import dagster as dg
import pytest

from cxdata import schema
from cxdata.warehouse import Warehouse

NOT_TABLES = {"cx_report", "sync_winback_meta"}  # an HTML file, and a delivery of segment changes
APPENDED_LATER = {"model_runs"}


@pytest.fixture(scope="module")
def metadata(materialised_on_duckdb) -> dict[str, dict]:
    run = materialised_on_duckdb
    assert run.outcome.success, run.outcome.failures
    with dg.DagsterInstance.from_config(run.dagster_home) as instance:
        latest = instance.get_latest_materialization_event
        return {
            name: latest(dg.AssetKey(name)).asset_materialization.metadata
            for name in run.outcome.materialised
            if name not in NOT_TABLES
        }


def test_every_published_table_has_its_row_count_and_described_columns(metadata, materialised_on_duckdb):
    missing = sorted(name for name, shown in metadata.items() if "dagster/column_schema" not in shown)
    assert not missing, f"no column schema on {missing}"
    with Warehouse(materialised_on_duckdb.url) as wh:
        for name, shown in metadata.items():
            rows = shown["dagster/row_count"].value
            # model_runs gains the touchpoint step's row after the value step published it
            assert rows == wh.row_count(name) or (name in APPENDED_LATER and rows < wh.row_count(name)), name
            columns = {c.name: c for c in shown["dagster/column_schema"].value.columns}
            assert list(columns) == wh.columns(name), name
            # the warehouse catalog holds sql/<name>.sql's comments (tables and views alike)
            documented = {c: text for c, text in wh.column_comments(name).items() if text}
            assert documented, name
            for column, text in documented.items():
                assert columns[column].description == text, (name, column)


def test_customer_scores_show_their_column_descriptions_and_no_personal_data(metadata):
    shown = metadata["customer_scores"]
    columns = {c.name: c.description for c in shown["dagster/column_schema"].value.columns}
    assert columns["clv"] and columns["churn_probability"] and columns["segment"]
    assert shown["dagster/row_count"].value > 0 and "customer_key" in shown["preview"].value
    personal = metadata["dim_customer_pii"]["preview"].value
    assert "@" not in personal and "•••" in personal
    hashed = metadata["marketing_segment_export"]["preview"].value  # hashed contacts are masked too
    assert "•••" in hashed
    assert not set(columns) & schema.PERSONAL_COLUMNS
