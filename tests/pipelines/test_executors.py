"""Executors by name: the warehouse's default, the three supported ones, and clear errors for the rest."""

from __future__ import annotations

import dagster as dg
import pytest

from cxdata.config import load_config
from pipelines.definitions import build_definitions
from pipelines.executors import CELERY_BACKEND_ENV, CELERY_BROKER_ENV, executor_def
from pipelines.sharding import SHARD_TAG


@pytest.mark.parametrize(
    ("name", "warehouse", "expected"),
    [
        (None, "duckdb", "in_process"),
        (None, "postgresql", "multiprocess"),
        ("in_process", "postgresql", "in_process"),
        ("multiprocess", "duckdb", "multiprocess"),
    ],
)
def test_names_and_defaults(name, warehouse, expected):
    assert executor_def(name, warehouse).name == expected


def test_processes_fork_from_a_preloaded_server_and_limit_shard_steps():
    executor = executor_def("multiprocess", "postgresql", shards_at_once=3)
    config = executor.config_schema.resolve_config({}).value["config"]
    preload = config["start_method"]["forkserver"]["preload_modules"]
    assert {"dagster", "great_expectations", "pipelines.definitions"} <= set(preload)
    assert config["tag_concurrency_limits"] == [{"key": SHARD_TAG, "limit": 3}]


def test_unknown_name_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown executor 'dask'.*in_process, multiprocess, celery"):
        executor_def("dask", "postgresql")


def test_celery_reads_broker_and_backend_from_the_environment(monkeypatch):
    monkeypatch.setenv(CELERY_BROKER_ENV, "redis://broker:6379/0")
    monkeypatch.setenv(CELERY_BACKEND_ENV, "redis://backend:6379/1")
    celery = executor_def("celery", "postgresql")
    assert celery.name == "celery"
    config = celery.config_schema.resolve_config({}).value["config"]
    assert (config["broker"], config["backend"]) == ("redis://broker:6379/0", "redis://backend:6379/1")


@pytest.mark.parametrize(
    ("present", "missing"), [(None, CELERY_BROKER_ENV), (CELERY_BROKER_ENV, CELERY_BACKEND_ENV)]
)
def test_celery_without_its_environment_names_the_missing_variable(monkeypatch, present, missing):
    monkeypatch.delenv(CELERY_BROKER_ENV, raising=False)
    monkeypatch.delenv(CELERY_BACKEND_ENV, raising=False)
    if present:
        monkeypatch.setenv(present, "redis://127.0.0.1:6379/0")
    with pytest.raises(ValueError, match=missing):
        executor_def("celery", "postgresql")


def test_the_config_names_the_executor_of_the_definitions(tmp_path):
    (tmp_path / "orders.csv").write_text("order_id,ordered_at,amount\no1,2024-01-01,1\n", encoding="utf-8")
    (tmp_path / "cxdata.yaml").write_text(
        "name: e\nwarehouse: postgresql+psycopg://u@127.0.0.1:5432/db\nscale: {executor: in_process}\n"
        "sources:\n  orders: {path: orders.csv}\n",
        encoding="utf-8",
    )
    config = load_config(tmp_path / "cxdata.yaml", environ={})
    defs = build_definitions(config)
    assert defs.resolve_implicit_global_asset_job_def().executor_def is dg.in_process_executor
