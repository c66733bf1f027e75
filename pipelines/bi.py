"""The BI domain: the documented views BI tools and marketing read, created after the marts they select from."""

from collections.abc import Sequence

import dagster as dg

from cxdata.config import ProjectConfig
from cxdata.warehouse.comments import sql_dir
from cxdata.warehouse.views import VIEWS, View, create_views
from pipelines.resources import WarehouseResource

GROUP = "bi"


def _description(name: str) -> str:
    return f"View {name}: see sql/{name}.sql and docs/data_dictionary.md ({sql_dir().name}/ holds its definition)."


def views_asset(views: list[View], kinds: set[str]) -> dg.AssetsDefinition:
    """One step creating (or replacing) every view of ``views``; a view whose tables are missing is skipped."""
    names = [view.name for view in views]

    @dg.multi_asset(
        name="bi_views",
        group_name=GROUP,
        specs=[
            dg.AssetSpec(
                view.name, description=_description(view.name), deps=view.requires, kinds=kinds, skippable=True
            )
            for view in views
        ],
    )
    def _create(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        with warehouse.get() as wh:
            report = create_views(wh, names)
        for name, missing in report.skipped.items():
            context.log.warning(f"view {name} not created: missing table(s) {', '.join(missing)}")
        for name in report.created:
            yield dg.MaterializeResult(asset_key=name, metadata={"view": dg.MetadataValue.text(name)})

    return _create


def assets(config: ProjectConfig, upstream: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """The views whose every base table is an asset of this project, as one step after those assets."""
    available = {key.to_user_string() for definition in upstream for key in definition.keys}
    chosen = [view for view in VIEWS if set(view.requires) <= available]
    if not chosen:
        return []
    return [views_asset(chosen, {"sql", config.warehouse_kind})]
