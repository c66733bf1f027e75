"""A daily schedule reruns the whole graph: the second and third runs succeed on DuckDB and PostgreSQL with the
same keys and scores as the first, leave every table and view readable, and both backends agree."""

from __future__ import annotations

import uuid

import polars as pl
import pytest
import sqlalchemy as sa
from polars.testing import assert_frame_equal

from cxdata.config import WAREHOUSE_SCHEMA_ENV, WAREHOUSE_URL_ENV, load_config
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse
from cxdata.warehouse.identifiers import STAGING_PREFIX
from pipelines.runner import run_project

RUNS = 3
SCORE_COLUMNS = ["customer_key", "p_alive", "expected_purchases", "clv", "churn_probability", "value_at_risk"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    # a seed and size no other test uses, so nothing here was tuned on it
    return generate_project(tmp_path_factory.mktemp("reruns"), SynthParams(customers=250, seed=61))


def _answers(wh: Warehouse) -> dict[str, pl.DataFrame]:
    """What a rerun must reproduce: every record's key and every customer's scores and segment."""
    return {
        "keys": wh.read("identity_record_keys", columns=["source_table", "record_id", "customer_key"]).sort(
            "source_table", "record_id"
        ),
        "scores": wh.read("customer_scores", columns=[*SCORE_COLUMNS, "segment"]).sort("customer_key"),
        "dim_customer": wh.read("dim_customer", columns=["customer_key"]).sort("customer_key"),
    }


def _unreadable(wh: Warehouse) -> list[str]:
    """Every table and view of the schema that a plain select fails on, and any staging table left."""
    names = wh.query(
        "select table_name from information_schema.tables where table_schema = :schema", {"schema": wh.schema}
    )["table_name"].to_list()
    broken = [name for name in names if name.startswith(STAGING_PREFIX)]
    for name in names:
        try:
            wh.query(f'select * from "{name}" limit 1')
        except Exception as exc:  # any error is a broken relation; the list names it
            broken.append(f"{name}: {exc}")
    return broken


def _run_repeatedly(project, monkeypatch, url: str, schema: str | None) -> list[dict[str, pl.DataFrame]]:
    monkeypatch.setenv(WAREHOUSE_URL_ENV, url)
    if schema:
        monkeypatch.setenv(WAREHOUSE_SCHEMA_ENV, schema)
    answers = []
    for run in range(RUNS):
        outcome = run_project(load_config(project.config_path))
        assert outcome.success, (run, outcome.failures)
        with Warehouse(url, schema) as wh:
            assert _unreadable(wh) == [], run
            answers.append(_answers(wh))
            history = wh.read("customer_scores_history", columns=["customer_key", "as_of"])
    # every rerun at the same moment replaced that moment's history instead of adding a copy
    assert history.height == answers[0]["scores"].height
    return answers


def _assert_same(first: dict[str, pl.DataFrame], other: dict[str, pl.DataFrame], what: str) -> None:
    for name in first:
        try:
            assert_frame_equal(first[name], other[name], check_exact=False, rel_tol=0, abs_tol=1e-9)
        except AssertionError as exc:
            raise AssertionError(f"{what}: {name} differs: {exc}") from None


@pytest.fixture(scope="module")
def duckdb_answers(project, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("dagster_home")))
        url = f"duckdb:///{tmp_path_factory.mktemp('wh') / 'warehouse.duckdb'}"
        return _run_repeatedly(project, patch, url, None)


@pytest.mark.slow
def test_reruns_on_duckdb_give_the_same_keys_and_scores(duckdb_answers):
    assert duckdb_answers[0]["scores"]["segment"].null_count() == 0  # churn ran, so the whole set is compared
    for run, answers in enumerate(duckdb_answers[1:], start=2):
        _assert_same(duckdb_answers[0], answers, f"duckdb run {run}")


@pytest.mark.slow
def test_reruns_on_postgresql_match_each_other_and_duckdb(project, pg_server, duckdb_answers, tmp_path):
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with pytest.MonkeyPatch.context() as patch:
            (tmp_path / "dagster_home").mkdir()
            patch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
            answers = _run_repeatedly(project, patch, pg_server, schema)
    finally:
        engine = sa.create_engine(pg_server)
        with engine.begin() as conn:
            conn.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
        engine.dispose()
    for run, found in enumerate(answers[1:], start=2):
        _assert_same(answers[0], found, f"postgresql run {run}")
    _assert_same(duckdb_answers[0], answers[0], "postgresql against duckdb")
