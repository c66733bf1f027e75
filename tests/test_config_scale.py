"""The `incremental` and `scale` sections and `models.refit_every_days`: defaults, bounds, and the settings a
DuckDB warehouse cannot run, each refused naming the key and value."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from cxdata.config import WAREHOUSE_URL_ENV, load_config
from tests.test_config import error_of, write

MINIMAL = """
name: acme
sources:
  orders:
    path: data/orders.csv
"""

PG = "postgresql+psycopg://postgres@127.0.0.1/test"


def test_defaults(tmp_path):
    config = load_config(write(tmp_path, MINIMAL), environ={})
    assert (config.incremental.lookback_days, config.incremental.start_date) == (3, None)
    assert config.incremental.max_identity_share == 0.2
    assert config.models.refit_every_days == 7
    assert (config.scale.shards, config.scale.executor, config.scale.max_concurrent_shards) == (1, None, 2)


def test_given_values_are_kept(tmp_path):
    text = MINIMAL + textwrap.dedent(
        """
        warehouse: postgresql+psycopg://postgres@127.0.0.1/test
        incremental: {lookback_days: 0, start_date: 2025-01-01, max_identity_share: 1}
        models: {refit_every_days: 1}
        scale: {shards: 256, executor: celery, max_concurrent_shards: 8}
        """
    )
    config = load_config(write(tmp_path, text), environ={})
    assert config.incremental.lookback_days == 0
    assert config.incremental.start_date == dt.date(2025, 1, 1)
    assert config.incremental.max_identity_share == 1.0
    assert config.models.refit_every_days == 1
    assert (config.scale.shards, config.scale.executor, config.scale.max_concurrent_shards) == (256, "celery", 8)


@pytest.mark.parametrize(
    ("warehouse", "executor", "expected"),
    [
        ("duckdb:///w.duckdb", None, "in_process"),
        (PG, None, "multiprocess"),
        (PG, "in_process", "in_process"),
        (PG, "celery", "celery"),
        ("duckdb:///w.duckdb", "in_process", "in_process"),
    ],
)
def test_the_executor_defaults_by_warehouse(tmp_path, warehouse, executor, expected):
    scale = "" if executor is None else f"scale: {{executor: {executor}}}\n"
    config = load_config(write(tmp_path, MINIMAL + f"warehouse: {warehouse}\n" + scale), environ={})
    assert config.scale.executor_for(config.warehouse_kind) == expected


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("incremental: {lookback_days: -1}\n", "incremental.lookback_days", "'-1'"),
        ("incremental: {max_identity_share: 0}\n", "incremental.max_identity_share", "'0'"),
        ("incremental: {max_identity_share: 1.5}\n", "incremental.max_identity_share", "'1.5'"),
        ("incremental: {start_date: someday}\n", "incremental.start_date", "'someday'"),
        ("incremental: {start_date: 1800-01-01}\n", "incremental.start_date", "from 1900-01-01 to 2999-12-31"),
        ("incremental: {lookback: 3}\n", "incremental.lookback", "did you mean 'lookback_days'?"),
        ("models: {refit_every_days: 0}\n", "models.refit_every_days", "'0'"),
        ("scale: {shards: 0}\n", "scale.shards", "'0'"),
        ("scale: {shards: 257}\n", "scale.shards", "'257'"),
        ("scale: {executor: k8s}\n", "scale.executor", "'k8s'"),
        ("scale: {max_concurrent_shards: 0}\n", "scale.max_concurrent_shards", "'0'"),
    ],
)
def test_each_bad_value_is_named_with_its_key(tmp_path, text, key, value):
    path = write(tmp_path, MINIMAL + f"warehouse: {PG}\n" + text)
    message = error_of(path)
    assert str(path) in message
    assert f"'{key}'" in message
    assert value in message


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("scale: {shards: 4}\n", "scale.shards", "(value '4')"),
        ("scale: {executor: multiprocess}\n", "scale.executor", "(value 'multiprocess')"),
        ("scale: {executor: celery}\n", "scale.executor", "(value 'celery')"),
    ],
)
def test_duckdb_refuses_shards_and_parallel_executors(tmp_path, text, key, value):
    path = write(tmp_path, MINIMAL + text)
    message = error_of(path)
    assert f"{path}: key '{key}': a DuckDB warehouse is one file with a single writer" in message
    assert value in message
    # the same settings are fine on a server warehouse, also when it comes from the environment
    assert load_config(path, environ={WAREHOUSE_URL_ENV: PG}).scale.shards >= 1


def test_a_duckdb_url_from_the_environment_is_checked_too(tmp_path):
    path = write(tmp_path, MINIMAL + f"warehouse: {PG}\nscale: {{shards: 2, executor: celery}}\n")
    message = error_of(path, environ={WAREHOUSE_URL_ENV: "duckdb:///w.duckdb"})
    assert "key 'scale.shards'" in message and "key 'scale.executor'" in message
