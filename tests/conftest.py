"""Shared fixtures: a DuckDB file per test and a PostgreSQL schema per test.

PostgreSQL tests skip when no server answers, except under ``CI=true`` where an
unreachable server is a failure: CI must prove the production warehouse works.
"""

from __future__ import annotations

import os
import uuid

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
