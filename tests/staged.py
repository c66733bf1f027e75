"""A generated project's staged tables, published up to a cut: the input of the identity and mart step tests."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxdata.config import load_config
from cxdata.io import load_table
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse

EVENT_TIME = {"customers": "created_at", "orders": "ordered_at", "tickets": "opened_at"}
EVENT_TIME |= {"surveys": "responded_at", "web_events": "occurred_at", "touches": "occurred_at"}


@pytest.fixture(scope="module")
def project_tables(tmp_path_factory):
    """The config and every staged table of a 400-customer project (seed 11)."""
    project = generate_project(tmp_path_factory.mktemp("steps"), SynthParams(customers=400, seed=11))
    config = load_config(project.config_path)
    return config, {table: load_table(config, table) for table in config.sources}


def publish_until(wh: Warehouse, tables: dict[str, pl.DataFrame], cut: dt.datetime | None) -> None:
    """Publish each table as ``stg_<table>``, only its rows up to ``cut`` (all of them for None)."""
    for table, frame in tables.items():
        column = EVENT_TIME.get(table)
        kept = frame if cut is None or column is None else frame.filter(pl.col(column) <= cut)
        wh.publish(f"stg_{table}", kept)
