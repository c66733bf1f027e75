"""The value domain: lifetime value, churn and the customer scores and segments marketing pulls.

One multi-asset, because churn adds its columns to the same ``customer_scores``
CLV publishes (value at risk needs the CLV) and Dagster lets one op own an asset.
A run in which no CLV model is usable writes no scores, so it does not
materialise ``customer_scores`` or its history: the assets that read CLV are
skipped and the failed ``clv_model_usable`` check says why, while the step
itself succeeds, so what needs no CLV (the touchpoint credit) still runs.
"""

# No postponed annotations here: Dagster reads the `context` annotation when it defines the asset.
import dagster as dg

from cxdata.churn.checks import baseline_verdict, trained_verdict
from cxdata.churn.segments import definitions_markdown
from cxdata.churn.step import ChurnReport, value_step
from cxdata.clv.checks import holdout_verdict, model_verdict
from cxdata.clv.step import ClvReport
from cxdata.config import ProjectConfig
from cxdata.report import table_figure
from cxdata.warehouse import Warehouse
from pipelines import checks
from pipelines.metadata import figure_metadata, plot_metadata, published_metadata, trend_metadata
from pipelines.resources import ProjectResource, WarehouseResource
from pipelines.run import Context, run_context

GROUP = "value"
OUTPUTS = {
    "customer_rfm": "Per buyer at as_of: frequency, recency, T and monetary value, the CLV models' input.",
    "customer_scores": "Per customer at as_of: P(alive), expected purchases and spend, CLV, churn probability, "
    "value at risk, top reasons and segment.",
    "customer_scores_history": "Every run's customer_scores, kept for trend and back-testing.",
    "model_runs": "Every trained model: version, data window, parameters, attempts, holdout metrics.",
    "segment_members": "Who is in which segment at each as_of: the lists marketing pulls.",
    "segment_summary": "Per segment and as_of: customers, total CLV and total value at risk.",
}
MODEL_CHECK, HOLDOUT_CHECK = "clv_model_usable", "clv_holdout_error"
# written only by a run with a usable CLV model (downstream of them is what needs CLV), the segments only when
# churn scored too; each is materialised only when this run wrote it
CLV_OUTPUTS = {"customer_scores", "customer_scores_history"}
SEGMENT_OUTPUTS = {"segment_members", "segment_summary"}
# written by every run: their quality checks run in this step; the tables the step may leave unwritten are
# checked by steps of their own (pipelines/checks.py)
ALWAYS_WRITTEN = [name for name in OUTPUTS if name not in CLV_OUTPUTS | SEGMENT_OUTPUTS]
CHURN_CHECK, BASELINE_CHECK = "churn_model_trained", "churn_beats_btyd"
SCORES = dg.AssetKey("customer_scores")
STEP = "score_customer_value"


def value_specs(kinds: set[str]) -> list[dg.AssetSpec]:
    """The tables of the value step as asset specs (read by the single-step and the sharded asset)."""
    deps = ["fct_orders", "dim_customer"]
    skippable = CLV_OUTPUTS | SEGMENT_OUTPUTS
    return [
        dg.AssetSpec(name, description=text, deps=deps, kinds=kinds, skippable=name in skippable)
        for name, text in OUTPUTS.items()
    ]


def value_check_specs(config: ProjectConfig) -> list[dg.AssetCheckSpec]:
    """The value step's checks: the models' verdicts, then the quality rules of the tables it always writes."""
    return [
        # Not `blocking`: a blocking failure fails the whole step and skips every asset after it, the
        # touchpoint credit too; leaving customer_scores unmaterialised skips only what reads CLV.
        dg.AssetCheckSpec(
            MODEL_CHECK,
            asset=SCORES,
            description="A converged, finite model; without one customer_scores is not materialised and "
            "the assets reading CLV do not run",
        ),
        dg.AssetCheckSpec(HOLDOUT_CHECK, asset=SCORES, description="Holdout error within the configured bound"),
        dg.AssetCheckSpec(CHURN_CHECK, asset=SCORES, description="A churn model was trained and scored"),
        dg.AssetCheckSpec(
            BASELINE_CHECK, asset=SCORES, description="Churn holdout AUC not below the BTYD baseline's by > 0.01"
        ),
        *checks.quality_specs(config, ALWAYS_WRITTEN),
    ]


def value_assets(config: ProjectConfig, kinds: set[str]) -> dg.AssetsDefinition:
    """CLV then churn: evaluate on held-out time, refit, score and segment; checks say what can be trusted."""

    @dg.multi_asset(name=STEP, group_name=GROUP, specs=value_specs(kinds), check_specs=value_check_specs(config))
    def _score(context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource):
        config = project.load()
        with warehouse.get() as wh:
            report, churn = value_step(wh, config, run_context(context, wh, config))
            written, checked = value_results(context, wh, config, report, churn)
        for name, metadata in written.items():
            yield dg.MaterializeResult(asset_key=name, metadata=metadata)
        yield from checked

    return _score


