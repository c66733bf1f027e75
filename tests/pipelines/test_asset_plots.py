"""The report's plots also appear on the assets that produce their data, drawn once by one function."""

from __future__ import annotations

import base64

import dagster as dg
import polars as pl
import pytest

from cxdata.config import load_config
from cxdata.report import table_figure
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse
from pipelines.definitions import build_definitions
from pipelines.metadata import figure_metadata

PNG = b"\x89PNG\r\n\x1a\n"
# each asset and the plots its materialisation must show
EXPECTED = {
    "cx_kpis_daily": {"plot_kpi_trends"},
    "dim_customer": {"plot_journey_funnel"},
    "customer_identity": {"plot_identity_stats"},
    "customer_scores": {"plot_clv_distribution", "plot_churn_calibration"},
    "segment_summary": {"plot_segments"},
    "touchpoint_scores": {"plot_roi", "plot_removal_effects"},
}

SKIPPED = {
    "bi_customer_overview", "bi_kpis_daily", "bi_segments", "bi_touchpoint_investment", "cx_alerts",
    "dim_customer_pii", "marketing_segment_export",
}  # fmt: skip
QUALITY_CHECKS = {"error_checks", "warning_checks"}


def decoded(value: dg.MetadataValue) -> bytes:
    return base64.b64decode(value.value.split("base64,", 1)[1].rstrip(")"))


@pytest.fixture(scope="module")
def materialised(tmp_path_factory) -> dict[str, dict]:
    """One in-process run of a small synthetic project: each asset's materialisation metadata."""
    project = generate_project(tmp_path_factory.mktemp("project"), SynthParams(customers=300, seed=7))
    config = load_config(project.config_path)
    defs = build_definitions(config)
    graph = defs.resolve_asset_graph()
    # the data quality checks and delivery views draw nothing and would double the run's time
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={k for k in graph.get_all_asset_keys() if k.to_user_string() not in SKIPPED},
        asset_check_selection={k for k in graph.asset_check_keys if k.name not in QUALITY_CHECKS},
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_step_failure]
    return {
        event.asset_key.to_user_string(): event.step_materialization_data.materialization.metadata
        for event in result.all_events
        if event.is_step_materialization
    }


@pytest.mark.parametrize("asset", sorted(EXPECTED))
def test_asset_shows_the_plots_of_its_data_as_png(materialised, asset):
    plots = {k: v for k, v in materialised[asset].items() if k.startswith("plot_")}
    assert set(plots) >= EXPECTED[asset], sorted(plots)
    for name, value in plots.items():
        assert decoded(value)[:8] == PNG, name


def test_calibration_is_shown_once_on_customer_scores(materialised):
    plots = [k for k in materialised["customer_scores"] if k.startswith("plot_")]
    assert [k for k in plots if "calibration" in k and "churn" in k] == ["plot_churn_calibration"]
    assert not any(k.startswith("plot_") for k in materialised["identity_record_keys"])


def test_report_and_assets_draw_the_same_figures(materialised):
    # one function per plot: the report's copy is byte for byte the asset's
    report = materialised["cx_report"]
    pairs = {
        "plot_kpi_trends": ("cx_kpis_daily", "plot_kpi_trends"),
        "plot_journey_funnel": ("dim_customer", "plot_journey_funnel"),
        "plot_identity_stats": ("customer_identity", "plot_identity_stats"),
        "plot_clv_distribution": ("customer_scores", "plot_clv_distribution"),
        "plot_touchpoint_roi": ("touchpoint_scores", "plot_roi"),
    }
    for key, (asset, theirs) in pairs.items():
        assert decoded(report[key]) == decoded(materialised[asset][theirs]), key


def test_an_empty_table_gives_no_plot(tmp_path):
    with Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}") as wh:
        wh.publish(
            "cx_kpis_daily",
            pl.DataFrame({"date": [], "channel": []}, schema={"date": pl.Date, "channel": pl.String}),
        )
        wh.publish("dim_customer", pl.DataFrame({"journey_stage": []}, schema={"journey_stage": pl.String}))
        assert figure_metadata(table_figure(wh, "cx_kpis_daily")) == {}
        assert figure_metadata(table_figure(wh, "dim_customer")) == {}
        assert table_figure(wh, "customer_identity") is None
        assert table_figure(wh, "fct_orders") is None


def test_touchpoint_scores_lead_with_the_decision_in_the_project_currency(materialised):
    metadata = materialised["touchpoint_scores"]
    assert next(iter(metadata)) == "decision" and metadata["currency"].value == "EUR"
    blocks = dict(block.split("\n", 1) for block in metadata["decision"].value.split("\n\n"))
    assert list(blocks) == ["**invest**", "**cut**", "**hold**"]
    recommendations = metadata["recommendations"].value
    assert recommendations, "the project prices its touchpoints, so some have a verdict"
    for touchpoint, decision in recommendations.items():
        lines = [line for line in blocks[f"**{decision}**"].splitlines() if f" {touchpoint}: returns " in line]
        assert len(lines) == 1 and " EUR per 1 EUR spent" in lines[0], (touchpoint, decision)
