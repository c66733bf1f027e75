"""The Dagster definitions of a cxdata project: one asset group per domain over shared resources."""

from __future__ import annotations

import dagster as dg

from cxdata.config import ProjectConfig, load_config
from pipelines import (
    activation,
    alerts,
    automation,
    bi,
    catalog,
    checks,
    customer,
    marketing,
    privacy,
    project,
    report,
    sales,
    service,
    touchpoints,
    value,
    web,
)
from pipelines.executors import executor_def
from pipelines.handoff import KEY as HANDOFF
from pipelines.handoff import HandoffIOManager
from pipelines.phases import phase_jobs
from pipelines.resources import ProjectResource, WarehouseResource

DOMAINS = (sales, service, web, marketing, customer, privacy, value, activation, alerts, touchpoints)


def build_definitions(
    config: ProjectConfig,
    as_of: str | None = None,
    loggers: dict[str, dg.LoggerDefinition] | None = None,
    executor: str | None = None,
) -> dg.Definitions:
    """Definitions for one project; `cxdata run` and `dagster dev` both come through here. `executor` names a
    `pipelines.executors` executor; None takes the config's `scale.executor`, else the warehouse's default."""
    project_resource = ProjectResource(config_path=str(config.path), as_of=as_of)
    warehouse = WarehouseResource(project=project_resource)
    assets = [asset for domain in DOMAINS for asset in domain.assets(config)]
    # the report reads every other asset's tables, so it depends on all of them
    graph = [*assets, *activation.sync_assets(config), *bi.assets(config, assets), *report.assets(config, assets)]
    automated, freshness, sensors = automation.automation(config, graph)
    return dg.Definitions(
        assets=catalog.with_owners(config, automated),
        asset_checks=[*checks.asset_checks(config, assets), *freshness],
        resources={
            "project": project_resource,
            "warehouse": warehouse,
            HANDOFF: HandoffIOManager(warehouse=warehouse),  # the steps of a sharded asset
        },
        executor=executor_def(
            executor or config.scale.executor, config.warehouse_kind, config.scale.max_concurrent_shards
        ),
        loggers=loggers,
        jobs=phase_jobs(graph),
        sensors=sensors,
        metadata=catalog.catalog_metadata(config),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_config(project.config_path()))
