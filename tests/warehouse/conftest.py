"""A Warehouse on each backend, plus frame builders shared by the warehouse tests."""

from __future__ import annotations

import polars as pl
import pytest

from cxdata.warehouse import Warehouse
from cxdata.warehouse.identifiers import STAGING_PREFIX


@pytest.fixture
def wh(warehouse_target):
    """A Warehouse on DuckDB (default schema) or PostgreSQL (a fresh schema), disposed after the test."""
    url, schema = warehouse_target
    with Warehouse(url, schema) as warehouse:
        yield warehouse


def _versioned_frame(rows: int, version: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"id": pl.int_range(rows, eager=True), "version": pl.repeat(version, rows, eager=True, dtype=pl.Int64)}
    )


def _staging_tables(warehouse: Warehouse) -> list[str]:
    names = warehouse.query(
        "select table_name from information_schema.tables where table_schema = :schema",
        {"schema": warehouse.schema},
    )["table_name"]
    return names.filter(names.str.starts_with(STAGING_PREFIX)).to_list()


@pytest.fixture
def versioned_frame():
    """Builds ``rows`` rows that all carry ``version``, so a reader can tell which publish it sees."""
    return _versioned_frame


@pytest.fixture
def staging_tables():
    """Lists the staging tables left in a warehouse's schema, straight from the catalog."""
    return _staging_tables
