"""Two warehouses of one backend for tests that compare a daily run with a full rebuild: the `two_warehouses`
fixture (registered by tests/conftest.py) yields (daily, rebuilt, copy), ``copy`` copying the first into the
second (a file copy on DuckDB, `copy_schema` on PostgreSQL)."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from cxdata.warehouse.snapshot import copy_schema


@dataclass(frozen=True)
class Side:
    """One warehouse: a URL and its schema (None: the URL's default)."""

    url: str
    schema: str | None


@pytest.fixture(params=["duckdb", "postgresql"])
def two_warehouses(request, tmp_path):
    """(daily, rebuilt, copy): two warehouses of one backend, and how to copy the first into the second."""
    if request.param == "duckdb":
        daily, rebuilt = (tmp_path / "daily.duckdb", tmp_path / "rebuilt.duckdb")
        yield (
            Side(f"duckdb:///{daily}", None),
            Side(f"duckdb:///{rebuilt}", None),
            lambda: shutil.copyfile(daily, rebuilt),
        )
        return
    url = request.getfixturevalue("pg_server")  # fails under CI=true when no server answers
    schemas = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    engine = sa.create_engine(url)
    try:
        yield Side(url, schemas[0]), Side(url, schemas[1]), lambda: copy_schema(url, *schemas)
    finally:
        with engine.begin() as conn:
            for schema in schemas:
                conn.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
        engine.dispose()
