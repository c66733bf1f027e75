"""The alerts domain: closed-loop alerts on valuable customers' bad experiences, sent to a webhook."""

# No postponed annotations here: Dagster reads the `context` annotation when it defines the asset.
import dagster as dg

from cxdata.alerts import AlertsReport, alerts_step
from cxdata.config import ProjectConfig
from pipelines import checks
from pipelines.metadata import published_metadata, table_description
from pipelines.resources import ProjectResource, WarehouseResource
from pipelines.run import run_context

GROUP = "alerts"
FACTS = {"surveys": "fct_surveys", "tickets": "fct_tickets"}


def alerts_asset(config: ProjectConfig, deps: list[str], kinds: set[str]) -> dg.AssetsDefinition:
    """``cx_alerts``: new detractor surveys and SLA breaches of valuable customers, notified to the webhook,
    and checked."""

    @dg.asset(
        name="cx_alerts",
        group_name=GROUP,
        deps=deps,
        kinds=kinds,
        description=table_description("cx_alerts"),
        tags={"layer": "mart"},
        check_specs=checks.quality_specs(config, ["cx_alerts"]),
    )
    def cx_alerts(
        context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        config = project.load()
        with warehouse.get() as wh:
            report = alerts_step(wh, config, run_context(context, wh, config))
            published = published_metadata(wh, "cx_alerts") if wh.exists("cx_alerts") else {}
            checked = checks.quality_results(context, wh, config, "cx_alerts")
        context.log.info(report.summary)
        return dg.MaterializeResult(metadata=_metadata(report) | published, check_results=checked)

    return cx_alerts


def _metadata(report: AlertsReport) -> dict[str, dg.MetadataValue]:
    return {
        "summary": dg.MetadataValue.text(report.summary),
        "new_alerts": dg.MetadataValue.int(report.new_alerts),
        "new_by_reason": dg.MetadataValue.json(report.by_reason),
        "notifications": dg.MetadataValue.bool(report.notifications),
        "sent": dg.MetadataValue.int(report.sent),
        "pending": dg.MetadataValue.int(report.pending),
        "delivery_unknown": dg.MetadataValue.int(report.unknown),
        "last_error": dg.MetadataValue.text(report.last_error or "none"),
    }


def assets(config: ProjectConfig) -> list[dg.AssetsDefinition]:
    """The alerts asset, when the project has scores (orders) and something to alert on (surveys or tickets)."""
    facts = [mart for table, mart in FACTS.items() if table in config.sources]
    if "orders" not in config.sources or not facts or not config.alerts.enabled:
        return []
    return [alerts_asset(config, ["customer_scores", *facts], {"polars", config.warehouse_kind})]
