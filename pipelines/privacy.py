"""The privacy group: erasure requests carried out, raw rows past retention purged, and the log of who read
personal data (`cxdata.privacy`). Each asset exists only for what the project configures, but the access log."""

# No postponed annotations here: Dagster reads the `context` annotation when it defines the asset.
import dagster as dg

from cxdata.config import ProjectConfig
from cxdata.identity.step import IDENTITY_TABLES
from cxdata.privacy import ERASURE_LOG
from cxdata.privacy.access_log import ACCESS_LOG, access_folder, flush_access_log
from cxdata.privacy.requests import carry_out_requests
from cxdata.privacy.retention import RETENTION_LOG, purge_expired
from pipelines.customer import IDENTITY_OUTPUTS
from pipelines.metadata import published_metadata, table_description
from pipelines.resources import ProjectResource, WarehouseResource
from pipelines.run import run_context, run_id, run_start

GROUP = "privacy"
REJECTED_CHECK = "requests_rejected"


def erasure_asset(kinds: set[str]) -> dg.AssetsDefinition:
    """The erasure requests of `privacy.requests` carried out, after identity and before every mart, so the run
    publishes nothing of the people they name (`cxdata.privacy.requests`)."""

    @dg.asset(
        name=ERASURE_LOG, group_name=GROUP, deps=list(IDENTITY_OUTPUTS), kinds=kinds,
        description=table_description(ERASURE_LOG), tags={"layer": "privacy"},
        check_specs=[dg.AssetCheckSpec(REJECTED_CHECK, asset=ERASURE_LOG, description=(
            "Every request of privacy.requests could be carried out (rejected ones are retried each run)"
        ))],
    )  # fmt: skip
    def _erase(context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource):
        config = project.load()
        with warehouse.get() as wh:
            done = carry_out_requests(wh, config, run_context(context, wh, config).now)
            published = published_metadata(wh, ERASURE_LOG) if wh.exists(ERASURE_LOG) else {}
        counts = {"requests_read": done.read, "already_done": done.already_done,
                  **{status: done.count(status) for status in ("erased", "not_found")}}  # fmt: skip
        reasons = done.pending.group_by("rejected_reason").len().sort("rejected_reason")
        return dg.MaterializeResult(
            metadata={**published, **counts, "rejected": done.pending.height},
            check_results=[dg.AssetCheckResult(
                check_name=REJECTED_CHECK, passed=done.pending.is_empty(), severity=dg.AssetCheckSeverity.WARN,
                description=f"{done.pending.height} request(s) rejected: see erasure_log.rejected_reason",
                metadata=dict(reasons.iter_rows()),
            )],
        )  # fmt: skip

    return _erase


def retention_asset(config: ProjectConfig, kinds: set[str]) -> dg.AssetsDefinition:
    """The raw rows of the days past each table's `privacy.retain_days` purged, after staging and before
    identity (`cxdata.privacy.retention`)."""
    staged = [f"stg_{t}" for t in config.sources if t in IDENTITY_TABLES or t in config.privacy.retain_days]

    @dg.asset(
        name=RETENTION_LOG, group_name=GROUP, deps=staged, kinds=kinds,
        description=table_description(RETENTION_LOG), tags={"layer": "privacy"},
    )  # fmt: skip
    def _purge(context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource):
        config = project.load()
        with warehouse.get() as wh:
            purged = purge_expired(wh, config, run_id(context), run_start(context))
            published = published_metadata(wh, RETENTION_LOG)
        by_table = {row["table_name"]: row["rows_purged"] for row in purged.iter_rows(named=True)}
        return dg.MaterializeResult(metadata={**published, "rows_purged": sum(by_table.values()), **by_table})

    return _purge


def access_log_asset(kinds: set[str]) -> dg.AssetsDefinition:
    """pii_access_log: the contact exports and personal-scope API requests recorded since the last run."""

    @dg.asset(
        name=ACCESS_LOG, group_name=GROUP, kinds=kinds, description=table_description(ACCESS_LOG),
        tags={"layer": "privacy"},
    )  # fmt: skip
    def _flush(project: ProjectResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
        config = project.load()
        with warehouse.get() as wh:
            added = flush_access_log(wh, access_folder(config.base_dir))
            # no preview: its rows name the staff and tokens that read personal data
            published = {k: v for k, v in published_metadata(wh, ACCESS_LOG).items() if k != "preview"}
        return dg.MaterializeResult(metadata={**published, "entries_added": added})

    return _flush


def assets(config: ProjectConfig) -> list[dg.AssetsDefinition]:
    kinds = {"polars", config.warehouse_kind}
    identity = any(t in config.sources for t in IDENTITY_TABLES)
    return [
        access_log_asset(kinds),
        *([erasure_asset(kinds)] if identity and config.privacy.requests is not None else []),
        *([retention_asset(config, kinds)] if config.privacy.retain_days else []),
    ]
