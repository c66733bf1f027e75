"""The staging asset factory: one `stg_<table>` asset per configured input table."""

from __future__ import annotations

import dagster as dg

from cxdata import schema
from cxdata.config import ProjectConfig
from cxdata.io import load_table
from cxdata.profile import staging_profile
from pipelines.metadata import to_metadata
from pipelines.resources import ProjectResource, WarehouseResource


def staging_asset(table: str, group: str, kinds: set[str]) -> dg.AssetsDefinition:
    """An asset that ingests one source onto the contract and publishes it atomically."""
    spec = schema.table(table)

    @dg.asset(
        name=f"stg_{table}",
        group_name=group,
        kinds=kinds,
        description=f"{spec.name} from the {spec.system} system, mapped onto the input contract, "
        "timestamps in UTC, unknown source columns kept.",
        tags={"layer": "staging"},
    )
    def _stage(project: ProjectResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
        config = project.load()
        frame = load_table(config, table)
        with warehouse.get() as wh:
            published = wh.publish(f"stg_{table}", frame)
        profile = staging_profile(frame, table, config.sources[table].label, published.seconds)
        return dg.MaterializeResult(metadata=to_metadata(profile))

    return _stage


def staging_assets(config: ProjectConfig, group: str, tables: tuple[str, ...]) -> list[dg.AssetsDefinition]:
    """Staging assets for those tables of one domain that the project configures."""
    return [staging_asset(t, group, {"polars", config.warehouse_kind}) for t in tables if t in config.sources]
