"""Customer shards on Dagster's executors, on PostgreSQL (a DuckDB file takes one writer, so no shards there).

A generated project runs whole in one schema with one shard (`pipelines.runner.run_project`, in process).
Its fitted models are then deleted, so the next value and touchpoint runs fit again, and the schema is copied.
The original reruns the value and touchpoint assets with one shard, in process; each copy reruns them in
shards, as graphs of steps (`pipelines.value_shards`, `pipelines.touchpoint_shards`):

- three shards on the multiprocess executor, the path `cxdata run` takes when the project names shards (the
  touchpoint asset);
- two shards on two real celery workers over Redis (the value asset).

Each asset's graph runs on one executor: both executors run any graph's steps the same way (a process per step,
outputs through the warehouse), and a step costs seconds to start, so both assets on both would double the
module's time for no path of its own.

Both copies must publish what the original does (`cxdata.warehouse.compare`: keys and text exactly, floats
within 1e-9 of their column's largest value, the sums of the shards being added in another order), every shard
step must have run in a process of its own, and the steps' handoffs must be gone from the warehouse.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from cxdata.config import WAREHOUSE_SCHEMA_ENV, WAREHOUSE_URL_ENV, load_config
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse
from cxdata.warehouse.compare import compare_warehouses
from cxdata.warehouse.snapshot import copy_schema
from pipelines import touchpoints, value
from pipelines.definitions import build_definitions
from pipelines.executors import CELERY_BACKEND_ENV, CELERY_BROKER_ENV
from pipelines.phases import BUILD_JOB, run_phases
from pipelines.run import RUN_TAG
from pipelines.runner import instance_for, run_project
from tests.celery_workers import celery_workers, redis_server
from tests.lean import lean

CUSTOMERS, SEED = 300, 13
SHARDED = ("score_customer_value", "score_touchpoints")
SHARDED_TABLES = {"customer_rfm", "customer_scores", "segment_members", "touchpoint_scores"}
pytestmark = pytest.mark.xdist_group("shards")


@dataclass(frozen=True)
class Project:
    """The generated project, the schema of its one-shard rerun, and how to copy the state before the rerun."""

    url: str
    folder: Path
    original: str
    before: str  # the state every rerun starts from: the whole run, its fitted models deleted


@pytest.fixture(scope="module")
def project(pg_server, tmp_path_factory) -> Iterator[Project]:
    folder = tmp_path_factory.mktemp("shards")
    generated = generate_project(folder / "project", SynthParams(customers=CUSTOMERS, seed=SEED))
    lean(generated.config_path, scale={"shards": 1})
    schemas = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    engine = sa.create_engine(pg_server)
    home = folder / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(home))
        patch.setenv(WAREHOUSE_URL_ENV, pg_server)
        patch.setenv(WAREHOUSE_SCHEMA_ENV, schemas[1])
        outcome = run_project(load_config(generated.config_path))
    try:
        assert outcome.success, outcome.failures
        with engine.begin() as conn:
            conn.execute(sa.text(f'delete from "{schemas[1]}".model_artifacts'))
        copy_schema(pg_server, schemas[1], schemas[0])
        yield Project(pg_server, generated.config_path.parent, schemas[0], schemas[1])
    finally:
        with engine.begin() as conn:
            for schema in schemas:
                conn.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
        engine.dispose()


def _rerun(
    project: Project, schema: str, monkeypatch, steps: tuple[str, ...] = SHARDED, **scale
) -> dg.JobExecutionResult:
    """The assets of ``steps`` (the value and touchpoint ones; with their checks) rerun on ``schema`` under
    ``scale``."""
    config_path = project.folder / "cxdata.yaml"
    lean(config_path, scale=scale)
    monkeypatch.setenv(WAREHOUSE_URL_ENV, project.url)
    monkeypatch.setenv(WAREHOUSE_SCHEMA_ENV, schema)
    config = load_config(config_path)
    defs = build_definitions(config)
    keys = [key for key in defs.resolve_asset_graph().get_all_asset_keys() if _in(defs, key, steps)]
    with instance_for(config) as instance:
        results = run_phases(defs, config, instance, {RUN_TAG: str(uuid.uuid4())}, build=keys)
    result = results[BUILD_JOB]
    assert result.success, [event.message for event in result.all_events if event.is_step_failure]
    return result


def _in(defs: dg.Definitions, key: dg.AssetKey, steps: tuple[str, ...]) -> bool:
    node = defs.resolve_asset_graph().get(key)
    return node.is_materializable and node.assets_def.node_def.name in steps


def _step_pids(result: dg.JobExecutionResult) -> dict[str, int]:
    return {event.step_key: event.pid for event in result.all_events if event.event_type_value == "STEP_START"}


def _copy(project: Project) -> str:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    copy_schema(project.url, project.before, schema)
    return schema


@pytest.fixture(scope="module")
def unsharded(project) -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(project.folder.parent / "dagster_home"))
        _rerun(project, project.original, patch, shards=1)
    return project.original


def _drop(project: Project, schema: str) -> None:
    engine = sa.create_engine(project.url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
    engine.dispose()


def _assert_equal_to_unsharded(
    project: Project, unsharded: str, schema: str, tables: set[str] | None = None
) -> None:
    """The warehouses hold the same rows (only in ``tables``, when given) and the handoffs are gone."""
    verdicts = compare_warehouses(project.url, project.url, unsharded, schema, relative=1e-9)
    verdicts = [v for v in verdicts if tables is None or v.table in tables]
    differing = {v.table: v.difference for v in verdicts if not v.equal}
    assert not differing
    assert {v.table for v in verdicts if v.rows} >= SHARDED_TABLES & (tables or SHARDED_TABLES)
    with Warehouse(project.url, schema) as wh:
        assert not wh.exists("shard_handoffs") or wh.row_count("shard_handoffs") == 0


def test_three_shards_in_processes_equal_one(project, unsharded, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(project.folder.parent / "dagster_home"))
    schema = _copy(project)
    try:
        result = _rerun(project, schema, monkeypatch, ("score_touchpoints",), shards=3, executor="multiprocess")
        pids = _step_pids(result)
        shard_steps = {step for step in pids if re.search(r"_s\d+$", step)}
        assert len(shard_steps) == 6  # touchpoint summary and partial, per shard
        assert len(set(pids.values())) == len(pids) and os.getpid() not in pids.values()
        _assert_equal_to_unsharded(project, unsharded, schema, set(touchpoints.OUTPUTS))
    finally:
        _drop(project, schema)


# dagster_celery registers its task on the executor's app once per step submitted
@pytest.mark.filterwarnings("ignore:Task name 'execute_plan' is already registered")
def test_two_shards_on_celery_workers_equal_one(project, unsharded, monkeypatch, tmp_path):
    home = project.folder.parent / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    url = redis_server()
    monkeypatch.setenv(CELERY_BROKER_ENV, url)
    monkeypatch.setenv(CELERY_BACKEND_ENV, url)
    schema = _copy(project)
    env = {WAREHOUSE_URL_ENV: project.url, WAREHOUSE_SCHEMA_ENV: schema}
    try:
        with celery_workers(2, home, tmp_path / "workers", env=env):
            result = _rerun(project, schema, monkeypatch, ("score_customer_value",), shards=2, executor="celery")
        pids = _step_pids(result)
        assert {"score_customer_value.value_scores_s0", "score_customer_value.value_scores_s1"} <= set(pids)
        assert os.getpid() not in pids.values()
        _assert_equal_to_unsharded(project, unsharded, schema, set(value.OUTPUTS))
    finally:
        _drop(project, schema)
