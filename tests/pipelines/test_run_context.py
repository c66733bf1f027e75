"""One run, one moment: every table a run writes with an as_of column holds that run's run_context.as_of, and
every moment it records (loads, checks, trained models, alerts) is the run's start, on DuckDB and PostgreSQL;
without as_of in the config the moment is the end of the last staged event day in the project's zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl

from cxdata.run_context import TABLE, end_of_day
from cxdata.synth import SynthParams
from cxdata.warehouse import Warehouse
from cxdata.warehouse.views import MART_VIEWS

from ..conftest import KILLED_AT, RERUNS

# the tables a whole-graph run of the generated project writes with an as_of column: every one must be found
AS_OF_TABLES = {
    "dim_customer",
    "dim_customer_params",
    "customer_activity_builds",
    "customer_rfm",
    "customer_scores",
    "customer_scores_history",
    "model_runs",
    "segment_members",
    "segment_summary",
    "segment_events",
    "segment_scorings",
    "sync_runs",
    "touchpoint_scores",
    "touchpoint_scores_history",
    "cx_alerts",
    TABLE,
}
# the tables recording when something happened in a run, and the column saying when
STARTED_AT = {
    "load_audit": "loaded_at",
    "validation_runs": "checked_at",
    "model_runs": "trained_at",
    "cx_alerts": "created_at",
}


def _run_of(frame: pl.DataFrame, last_run: str) -> pl.Expr:
    """Which run wrote each row: its run_id, else the run part of its model_run_id; a table with neither is
    replaced on every run, so its rows are the last run's."""
    if "run_id" in frame.columns:
        return pl.col("run_id")
    if "model_run_id" in frame.columns:
        return pl.col("model_run_id").str.split("/").list.first()
    return pl.lit(last_run)


def moments_by_run(url: str, schema: str | None) -> tuple[pl.DataFrame, dict[str, dict[str, set]]]:
    """run_context, and per table with an as_of column (or a STARTED_AT moment) the distinct values per run."""
    found: dict[str, dict[str, set]] = {}
    with Warehouse(url, schema=schema) as wh:
        contexts = wh.read(TABLE)
        last_run = contexts.sort("started_at")["run_id"][-1]
        # dim_customer is a view (MART_VIEWS) standing for the table it was
        for table in [*wh.tables(), *(view for view in MART_VIEWS if wh.exists(view))]:
            columns = wh.columns(table)
            wanted = [c for c in ("as_of", STARTED_AT.get(table)) if c in columns]
            if not wanted:
                continue
            frame = wh.read(table)
            runs = frame.with_columns(_run_of(frame, last_run).alias("__run"))
            for column in wanted:
                grouped = runs.group_by("__run").agg(pl.col(column).unique())
                found[f"{table}.{column}"] = {run: set(values) for run, values in grouped.iter_rows()}
    return contexts, found


def assert_one_moment_per_run(url: str, schema: str | None) -> pl.DataFrame:
    contexts, found = moments_by_run(url, schema)
    as_of = dict(zip(contexts["run_id"], contexts["as_of"], strict=True))
    started = dict(zip(contexts["run_id"], contexts["started_at"], strict=True))
    assert contexts["run_id"].n_unique() == contexts.height  # one context per run
    assert {key.split(".")[0] for key in found if key.endswith(".as_of")} == AS_OF_TABLES
    # a run that died before any step needed its as_of (in staging or its checks) has no context, and no row
    # with an as_of: only its loads and checks, which carry its start
    unresolved = {run for by_run in found.values() for run in by_run} - set(as_of)
    assert not unresolved & {run for key, by_run in found.items() if key.endswith(".as_of") for run in by_run}
    for key, by_run in found.items():
        column = key.split(".")[1]
        expected = as_of if column == "as_of" else started
        for run, values in by_run.items():
            if run in unresolved:
                assert key.split(".")[0] in {"load_audit", "validation_runs"} and len(values) == 1, (key, run)
                continue
            assert values == {expected[run]}, f"{key} of run {run}: {values} instead of {expected[run]}"
    # the last run wrote every table it describes (not only what an earlier run left)
    last = contexts.sort("started_at")["run_id"][-1]
    written = {key.split(".")[0] for key, by_run in found.items() if last in by_run}
    # a rerun within the refit cadence keeps the touchpoint figures: the run that computed them wrote them
    kept = {"touchpoint_scores", "touchpoint_scores_history"}
    assert AS_OF_TABLES - {"cx_alerts"} - kept <= written  # a rerun raises no alert its first run raised
    assert not kept & written
    with Warehouse(url, schema=schema) as wh:
        touchpoints = wh.read("model_runs", where={"run_id": last, "kind": "touchpoints"})
    assert touchpoints["mode"].to_list() == ["kept"]
    computed_by = touchpoints["fitted_run_id"][0].split("/")[0]
    assert all(set(found[f"{table}.as_of"]) == {computed_by} for table in kept)
    return contexts


def test_every_run_on_duckdb_writes_one_as_of_and_one_start(materialised_on_duckdb):
    run = materialised_on_duckdb
    assert run.outcome.success, run.outcome.failures
    contexts = assert_one_moment_per_run(run.url, run.schema)
    # the runs and the killed one (killed in identity, past the step that resolves the context) have a context;
    # the project's config names its as_of day
    assert contexts.height == RERUNS + len(KILLED_AT) and set(contexts["as_of_from"]) == {"config"}
    assert set(contexts["as_of"]) == {end_of_day(SynthParams().as_of, SynthParams().timezone)}
    assert run.outcome.run_id in set(contexts["run_id"])


def test_without_as_of_in_the_config_a_run_describes_the_end_of_its_last_event_day(
    materialised_on_postgresql, materialised_on_duckdb
):
    """The PostgreSQL runs read a copy of the project's config without its as_of line (tests/conftest.py)."""
    run = materialised_on_postgresql
    assert run.outcome.success, run.outcome.failures
    contexts = assert_one_moment_per_run(run.url, run.schema)
    assert contexts.height == RERUNS and run.outcome.run_id in set(contexts["run_id"])
    with Warehouse(run.url, run.schema) as wh:
        last = max(
            wh.read(table, columns=[column])[column].max()
            for table, column in (("stg_orders", "ordered_at"), ("stg_web_events", "occurred_at"))
        )
    # the generated events end on the generator's as_of day in Madrid, which ends two hours before UTC's
    day, zone = SynthParams().as_of, SynthParams().timezone
    assert last.astimezone(ZoneInfo(zone)).date() == day and zone == "Europe/Madrid"
    assert set(contexts["as_of_from"]) == {"events"}
    assert set(contexts["as_of"]) == {dt.datetime(day.year, day.month, day.day, 21, 59, 59, 999999, tzinfo=dt.UTC)}
    # the same moment the DuckDB runs took from the config
    with Warehouse(materialised_on_duckdb.url) as wh:
        assert set(wh.read(TABLE)["as_of"]) == set(contexts["as_of"])
