"""A daily schedule reruns the whole graph: the second run succeeds on DuckDB and PostgreSQL with the
same keys and scores as the first (on DuckDB after a `cxdata run` killed with kill -9 before it), every table
and view stays readable with no staging table left, and both backends agree."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from ..conftest import KILLED_AT, RERUNS


def _assert_same(first: dict[str, pl.DataFrame], other: dict[str, pl.DataFrame], what: str) -> None:
    for name in first:
        try:
            assert_frame_equal(first[name], other[name], check_exact=False, rel_tol=0, abs_tol=1e-9)
        except AssertionError as exc:
            raise AssertionError(f"{what}: {name} differs: {exc}") from None


def _assert_reruns_agree(run, backend: str) -> None:
    assert run.outcome.success, run.outcome.failures
    assert len(run.answers) == RERUNS
    assert run.broken == [[]] * RERUNS
    assert run.answers[0]["scores"]["segment"].null_count() == 0  # churn ran, so the whole set is compared
    for number, answers in enumerate(run.answers[1:], start=2):
        _assert_same(run.answers[0], answers, f"{backend} run {number}")
    # the models fit once: the reruns at the same as_of score with the first run's fit (cxdata/model_store.py)
    # and keep the first run's touchpoint figures
    from cxdata.warehouse import Warehouse

    with Warehouse(run.url, run.schema) as wh:
        runs = wh.read("model_runs", columns=["kind", "mode", "fitted_run_id", "trained_at", "run_id"])
    for kind, between in (("clv", "score"), ("churn", "score"), ("touchpoints", "kept")):
        rows = runs.filter(pl.col("kind") == kind).sort("trained_at")
        assert rows["mode"].to_list() == ["fit"] + [between] * (RERUNS - 1), (kind, rows)
        assert set(rows["fitted_run_id"]) == {f"{rows['run_id'][0]}/{kind}"}


def test_reruns_on_duckdb_after_kills_give_the_same_keys_and_scores(materialised_on_duckdb):
    run = materialised_on_duckdb
    # each kill hit its crash point (SIGKILL) and left every relation readable and no staging table
    assert run.killed == [(point, -9, []) for point in KILLED_AT]
    _assert_reruns_agree(run, "duckdb")


def test_reruns_on_postgresql_give_the_same_keys_and_scores(materialised_on_postgresql):
    _assert_reruns_agree(materialised_on_postgresql, "postgresql")


def test_postgresql_and_duckdb_give_the_same_keys_and_scores(materialised_on_postgresql, materialised_on_duckdb):
    _assert_same(materialised_on_duckdb.answers[0], materialised_on_postgresql.answers[0], "postgresql vs duckdb")


def test_a_rerun_at_the_same_moment_adds_no_history_copy(materialised_on_duckdb):
    from cxdata.warehouse import Warehouse

    with Warehouse(materialised_on_duckdb.url) as wh:
        history = wh.read("customer_scores_history", columns=["customer_key", "as_of"])
    assert history.height == materialised_on_duckdb.answers[0]["scores"].height
