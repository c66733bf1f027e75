"""The BI domain: the documented views BI tools and marketing read, created after the marts they select from.

The views are created by one step per set of *skippable* tables they read
(tables a run may leave unmaterialised, e.g. customer_scores when no CLV model
is usable): a step waits only for what its views read, so a run without CLV
still creates bi_kpis_daily and bi_touchpoint_investment, and only the views
over the scores and segments wait for a run that writes them.
"""

from collections.abc import Sequence

import dagster as dg

from cxdata.config import ProjectConfig
from cxdata.warehouse.comments import sql_dir
from cxdata.warehouse.views import VIEWS, View, create_views
from pipelines.metadata import published_metadata
from pipelines.resources import ProjectResource, WarehouseResource

GROUP = "bi"
STEP = "bi_views"


def _description(name: str) -> str:
    return f"View {name}: see sql/{name}.sql and docs/data_dictionary.md ({sql_dir().name}/ holds its definition)."


def step_name(skippable: Sequence[str]) -> str:
    """The step creating the views that read exactly the skippable tables ``skippable``: ``bi_views`` for none,
    else ``bi_views_after_<tables>``."""
    return STEP if not skippable else f"{STEP}_after_{'_'.join(sorted(skippable))}"


def views_asset(views: list[View], kinds: set[str], name: str = STEP) -> dg.AssetsDefinition:
    """One step ``name`` creating (or replacing) every view of ``views`` with the project's currency and hurdle;
    a view whose tables are missing is skipped."""
    names = [view.name for view in views]

    @dg.multi_asset(
        name=name,
        group_name=GROUP,
        specs=[
            dg.AssetSpec(
                view.name, description=_description(view.name), deps=view.requires, kinds=kinds, skippable=True
            )
            for view in views
        ],
    )
    def _create(context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource):
        config = project.load()
        with warehouse.get() as wh:
            report = create_views(wh, names, currency=config.currency, hurdle=config.models.touchpoints.hurdle)
            shown = {view: published_metadata(wh, view) for view in report.created}
        for view, missing in report.skipped.items():
            context.log.warning(f"view {view} not created: missing table(s) {', '.join(missing)}")
        for view in report.created:
            metadata = {"view": dg.MetadataValue.text(view)} | shown[view]
            yield dg.MaterializeResult(asset_key=view, metadata=metadata)

    return _create


def skippable_keys(upstream: Sequence[dg.AssetsDefinition]) -> set[str]:
    """The assets of ``upstream`` a run may leave unmaterialised (declared skippable by their step)."""
    return {spec.key.to_user_string() for definition in upstream for spec in definition.specs if spec.skippable}


def assets(config: ProjectConfig, upstream: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """The views whose every base table is an asset of this project, one step per set of skippable tables they
    read, each after those assets."""
    available = {key.to_user_string() for definition in upstream for key in definition.keys}
    skippable = skippable_keys(upstream)
    groups: dict[tuple[str, ...], list[View]] = {}
    for view in VIEWS:
        if set(view.requires) <= available:
            waits_for = tuple(sorted(set(view.requires) & skippable))
            groups.setdefault(waits_for, []).append(view)
    kinds = {"sql", config.warehouse_kind}
    return [views_asset(views, kinds, step_name(waits_for)) for waits_for, views in sorted(groups.items())]
