"""The touchpoint domain: which touchpoints earn their cost, from journeys, incrementality and retention effects.

One multi-asset: touchpoint_scores and its history come from one step, which
computes on the models' refit cadence; a run in between keeps the last
computation's tables (the asset still materialises, with that computation's
metadata, "mode: kept: ...", and its checks, so the views and the report run). It reads
customer_scores for the CLV credited to acquiring touchpoints but does not need
it: the step runs after the value step through ``customer_rfm``, which that step
always materialises, so it reads this run's scores when there are any, and a
run whose CLV model failed (customer_scores not materialised) still publishes
every attribution credit, with attributed CLV null.
"""

# No postponed annotations here: Dagster reads the `context` annotation when it defines the asset.
import dagster as dg

from cxdata.config import ProjectConfig
from cxdata.report.touchpoints import decision_lists
from cxdata.touchpoints.step import TouchpointReport, touchpoint_step
from cxdata.warehouse import Warehouse
from pipelines import checks
from pipelines.metadata import plot_metadata, published_metadata
from pipelines.resources import ProjectResource, WarehouseResource
from pipelines.run import Context, run_context

GROUP = "touchpoints"
STEP = "score_touchpoints"
OUTPUTS = {
    "touchpoint_scores": "Per touchpoint at the as_of of the last computation (every models.refit_every_days): "
    "attributed credit, estimated incremental revenue and retention value, cost, return on spend with an "
    "interval, and invest / hold / cut.",
    "touchpoint_scores_history": "Every computation's touchpoint_scores, kept for trends and back-testing.",
}
# each input table and the source it needs (None: always there once orders are); customer_rfm stands in for
# customer_scores, which only a run with a usable CLV model materialises (pipelines/value.py)
DEPS = {
    "customer_rfm": None,
    "fct_orders": None,
    "fct_touches": "touches",
    "fct_tickets": "tickets",
    "fct_web_sessions": "web_events",
    "stg_touchpoint_costs": "touchpoint_costs",
}


def touchpoint_specs(config: ProjectConfig, kinds: set[str]) -> list[dg.AssetSpec]:
    """The touchpoint tables as asset specs, on the inputs the project's sources give (read by the single-step
    and the sharded asset)."""
    deps = [table for table, source in DEPS.items() if source is None or source in config.sources]
    return [dg.AssetSpec(name, description=text, deps=deps, kinds=kinds) for name, text in OUTPUTS.items()]


def touchpoint_results(
    context: Context, wh: Warehouse, config: ProjectConfig, report: TouchpointReport
) -> tuple[dict[str, dict[str, dg.MetadataValue]], list[dg.AssetCheckResult]]:
    """What a touchpoint step that made ``report`` reports: each table's metadata, and its checks' results."""
    published = {name: published_metadata(wh, name) for name in OUTPUTS if wh.exists(name)}
    checked = checks.quality_results(context, wh, config, *OUTPUTS)
    # the decision leads: the UI shows metadata in this order
    scores = _metadata(report, config) | published.get("touchpoint_scores", {})
    tables = {
        "touchpoint_scores": scores,
        "touchpoint_scores_history": published.get("touchpoint_scores_history", {}),
    }
    return tables, checked


def touchpoint_assets(config: ProjectConfig, kinds: set[str]) -> dg.AssetsDefinition:
    """Journeys, attribution, incrementality, retention effect, cost and ROI of every touchpoint."""

    @dg.multi_asset(
        name=STEP,
        group_name=GROUP,
        specs=touchpoint_specs(config, kinds),
        check_specs=checks.quality_specs(config, OUTPUTS),
    )
    def _score(context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource):
        config = project.load()
        with warehouse.get() as wh:
            report = touchpoint_step(wh, config, run_context(context, wh, config))
            tables, checked = touchpoint_results(context, wh, config, report)
        for name, metadata in tables.items():
            yield dg.MaterializeResult(asset_key=name, metadata=metadata)
        yield from checked

    return _score


def decision_markdown(report: TouchpointReport, config: ProjectConfig) -> str:
    """Invest, cut and hold as markdown lists of one sentence per touchpoint, as the report words them."""
    hurdle = config.models.touchpoints.hurdle
    blocks = [
        f"**{decision}**\n" + ("\n".join(f"- {sentence}" for sentence in sentences) or "- none")
        for decision, sentences in decision_lists(report.scores, config.currency, hurdle).items()
    ]
    return "\n\n".join(blocks)


def _metadata(report: TouchpointReport, config: ProjectConfig) -> dict[str, dg.MetadataValue]:
    # the decision first: the Dagster UI lists metadata in insertion order
    metadata = {} if report.failed else {"decision": dg.MetadataValue.md(decision_markdown(report, config))}
    metadata |= {
        # computed this run or kept from the last computation (cxdata/model_store.py): the figures are its
        "mode": dg.MetadataValue.text(f"{report.mode}: {report.mode_reason}"),
        "fitted_run_id": dg.MetadataValue.text(report.fitted_run_id or "none"),
        "as_of": dg.MetadataValue.text(report.as_of.isoformat()),
        "model_run_id": dg.MetadataValue.text(report.model_run_id),
        "touchpoints": dg.MetadataValue.int(report.scores.height),
        "warnings": dg.MetadataValue.md("\n".join(f"- {w}" for w in report.warnings) or "none"),
        "attributed_clv": dg.MetadataValue.text(f"null: {report.clv_missing}" if report.clv_missing else "known"),
        "currency": dg.MetadataValue.text(config.currency),
    }
    if report.failed:
        return metadata | {"failed": dg.MetadataValue.text(report.failed)}
    verdicts = report.scores.filter(report.scores["recommendation"].is_not_null())
    metadata["recommendations"] = dg.MetadataValue.json(
        dict(zip(verdicts["touchpoint"].to_list(), verdicts["recommendation"].to_list(), strict=True))
    )
    metadata["post_session_response_share"] = dg.MetadataValue.float(float(report.late_share or 0.0))
    metadata["retention_diagnostics"] = dg.MetadataValue.json(report.retention.to_dicts())
    metadata["attribution_by_model"] = dg.MetadataValue.json(
        report.attribution.select("model", "touchpoint", "conversions", "revenue", "clv").to_dicts()
    )
    return metadata | plot_metadata(report.plots)


def assets(config: ProjectConfig) -> list[dg.AssetsDefinition]:
    if "orders" not in config.sources:
        return []
    kinds = {"scikit-learn", config.warehouse_kind}
    if config.scale.shards > 1:
        from pipelines.touchpoint_shards import sharded_touchpoint_assets  # it builds on this module's specs

        return [sharded_touchpoint_assets(config, kinds)]
    return [touchpoint_assets(config, kinds)]
