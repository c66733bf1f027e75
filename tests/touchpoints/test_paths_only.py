"""Attribution on paths alone: a project with touches and one order per customer runs through `cxdata run`.

No CLV model can be fitted without repeat purchases: the run still succeeds,
reports the failed CLV check, skips only what reads CLV (the BI views over the
scores and segments among them), still writes bi_touchpoint_investment and the
report, and publishes the Markov credit of the exact absorbing chain, recomputed here with dense matrix
algebra on the raw transition counts (repeats kept as self-loops, where the
step merges them: the removal effects must agree either way).
"""

from __future__ import annotations

import itertools
import json
import logging

import numpy as np
import polars as pl
import pytest

from cxdata.cli import main
from cxdata.config import load_config
from cxdata.report import default_path
from cxdata.warehouse import Warehouse
from pipelines.definitions import build_definitions
from pipelines.runner import run_project

from .paths_only import CHANNELS, build_paths_project

# what reads CLV: the scores and segments themselves and the views over them; the other views and the report run
NEEDS_CLV = {
    "customer_scores",
    "customer_scores_history",
    "segment_members",
    "segment_summary",
    "bi_customer_overview",
    "bi_segments",
    "segment_definitions",
    "marketing_segment_export",
    # the membership history replays the segments, and its view reads it
    "segment_membership",
    "segment_events",
    "segment_scorings",
    "bi_segment_membership",
}


@pytest.fixture(scope="module")
def paths_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("paths_only")
    project = build_paths_project(root / "project")
    config = load_config(project.config_path)
    with pytest.MonkeyPatch.context() as patch:
        (root / "dagster_home").mkdir()
        patch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        # the data-quality suites are tested elsewhere and take most of a run's time; every asset still runs
        patch.setattr("pipelines.checks.quality_specs", lambda config, tables: [])
        heard: list[tuple[str, str]] = []
        outcome = run_project(config, on_step=lambda step, event: heard.append((step, event)))
    with Warehouse(config.warehouse) as wh:
        scores = wh.read("touchpoint_scores")
        runs = wh.read("model_runs")
        has_scores = wh.exists("customer_scores")
        investment = wh.read("bi_touchpoint_investment")
    graph = build_definitions(config).resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.materializable_asset_keys}  # not the observable raw_ sources
    return project, outcome, heard, scores, runs, has_scores, keys, investment


def test_the_run_succeeds_and_reports_the_clv_check(paths_run):
    _, outcome, heard, scores, runs, has_scores, keys, _ = paths_run
    assert outcome.success, outcome.failures
    assert list(outcome.failed_checks) == ["customer_scores:clv_model_usable"]
    assert outcome.failed_checks["customer_scores:clv_model_usable"].startswith("no CLV model: ")
    assert [event for _, event in heard].count("check failed") == 1
    assert set(outcome.not_materialised) == NEEDS_CLV & keys and not has_scores
    assert set(outcome.materialised) == keys - NEEDS_CLV
    assert {"touchpoint_scores", "customer_rfm", "bi_touchpoint_investment", "bi_kpis_daily", "cx_report"} <= set(
        outcome.materialised
    )
    by_kind = {row["kind"]: row for row in runs.iter_rows(named=True)}
    assert by_kind["clv"]["status"] == "failed" and by_kind["touchpoints"]["status"] == "ok"
    reason = "customer_scores does not exist: attributed CLV is null"
    assert reason in by_kind["touchpoints"]["warnings"]
    assert scores["attributed_clv"].null_count() == scores.height == len(CHANNELS)


