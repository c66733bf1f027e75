"""The staging asset factory: one `stg_<table>` asset per configured input table."""

# No postponed annotations here: Dagster reads the `context` annotation when it defines the asset.

import dagster as dg

from cxdata import schema
from cxdata.config import ProjectConfig
from cxdata.errors import QuarantineError
from cxdata.io.partitions import days_to_stage
from cxdata.io.step import stage_step
from pipelines.metadata import to_metadata
from pipelines.resources import ProjectResource, WarehouseResource
from pipelines.run import run_start

# A run tagged so loads every source whole instead of the stale days of its event tables.
FULL_REFRESH_TAG = "cxdata/full_refresh"


def staging_asset(table: str, group: str, kinds: set[str]) -> dg.AssetsDefinition:
    """An asset that ingests one source onto the contract, quarantines bad rows and publishes atomically."""
    spec = schema.table(table)

    @dg.asset(
        name=f"stg_{table}",
        group_name=group,
        kinds=kinds,
        description=f"{spec.name} from the {spec.system} system, mapped onto the input contract, "
        "timestamps in UTC, unknown source columns kept. Rows failing the row rules go to "
        f"quarantine_{table}; every load is counted in load_audit.",
        tags={"layer": "staging"},
    )
    def _stage(
        context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        config = project.load()
        full = context.run.tags.get(FULL_REFRESH_TAG) == "true"
        with warehouse.get() as wh:
            try:
                days = None if full else days_to_stage(wh, config, table)
                report = stage_step(wh, config, table, context.run.run_id, run_start(context), days=days)
            except QuarantineError as exc:
                # The quarantine preview and counts, not the staged table's: that is what the team must look at.
                held = to_metadata(exc.report.quarantine, f"quarantine_{table}")
                shown = {key: value for key, value in held.items() if not key.startswith("dagster/")}
                raise dg.Failure(description=str(exc), metadata=shown) from exc
        if int(report.audit.get("rows_late") or 0):
            context.log.warning(
                f"stg_{table}: {report.audit['rows_late']} rows on days before the lookback changed "
                f"in their files ({report.staged.facts['late_days']}); run with --full-refresh to load them"
            )
        return dg.MaterializeResult(metadata=to_metadata(report.staged, f"stg_{table}"))

    return _stage


def staging_assets(config: ProjectConfig, group: str, tables: tuple[str, ...]) -> list[dg.AssetsDefinition]:
    """Staging assets for those tables of one domain that the project configures."""
    return [staging_asset(t, group, {"polars", config.warehouse_kind}) for t in tables if t in config.sources]
