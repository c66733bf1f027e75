"""Touchpoints on the models' refit cadence (cxdata/model_store.py): a run within models.refit_every_days of the
last computation keeps touchpoint_scores as it was, adds no history and records a kept model run; a run past
the cadence, with another touchpoint config, forced, or finding touchpoint_scores no longer the computation's,
recomputes and says why."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cxdata import model_store
from cxdata.config import ProjectConfig
from cxdata.run_context import RunContext, end_of_day
from cxdata.synth import SynthParams, generate_project
from cxdata.touchpoints.step import TouchpointReport, touchpoint_step
from cxdata.warehouse import Warehouse

from .projects import person_tables, with_touchpoints

DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("touchpoint_cadence")
    generate_project(root, SynthParams(customers=500, seed=31))
    config, tables = person_tables(root)
    config = with_touchpoints(config, bootstrap_replicates=10)
    return config, tables, end_of_day(config.as_of, config.timezone)


def _run(run_id: str, as_of: dt.datetime, started_hours: int) -> RunContext:
    return RunContext(run_id, as_of, as_of + dt.timedelta(hours=started_hours))


def _every(config: ProjectConfig, days: int) -> ProjectConfig:
    return config.model_copy(update={"models": config.models.model_copy(update={"refit_every_days": days})})


def _computed(wh: Warehouse, config: ProjectConfig, tables: dict[str, pl.DataFrame], as_of: dt.datetime):
    """The project's tables published and a first touchpoint computation, run r1: its report."""
    for name, frame in tables.items():
        wh.publish(name, frame)
    return touchpoint_step(wh, config, _run("r1", as_of, 1))


def _state(wh: Warehouse) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """touchpoint_scores and its history in a stable order, and the touchpoint model runs by start."""
    scores = wh.read("touchpoint_scores").sort("touchpoint")
    history = wh.read("touchpoint_scores_history").sort("as_of", "touchpoint")
    runs = wh.read("model_runs", where={"kind": "touchpoints"}).sort("trained_at")
    return scores, history, runs


def test_a_run_within_the_cadence_keeps_the_scores_and_adds_no_history(project, warehouse_target):
    config, tables, as_of = project
    url, schema = warehouse_target
    with Warehouse(url, schema=schema) as wh:
        first = _computed(wh, config, tables, as_of)
        before = _state(wh)
        # inputs that would change every figure: half the touches and double the costs
        wh.publish("fct_touches", tables["fct_touches"].gather_every(2))
        wh.publish("stg_touchpoint_costs", tables["stg_touchpoint_costs"].with_columns(pl.col("cost") * 2))
        kept = touchpoint_step(wh, config, _run("r2", as_of + 2 * DAY, 50))
        scores, history, runs = _state(wh)
        artifacts = wh.read(model_store.TABLE, columns=["model_run_id", "kind"])
    assert first.mode == "fit" and first.fitted_run_id == "r1/touchpoints" and first.failed is None
    assert_frame_equal(scores, before[0], check_exact=True)
    assert_frame_equal(history, before[1], check_exact=True)
    assert set(scores["model_run_id"]) == {"r1/touchpoints"} and set(scores["as_of"]) == {as_of}
    fit, row = runs.row(0, named=True), runs.row(1, named=True)
    assert runs["mode"].to_list() == ["fit", "kept"]
    assert (row["model_run_id"], row["fitted_run_id"], row["status"]) == ("r2/touchpoints", "r1/touchpoints", "ok")
    assert row["mode_reason"] == "the figures of r1/touchpoints, 2 days old (refit every 7 days)"
    assert row["as_of"] == as_of + 2 * DAY and row["trained_at"] == as_of + 2 * DAY + dt.timedelta(hours=50)
    # what the figures rest on is the computation's, carried: estimates, config, data window, counts
    for column in ("params_json", "config_json", "model", "data_first_order", "data_last_order", "n_orders"):
        assert row[column] == fit[column], column
    assert artifacts.to_dicts() == [{"model_run_id": "r1/touchpoints", "kind": "touchpoints"}]
    # the report shows the computation's figures and says it kept them
    assert (kept.mode, kept.fitted_run_id, kept.model_run_id) == ("kept", "r1/touchpoints", "r2/touchpoints")
    assert kept.as_of == as_of and kept.mode_reason == row["mode_reason"]
    assert_frame_equal(kept.scores.sort("touchpoint"), first.scores.sort("touchpoint"), check_exact=True)
    assert kept.plots == first.plots and kept.plots["roi"][:4] == b"\x89PNG"
    assert_frame_equal(kept.attribution, first.attribution, check_exact=True)
    assert kept.warnings == first.warnings and kept.late_share == first.late_share


