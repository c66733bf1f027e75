"""The activation group: segment membership history (who entered and left each segment, when) replayed from the
scorings (`cxdata.activation.membership`), and one change-only sync per configured destination
(`cxdata.activation.sync`)."""

# No postponed annotations here: Dagster reads the `context` annotation when it defines the asset.
import dagster as dg

from cxdata.activation.membership import EVENTS, MEMBERS, MEMBERSHIP, SCORINGS, update_membership
from cxdata.activation.sync import sync
from cxdata.config import ProjectConfig
from cxdata.privacy import ERASURE_LOG
from pipelines.metadata import published_metadata, table_description
from pipelines.resources import ProjectResource, WarehouseResource
from pipelines.run import run_context

GROUP = "activation"
MEMBERSHIP_TABLES = (MEMBERSHIP, EVENTS, SCORINGS)


def membership_assets(kinds: set[str]) -> dg.AssetsDefinition:
    """segment_membership, segment_events and segment_scorings, brought up to the scorings of segment_members."""
    specs = [
        # skippable: a run whose churn step wrote no segments skips them, and only the views that read them wait
        dg.AssetSpec(
            name,
            description=table_description(name),
            deps=[MEMBERS],
            kinds=kinds,
            group_name=GROUP,
            skippable=True,
        )
        for name in MEMBERSHIP_TABLES
    ]

    @dg.multi_asset(name="replay_segment_membership", specs=specs)
    def _replay(context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource):
        config = project.load()
        with warehouse.get() as wh:
            report = update_membership(wh, run_context(context, wh, config), config.currency)
            published = {name: published_metadata(wh, name) for name in MEMBERSHIP_TABLES if wh.exists(name)}
        rewound = "nothing new" if report.rewound_to is None else report.rewound_to.isoformat()
        counts = {"scorings_replayed": report.replayed, "rewound_to": rewound, "entered": report.entered,
                  "exited": report.exited, "open_spells": report.open_spells}  # fmt: skip
        for name in MEMBERSHIP_TABLES:
            yield dg.MaterializeResult(asset_key=name, metadata={**published.get(name, {}), **counts})

    return _replay


def sync_asset(config: ProjectConfig, name: str, kinds: set[str]) -> dg.AssetsDefinition:
    """``sync_<name>``: destination ``name`` brought up to its segment at this run's scoring, changes only; a
    delivery that fails fails the asset, and is delivered first on the next run."""
    destination = config.activation.destinations[name]
    deps = [MEMBERS, *(["customer_consent", "dim_customer_pii"] if "customers" in config.sources else [])]
    deps += [ERASURE_LOG] if config.privacy.requests is not None else []
    target = destination.path or f"webhook ${destination.url_env}"

    @dg.asset(
        name=f"sync_{name}", group_name=GROUP, deps=deps, kinds=kinds, tags={"layer": "activation"},
        description=f"Changes of segment {destination.segment} since the last sync, to {target}",
    )  # fmt: skip
    def _sync(context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource):
        config = project.load()
        with warehouse.get() as wh:
            run = run_context(context, wh, config)
            report = sync(wh, config, name, run.now, by=run.run_id)
        planned = report.planned or {}
        shown = ("seq", "status", "audience", "adds", "removes", "withheld", "without_consent", "delivered_to")
        return dg.MaterializeResult(metadata={
            **{k: planned[k] for k in shown if planned.get(k) is not None},
            "as_of": str(planned.get("as_of")), "earlier_syncs_delivered": len(report.retried),
        })  # fmt: skip

    return _sync


def assets(config: ProjectConfig) -> list[dg.AssetsDefinition]:
    if "orders" not in config.sources:  # segments need orders (the value step)
        return []
    return [membership_assets({"polars", config.warehouse_kind})]


def sync_assets(config: ProjectConfig) -> list[dg.AssetsDefinition]:
    """One ``sync_<name>`` per destination: deliveries, not tables, so they get no table quality checks."""
    if "orders" not in config.sources:
        return []
    kinds = {"polars", config.warehouse_kind}
    return [sync_asset(config, name, kinds) for name in config.activation.destinations]
