"""Fixtures of the warehouse checks' tests: a one-source project and a warehouse on each backend."""

from __future__ import annotations

import pytest

from cxdata.config import ProjectConfig, SourceConfig
from cxdata.warehouse import Warehouse


@pytest.fixture
def config(tmp_path) -> ProjectConfig:
    """An orders-only project warning at a 40% row-count change (whole checks every 7 days, the default)."""
    return ProjectConfig(
        name="t",
        sources={"orders": SourceConfig(path="orders.csv")},
        validation={"row_count_change_warn": 0.4},
        base_dir=tmp_path,
    )


@pytest.fixture
def wh(warehouse_target):
    url, schema = warehouse_target
    with Warehouse(url, schema=schema) as warehouse:
        yield warehouse
