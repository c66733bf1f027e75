"""The value domain: lifetime-value models and the customer scores marketing pulls."""

# No postponed annotations here: Dagster reads the `context` annotation when it defines the asset.
import base64

import dagster as dg

from cxdata.clv.checks import holdout_verdict, model_verdict
from cxdata.clv.step import ClvReport, clv_step
from cxdata.config import ProjectConfig
from pipelines.resources import ProjectResource, WarehouseResource

GROUP = "value"
OUTPUTS = {
    "customer_scores": "Per customer at as_of: P(alive), expected purchases and spend, CLV and its percentile.",
    "customer_scores_history": "Every run's customer_scores, kept for trend and back-testing.",
    "model_runs": "Every trained model: version, data window, parameters, attempts, holdout metrics.",
}
MODEL_CHECK, HOLDOUT_CHECK = "clv_model_usable", "clv_holdout_error"


def clv_assets(config: ProjectConfig, kinds: set[str]) -> dg.AssetsDefinition:
    """Evaluate on the holdout, refit and score; checks say whether the model is usable and accurate enough."""
    scores = dg.AssetKey("customer_scores")

    @dg.multi_asset(
        name="score_customer_value",
        group_name=GROUP,
        specs=[
            dg.AssetSpec(name, description=text, deps=["fct_orders", "dim_customer"], kinds=kinds)
            for name, text in OUTPUTS.items()
        ],
        check_specs=[
            dg.AssetCheckSpec(MODEL_CHECK, asset=scores, blocking=True, description="A converged, finite model"),
            dg.AssetCheckSpec(
                HOLDOUT_CHECK, asset=scores, description="Holdout error within the configured bound"
            ),
        ],
    )
    def _score(context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource):
        config = project.load()
        with warehouse.get() as wh:
            report = clv_step(wh, config, context.run.run_id)
        for name in OUTPUTS:
            yield dg.MaterializeResult(
                asset_key=name, metadata=_metadata(report) if name == scores.path[0] else {}
            )
        verdicts = (
            (MODEL_CHECK, model_verdict(report), dg.AssetCheckSeverity.ERROR),
            (HOLDOUT_CHECK, holdout_verdict(report, config.models.clv), dg.AssetCheckSeverity.WARN),
        )
        for check, verdict, severity in verdicts:
            yield dg.AssetCheckResult(
                asset_key=scores,
                check_name=check,
                passed=verdict.passed,
                severity=severity,
                metadata={"reason": verdict.reason},
            )

    return _score


def _metadata(report: ClvReport) -> dict[str, dg.MetadataValue]:
    metadata = {
        "model_run_id": dg.MetadataValue.text(report.model_run_id),
        "model": dg.MetadataValue.text(report.model or "none"),
        "scored_customers": dg.MetadataValue.int(report.scored_customers),
        "holdout_metrics": dg.MetadataValue.json(report.metrics),
        "attempts": dg.MetadataValue.int(len(report.attempts)),
        "warnings": dg.MetadataValue.md("\n".join(f"- {w}" for w in report.warnings) or "none"),
    }
    for name, png in report.plots.items():
        metadata[f"plot_{name}"] = dg.MetadataValue.md(_png_markdown(name, png))
    return metadata


def _png_markdown(name: str, png: bytes) -> str:
    # the UI renders markdown images inline; a data URL keeps the plot with the materialisation
    return f"![{name}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def assets(config: ProjectConfig) -> list[dg.AssetsDefinition]:
    if "orders" not in config.sources:
        return []
    return [clv_assets(config, {"lifetimes", config.warehouse_kind})]
