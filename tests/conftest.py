"""Shared fixtures: a DuckDB file per test, a PostgreSQL schema per test, one whole-graph run on PostgreSQL.

PostgreSQL tests skip when no server answers, except under ``CI=true`` where an
unreachable server is a failure: CI must prove the production warehouse works.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

PG_URL = os.environ.get("CXDATA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_reachable() -> str | None:
    engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        return None
    except Exception as exc:  # any driver error means "no server here"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The PostgreSQL URL, or a skip (a failure under CI=true) when nothing answers."""
    problem = _pg_reachable()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL at {PG_URL} is unreachable under CI=true: {problem}")
        pytest.skip(f"no PostgreSQL server at {PG_URL}: {problem}")
    return PG_URL


@pytest.fixture
def pg_schema(pg_server: str):
    """A fresh schema for one test, dropped afterwards; yields (url, schema)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(pg_server)
    with engine.begin() as conn:
        conn.execute(sa.text(f'create schema "{schema}"'))
    try:
        yield pg_server, schema
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
        engine.dispose()


@pytest.fixture
def duckdb_url(tmp_path) -> str:
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_target(request, tmp_path):
    """(url, schema) for each warehouse backend; tests using it run on both."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}", None
    return request.getfixturevalue("pg_schema")


@dataclass(frozen=True)
class MaterialisedRun:
    """A small synthetic project materialised end to end by `pipelines.runner.run_project`."""

    project: object  # cxdata.synth.GeneratedProject
    url: str
    schema: str | None
    outcome: object  # pipelines.runner.RunOutcome


@pytest.fixture(scope="session")
def materialised_on_postgresql(pg_server: str, tmp_path_factory) -> Iterator[MaterialisedRun]:
    """Every asset of a 300-customer project (seed 7) materialised once on PostgreSQL, in a schema of its own.

    The whole graph takes tens of seconds: tests that only read what a real run published share this one.
    """
    from cxdata.config import WAREHOUSE_SCHEMA_ENV, WAREHOUSE_URL_ENV, load_config
    from cxdata.synth import SynthParams, generate_project
    from pipelines.runner import run_project

    project = generate_project(tmp_path_factory.mktemp("project"), SynthParams(customers=300, seed=7))
    db_schema = f"t_{uuid.uuid4().hex[:12]}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(WAREHOUSE_URL_ENV, pg_server)
        patch.setenv(WAREHOUSE_SCHEMA_ENV, db_schema)
        patch.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("dagster_home")))
        outcome = run_project(load_config(project.config_path))
    try:
        yield MaterialisedRun(project, pg_server, db_schema, outcome)
    finally:
        engine = sa.create_engine(pg_server)
        with engine.begin() as conn:
            conn.execute(sa.text(f'drop schema if exists "{db_schema}" cascade'))
        engine.dispose()