def value_results(
    context: Context, wh: Warehouse, config: ProjectConfig, report: ClvReport, churn: ChurnReport | None
) -> tuple[dict[str, dict[str, dg.MetadataValue]], list[dg.AssetCheckResult]]:
    """What a value step that published ``report`` and ``churn`` reports: the metadata of each table it wrote
    (those it did not write are left out: not materialised), and the results of its checks."""
    clv = table_figure(wh, "customer_scores", config.currency) if report.failed is None else None
    published = {name: published_metadata(wh, name) for name in OUTPUTS if wh.exists(name)}
    checked = checks.quality_results(context, wh, config, *ALWAYS_WRITTEN)
    verdicts = (
        (MODEL_CHECK, model_verdict(report), dg.AssetCheckSeverity.ERROR),
        (HOLDOUT_CHECK, holdout_verdict(report, config.models.clv), dg.AssetCheckSeverity.WARN),
        (CHURN_CHECK, trained_verdict(churn), dg.AssetCheckSeverity.WARN),
        (BASELINE_CHECK, baseline_verdict(churn), dg.AssetCheckSeverity.WARN),
    )
    usable = verdicts[0][1].passed
    metadata = {
        # an unusable CLV run's diagnostics go with the model run that records it
        "customer_scores" if usable else "model_runs": _metadata(report, churn) | figure_metadata(clv),
        "segment_summary": _segment_metadata(churn),
    }
    written = set(OUTPUTS) - (set() if usable else CLV_OUTPUTS)
    if churn is None or churn.failed is not None:
        written -= SEGMENT_OUTPUTS
    tables = {name: published.get(name, {}) | metadata.get(name, {}) for name in OUTPUTS if name in written}
    results = [
        dg.AssetCheckResult(
            asset_key=SCORES,
            check_name=check,
            passed=verdict.passed,
            severity=severity,
            metadata={"reason": verdict.reason},
        )
        for check, verdict, severity in verdicts
    ]
    return tables, [*results, *checked]


def _metadata(report: ClvReport, churn: ChurnReport | None) -> dict[str, dg.MetadataValue]:
    warnings = report.warnings + (churn.warnings if churn else [])
    metadata = {
        "model_run_id": dg.MetadataValue.text(report.model_run_id),
        "model": dg.MetadataValue.text(report.model or "none"),
        # fit or score with a stored fit (cxdata/model_store.py): the metrics and plots are that fit's
        "mode": dg.MetadataValue.text(f"{report.mode}: {report.mode_reason}"),
        "fitted_run_id": dg.MetadataValue.text(report.fitted_run_id or "none"),
        "scored_customers": dg.MetadataValue.int(report.scored_customers),
        "holdout_metrics": dg.MetadataValue.json(report.metrics),
        "attempts": dg.MetadataValue.int(len(report.attempts)),
        "warnings": dg.MetadataValue.md("\n".join(f"- {w}" for w in warnings) or "none"),
        **trend_metadata("clv_holdout", report.metrics),
    }
    if churn is not None:
        metadata |= {
            "churn_model_run_id": dg.MetadataValue.text(churn.model_run_id),
            "churn_model": dg.MetadataValue.text(churn.model or f"none: {churn.failed}"),
            "churn_mode": dg.MetadataValue.text(f"{churn.mode}: {churn.mode_reason}"),
            "churn_fitted_run_id": dg.MetadataValue.text(churn.fitted_run_id or "none"),
            "churn_holdout_metrics": dg.MetadataValue.json(churn.metrics),
            "churn_importances": dg.MetadataValue.md(_importance_table(churn.importances)),
            **trend_metadata("churn_holdout", churn.metrics.get(churn.model or "", {})),
        }
    plots = {
        **report.plots,
        **{f"churn_{k}": v for k, v in (churn.plots if churn else {}).items() if k != "segments"},
    }
    return metadata | plot_metadata(plots)


def _segment_metadata(churn: ChurnReport | None) -> dict[str, dg.MetadataValue]:
    if churn is None or not churn.segments:
        return {"segments": dg.MetadataValue.text("none: no churn scores this run")}
    plots = {name: png for name, png in churn.plots.items() if name == "segments"}
    metadata = {"segments": dg.MetadataValue.json(churn.segments)} | trend_metadata("customers", churn.segments)
    if churn.definitions is not None:  # each segment's rule on this run, action, size and share
        metadata["definitions"] = dg.MetadataValue.md(definitions_markdown(churn.definitions))
    return metadata | plot_metadata(plots)


def _importance_table(importances: list[dict]) -> str:
    if not importances:
        return "none measured"
    columns = list(importances[0])
    rows = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    rows += ["| " + " | ".join(_cell(row[c]) for c in columns) + " |" for row in importances]
    return "\n".join(rows)


def _cell(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def assets(config: ProjectConfig) -> list[dg.AssetsDefinition]:
    if "orders" not in config.sources:
        return []
    kinds = {"lifetimes", "scikit-learn", config.warehouse_kind}
    if config.scale.shards > 1:
        from pipelines.value_shards import sharded_value_assets  # it builds on this module's specs

        return [sharded_value_assets(config, kinds)]
    return [value_assets(config, kinds)]
