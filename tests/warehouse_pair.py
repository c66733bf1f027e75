"""Two warehouses of one backend for tests that compare a daily run with a full rebuild: the `two_warehouses`
fixture (registered by tests/conftest.py) yields (daily, rebuilt, copy), ``copy`` copying the first into the
second (a file copy on DuckDB, `copy_schema` on PostgreSQL); `lean_project` generates the project they run
and `run_on` runs it into one of them."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from cxdata.config import WAREHOUSE_SCHEMA_ENV, WAREHOUSE_URL_ENV, load_config
from cxdata.synth import SynthParams, generate_project
from cxdata.synth.writer import GeneratedProject
from cxdata.warehouse.snapshot import copy_schema
from pipelines.runner import RunOutcome, run_project
from tests.lean import lean


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


def lean_project(tmp_path, monkeypatch, customers: int, seed: int) -> GeneratedProject:
    """A generated project with the lean model settings (`tests.lean`), a Dagster home of its own, and no
    data-quality suites: they change no published row and are tested on the shared whole-graph runs, while
    they cost a quarter of each run's time here."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setattr("pipelines.checks.quality_specs", lambda config, tables: [])
    (tmp_path / "dagster_home").mkdir()
    project = generate_project(tmp_path / "project", SynthParams(customers=customers, seed=seed))
    lean(project.config_path)
    return project


def run_on(monkeypatch, config_path, side: Side, **options) -> RunOutcome:
    """`cxdata run`'s path (`run_project`, with ``options``) of the project at ``config_path`` into ``side``."""
    monkeypatch.setenv(WAREHOUSE_URL_ENV, side.url)
    if side.schema:
        monkeypatch.setenv(WAREHOUSE_SCHEMA_ENV, side.schema)
    outcome = run_project(load_config(config_path), **options)
    assert outcome.success, outcome.failures
    return outcome
