"""Builders shared by the mart tests: UTC timestamps and hand-made record keys."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest


def _at(day: int, hour: int = 12, minute: int = 0, second: int = 0, month: int = 3) -> dt.datetime:
    """A UTC moment in 2025 (March unless told)."""
    return dt.datetime(2025, month, day, hour, minute, second, tzinfo=dt.UTC)


def _keys(table: str, mapping: dict[str, str]) -> pl.LazyFrame:
    """record_keys rows for one source table: record_id -> customer_key."""
    return pl.LazyFrame(
        {
            "source_table": [table] * len(mapping),
            "record_id": list(mapping),
            "customer_key": list(mapping.values()),
        },
        schema={"source_table": pl.String, "record_id": pl.String, "customer_key": pl.String},
    )


@pytest.fixture
def at():
    """``at(day, hour=12, minute=0, second=0, month=3)``: a UTC moment in 2025."""
    return _at


@pytest.fixture
def keys():
    """``keys(table, {record_id: customer_key})``: a hand-made record_keys frame."""
    return _keys
