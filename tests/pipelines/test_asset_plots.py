"""The report's plots also appear on the assets that produce their data, drawn once by one function."""

from __future__ import annotations

import base64

import dagster as dg
import polars as pl
import pytest

from cxdata.config import ChurnConfig
from cxdata.report import table_figure
from cxdata.warehouse import Warehouse
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


def decoded(value: dg.MetadataValue) -> bytes:
    return base64.b64decode(value.value.split("base64,", 1)[1].rstrip(")"))


@pytest.fixture(scope="module")
def materialised(materialised_on_duckdb) -> dict[str, dict]:
    """Each asset's materialisation metadata in the last whole-graph run of the shared DuckDB project."""
    run = materialised_on_duckdb
    assert run.outcome.success, run.outcome.failures
    with dg.DagsterInstance.from_config(run.dagster_home) as instance:
        events = {
            name: instance.get_latest_materialization_event(dg.AssetKey(name)) for name in run.outcome.materialised
        }
    # the last cxdata run wrote each: its staging phase the event tables, its build phase the rest
    assert all(e is not None and e.run_id in run.outcome.phase_runs.values() for e in events.values())
    return {name: event.asset_materialization.metadata for name, event in events.items()}


@pytest.mark.parametrize("asset", sorted(EXPECTED))
def test_asset_shows_the_plots_of_its_data_as_png(materialised, asset):
    plots = {k: v for k, v in materialised[asset].items() if k.startswith("plot_")}
    assert set(plots) >= EXPECTED[asset], sorted(plots)
    for name, value in plots.items():
        assert decoded(value)[:8] == PNG, name


def test_segment_summary_shows_what_each_segment_means(materialised):
    table = materialised["segment_summary"]["definitions"].value.splitlines()
    assert table[0] == "| order | segment | rule | suggested action | customers | share |"
    rows = [line.split(" | ") for line in table[2:]]
    assert [row[1] for row in rows] == [rule.name for rule in ChurnConfig().segments]
    assert rows[3][2].startswith("value at risk in the top 20% (value_at_risk ≥ ")
    assert sum(int(row[4]) for row in rows) == materialised["customer_scores"]["dagster/row_count"].value


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
            pl.DataFrame(
                {"date": [], "dimension": [], "dimension_value": []},
                schema={"date": pl.Date, "dimension": pl.String, "dimension_value": pl.String},
            ),
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
    # the last run is a rerun at the same as_of: it kept the first run's figures and says so
    fitted = metadata["fitted_run_id"].value
    assert metadata["mode"].value == f"kept: the figures of {fitted}, 0 days old (refit every 7 days)"
    assert fitted.endswith("/touchpoints") and metadata["model_run_id"].value != fitted


def test_the_figures_watched_over_time_are_numbers_dagster_plots_itself(materialised):
    scores, segments = materialised["customer_scores"], materialised["segment_summary"]
    assert isinstance(scores["clv_holdout_aggregate_error"], dg.FloatMetadataValue)
    assert isinstance(scores["churn_holdout_auc"], dg.FloatMetadataValue)
    assert 0.5 < scores["churn_holdout_auc"].value <= 1
    sizes = {k: v.value for k, v in segments.items() if k.startswith("customers_")}
    assert sizes and sum(sizes.values()) == materialised["customer_scores"]["dagster/row_count"].value
    assert all(isinstance(segments[k], dg.IntMetadataValue) for k in sizes)