@pytest.mark.parametrize(
    ("every_days", "later", "mode"),
    [(7, 6, "kept"), (7, 7, "fit"), (1, 1, "fit"), (1, 0, "kept")],
    ids=["7_days_6_later", "7_days_7_later", "1_day_1_later", "1_day_same_moment"],
)
def test_a_run_past_the_cadence_recomputes(project, tmp_path, every_days, later, mode):
    config, tables, as_of = project
    config = _every(config, every_days)
    with Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        _computed(wh, config, tables, as_of)
        first = _state(wh)
        report = touchpoint_step(wh, config, _run("r2", as_of + later * DAY, 30))
        scores, history, runs = _state(wh)
    reason = runs["mode_reason"][-1]
    assert runs["mode"].to_list() == ["fit", mode] and report.mode == mode
    if mode == "kept":
        assert reason == f"the figures of r1/touchpoints, {later} days old (refit every {every_days} days)"
        assert_frame_equal(scores, first[0], check_exact=True)
        assert_frame_equal(history, first[1], check_exact=True)
        return
    assert reason == f"the last fit r1/touchpoints is {later} days old (refit every {every_days} days)"
    assert set(scores["model_run_id"]) == {"r2/touchpoints"} and set(scores["as_of"]) == {as_of + later * DAY}
    # the history of computations: both, each under its own moment
    by_moment = history.group_by("as_of").agg(pl.col("model_run_id").unique().first(), pl.len()).sort("as_of")
    assert by_moment["model_run_id"].to_list() == ["r1/touchpoints", "r2/touchpoints"]
    assert by_moment["len"].to_list() == [first[0].height, scores.height]
    assert runs["fitted_run_id"].to_list() == ["r1/touchpoints", "r2/touchpoints"]


def test_a_config_change_a_forced_refit_or_replaced_scores_recompute(project, tmp_path):
    config, tables, as_of = project
    with Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        _computed(wh, config, tables, as_of)
        stricter = with_touchpoints(config, hurdle=1.7)
        touchpoint_step(wh, stricter, _run("r2", as_of, 2))
        changed = wh.read("touchpoint_scores")
        touchpoint_step(wh, stricter, _run("r3", as_of, 3), refit=True)
        # touchpoint_scores replaced by something else (a restore, a hand edit): kept figures would not be r3's
        wh.publish("touchpoint_scores", changed.with_columns(pl.lit("elsewhere").alias("model_run_id")))
        touchpoint_step(wh, stricter, _run("r4", as_of, 4))
        touchpoint_step(wh, stricter, _run("r5", as_of, 5))
        _, history, runs = _state(wh)
    assert runs["mode"].to_list() == ["fit", "fit", "fit", "fit", "kept"]
    assert runs["mode_reason"].to_list() == [
        "no usable touchpoints fit yet",
        "the touchpoints config differs from the last fit r1/touchpoints's",
        "refit forced",
        "touchpoint_scores does not hold the figures of the last computation r3/touchpoints",
        "the figures of r4/touchpoints, 0 days old (refit every 7 days)",
    ]
    assert set(changed["model_run_id"]) == {"r2/touchpoints"} and set(changed["hurdle"]) == {1.7}
    assert json.loads(runs["config_json"][1])["hurdle"] == 1.7
    # one moment: each computation replaced the history rows of the one before
    assert set(history["model_run_id"]) == {"r4/touchpoints"} and history.height == changed.height


def test_an_unusable_stored_computation_recomputes(project, tmp_path):
    config, tables, as_of = project
    with Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        _computed(wh, config, tables, as_of)
        stored = wh.read(model_store.TABLE)
        assert isinstance(model_store.load(wh, "r1/touchpoints", "touchpoints"), TouchpointReport)
        wh.publish(model_store.TABLE, stored.with_columns(pl.col("payload").bin.slice(1)))
        report = touchpoint_step(wh, config, _run("r2", as_of + DAY, 30))
    assert report.mode == "fit" and report.mode_reason == (
        "the stored touchpoints model of r1/touchpoints is unusable: "
        "its bytes do not match the stored sha256 and length"
    )
