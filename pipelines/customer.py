"""The customer domain: identity resolution and the single customer view built on it."""

# No postponed annotations here: Dagster reads the `context` annotation when it defines the asset.
from collections.abc import Callable

import dagster as dg

from cxdata.config import ProjectConfig
from cxdata.identity.step import IDENTITY_TABLES, RECORD_KEYS, identity_step
from cxdata.marts.consent import NAME as CONSENT
from cxdata.marts.consent import customer_consent_step
from cxdata.marts.pii import NAME as PII
from cxdata.marts.pii import dim_customer_pii_step
from cxdata.marts.step import MARTS, mart_step, marts_for
from cxdata.privacy import ERASURE_LOG
from cxdata.privacy.retention import RETENTION_LOG
from cxdata.profile import Profile
from cxdata.report import table_figure
from cxdata.warehouse import Warehouse
from pipelines import checks
from pipelines.metadata import figure_metadata, table_description, to_metadata
from pipelines.resources import ProjectResource, WarehouseResource
from pipelines.run import run_context
from pipelines.staging import FULL_REFRESH_TAG

GROUP = "customer"
IDENTITY_OUTPUTS = {
    RECORD_KEYS: "Every source record with the customer_key it resolved to and the identifier that attached it.",
    "customer_identity": "Every identifier value, its customer_key and whether it linked, was shared or blocked.",
    "identity_merges": "Log of customer keys merged into others (or split), with reason, run and time.",
}


def identity_assets(config: ProjectConfig, kinds: set[str]) -> dg.AssetsDefinition:
    """One step resolving identities over every staged table (only what changed since the last run, unless the
    run is a full refresh) and publishing the three identity tables, with identity's own bookkeeping tables."""
    staged = [dg.AssetKey(f"stg_{t}") for t in IDENTITY_TABLES if t in config.sources]
    # the expired days are purged first, so identity drops their records on the same run
    staged += [dg.AssetKey(RETENTION_LOG)] if config.privacy.retain_days else []

    @dg.multi_asset(
        name="resolve_identities",
        group_name=GROUP,
        specs=[
            dg.AssetSpec(name, description=text, deps=staged, kinds=kinds, tags={"layer": "mart"})
            for name, text in IDENTITY_OUTPUTS.items()
        ],
        check_specs=checks.quality_specs(config, IDENTITY_OUTPUTS),
    )
    def _resolve(context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource):
        config = project.load()
        with warehouse.get() as wh:
            # the first step after staging: it resolves the run's context that every later step reads
            full = context.run.tags.get(FULL_REFRESH_TAG) == "true"
            profiles = identity_step(wh, config, run_context(context, wh, config), full_refresh=full)
            figures = {name: table_figure(wh, name, config.currency) for name in profiles}
            rewritten = {name: profile.rewritten for name, profile in profiles.items()}
            checked = checks.quality_results(context, wh, config, *IDENTITY_OUTPUTS, rewritten=rewritten)
        for name, profile in profiles.items():
            yield dg.MaterializeResult(
                asset_key=name, metadata=to_metadata(profile, name) | figure_metadata(figures[name])
            )
        yield from checked

    return _resolve


def mart_asset(config: ProjectConfig, name: str, kinds: set[str], available: set[str]) -> dg.AssetsDefinition:
    """An asset that builds and checks one mart from those of its input tables the project has."""

    @dg.asset(
        name=name,
        group_name=GROUP,
        deps=[table for table in (*MARTS[name].inputs, ERASURE_LOG) if table in available],
        kinds=kinds,
        description=table_description(name),
        tags={"layer": "mart"},
        check_specs=checks.quality_specs(config, [name]),
    )
    def _build(
        context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        config = project.load()
        with warehouse.get() as wh:
            profile = mart_step(wh, config, name, run_context(context, wh, config))
            figure = table_figure(wh, name, config.currency)
            checked = checks.quality_results(context, wh, config, name, rewritten={name: profile.rewritten})
        return dg.MaterializeResult(
            metadata=to_metadata(profile, name) | figure_metadata(figure), check_results=checked
        )

    return _build


def _table_asset(
    config: ProjectConfig,
    kinds: set[str],
    name: str,
    deps: list[str],
    step: Callable[[Warehouse], Profile],
    tags: dict[str, str],
) -> dg.AssetsDefinition:
    """One asset publishing table ``name`` with ``step`` (it builds the table from the warehouse and publishes
    it), described by its sql/ comment, with the table's quality checks."""

    @dg.asset(
        name=name,
        group_name=GROUP,
        deps=deps,
        kinds=kinds,
        description=table_description(name),
        tags=tags,
        check_specs=checks.quality_specs(config, [name]),
    )
    def _build(
        context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        with warehouse.get() as wh:
            profile = step(wh)
            checked = checks.quality_results(context, wh, project.load(), name)
        return dg.MaterializeResult(metadata=to_metadata(profile, name), check_results=checked)

    return _build


def pii_asset(config: ProjectConfig, kinds: set[str], available: set[str]) -> dg.AssetsDefinition:
    """dim_customer_pii: contact details, the one mart with personal data (sql/dim_customer_pii.sql)."""
    deps = [t for t in ("customer_identity", RECORD_KEYS, "stg_customers", ERASURE_LOG) if t in available]
    return _table_asset(
        config, kinds, PII, deps, dim_customer_pii_step, {"layer": "mart", "personal_data": "true"}
    )


def consent_asset(config: ProjectConfig, kinds: set[str], available: set[str]) -> dg.AssetsDefinition:
    """customer_consent: the newest consent statement per customer and purpose (sql/customer_consent.sql)."""
    deps = [t for t in (RECORD_KEYS, "stg_customers", ERASURE_LOG) if t in available]
    return _table_asset(config, kinds, CONSENT, deps, customer_consent_step, {"layer": "mart"})


def assets(config: ProjectConfig) -> list[dg.AssetsDefinition]:
    if not any(t in config.sources for t in IDENTITY_TABLES):
        return []
    kinds = {"polars", config.warehouse_kind}
    names = marts_for(config)
    available = {f"stg_{t}" for t in config.sources} | set(IDENTITY_OUTPUTS) | set(names)
    available |= {ERASURE_LOG} if config.privacy.requests is not None else set()
    return [
        identity_assets(config, kinds),
        *(mart_asset(config, name, kinds, available) for name in names),
        pii_asset(config, kinds, available),
        *([consent_asset(config, kinds, available)] if "customers" in config.sources else []),
    ]