def test_markov_credit_is_the_absorbing_chain_removal_effect(paths_run):
    project, _, _, scores, _, _, _, _ = paths_run
    effect, conversions = absorbing_chain_credit(project.paths)
    published = scores.sort("touchpoint")
    assert published["touchpoint"].to_list() == sorted(CHANNELS)
    np.testing.assert_allclose(published["removal_effect"].to_numpy(), effect, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(published["conversions"].to_numpy(), conversions, rtol=1e-9)


def test_first_and_last_touch_credit_count_the_paths(paths_run):
    project, _, _, _, runs, _, _, _ = paths_run
    params = json.loads(runs.filter(pl.col("kind") == "touchpoints")["params_json"][0])
    credit = pl.DataFrame(params["attribution"]).filter(pl.col("touchpoint").is_not_null())
    converted = project.paths.filter("converted")
    for model, end in (("first_touch", pl.col("path").list.first()), ("last_touch", pl.col("path").list.last())):
        counted = converted.group_by(end.alias("touchpoint")).len()
        got = credit.filter(pl.col("model") == model).join(counted, on="touchpoint", how="left")
        assert got["conversions"].to_list() == got["len"].fill_null(0).cast(pl.Float64).to_list(), model
    assert credit.filter(pl.col("model") == "shapley")["conversions"].sum() == pytest.approx(converted.height)


def absorbing_chain_credit(paths: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Removal effect of each channel (sorted) and its credited conversions, from the raw paths: states start,
    the channels, conversion, null; N = (I - Q)^-1 and P(conversion) = (N R)[start, conversion]."""
    names = sorted(CHANNELS)
    k = len(names)
    start, conversion, null = 0, k + 1, k + 2
    counts = np.zeros((k + 3, k + 3))
    for path, converted in paths.select("path", "converted").iter_rows():
        states = [start, *(names.index(c) + 1 for c in path), conversion if converted else null]
        for a, b in itertools.pairwise(states):
            counts[a, b] += 1
    transient = k + 1
    p = counts[:transient] / counts[:transient].sum(axis=1, keepdims=True)

    def p_conversion(matrix: np.ndarray) -> float:
        q, r = matrix[:, :transient], matrix[:, transient:]
        fundamental = np.linalg.inv(np.eye(transient) - q)
        return float((fundamental @ r)[start, 0])

    baseline = p_conversion(p)
    effect = np.empty(k)
    for i in range(k):
        removed = p.copy()
        removed[:, null] += removed[:, i + 1]  # every move into the channel goes to null instead
        removed[:, i + 1] = 0.0
        effect[i] = 1.0 - p_conversion(removed) / baseline
    return effect, effect / effect.sum() * float(paths["converted"].sum())


def test_the_touchpoint_view_and_the_report_are_written_without_clv(paths_run):
    project, _, _, scores, _, _, _, investment = paths_run
    assert sorted(investment["touchpoint"].to_list()) == sorted(CHANNELS) == sorted(scores["touchpoint"].to_list())
    assert set(investment["currency"]) == {"EUR"} and investment["attributed_lifetime_value"].null_count() == len(
        CHANNELS
    )
    page = default_path(load_config(project.config_path)).read_text(encoding="utf-8")
    value = page.split('<section id="value"', 1)[1].split("</section>", 1)[0]
    assert 'data-empty="true"' in value and "No CLV this run: " in value and "/clv; see model_runs" in value
    assert '<section id="touchpoints" data-empty="false"' in page


def test_cxdata_run_lists_the_failed_check_and_the_skipped_assets_without_dagster_noise(
    tmp_path, monkeypatch, capsys, caplog
):
    """The whole run as a user starts it, data-quality checks included (their blocking checks on the scores are
    what Dagster would warn about)."""
    project = build_paths_project(tmp_path / "project")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with caplog.at_level(logging.WARNING):
        assert main(["run", "--config", str(project.config_path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    verdict = next(i for i, line in enumerate(lines) if line.startswith("run ") and " succeeded" in line)
    tail = lines[verdict + 1 :]
    # the checks of severity warn that failed come first, one line each, counted in the verdict
    warned = [line for line in tail if line.startswith("  warning: ")]
    assert tail[: len(warned)] == warned
    assert (f" with {len(warned)} warning" in lines[verdict]) == bool(warned)
    tail = tail[len(warned) :]
    assert tail[0] == "failed checks (only what they gate was skipped):"
    assert tail[1].startswith("  customer_scores:clv_model_usable -> no CLV model: ")
    skipped = tail[2].removeprefix("not materialised: ").split(", ")
    assert set(skipped) == NEEDS_CLV and len(tail) == 3
    assert "Traceback" not in out
    noise = [r.getMessage() for r in caplog.records if "emitted no result" in r.getMessage()]
    assert not noise
