"""The report domain: the project's HTML report, built after every other asset of the run that can be there.

A run may leave some assets unmaterialised on purpose (customer_scores and the
segments when no CLV model is usable, see pipelines/value.py): the report does
not wait for those or for what reads them, so it is still written, its CLV
section saying there is no CLV; it runs after the step that would have written
them through that step's other outputs.
"""

# No postponed annotations here: Dagster reads the `context` annotation when it defines the asset.
from collections.abc import Sequence

import dagster as dg

from cxdata.config import ProjectConfig
from cxdata.report import build_report, default_path, save_report
from cxdata.validate.gx import refresh_index
from pipelines.bi import skippable_keys
from pipelines.metadata import png_markdown
from pipelines.resources import ProjectResource, WarehouseResource
from pipelines.run import run_context

GROUP = "report"


def report_deps(upstream: Sequence[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    """The assets of ``upstream`` the report waits for: all but the skippable ones and those reading them
    (directly or through others), which a run may skip."""
    skipped = skippable_keys(upstream)
    specs = [spec for definition in upstream for spec in definition.specs]
    grew = True
    while grew:
        readers = {
            spec.key.to_user_string()
            for spec in specs
            if {dep.asset_key.to_user_string() for dep in spec.deps} & skipped
        }
        grew = not readers <= skipped
        skipped |= readers
    return sorted(
        (spec.key for spec in specs if spec.key.to_user_string() not in skipped),
        key=lambda key: key.to_user_string(),
    )


def report_asset(upstream: Sequence[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    """``cx_report``: the HTML report written beside the project, its plots inline in the metadata."""
    deps = report_deps(upstream)

    @dg.asset(
        name="cx_report",
        group_name=GROUP,
        deps=deps,
        kinds={"html"},
        description="Self-contained HTML report: CX KPIs, journey funnel, CLV and value at risk, churn model,"
        " touchpoint ROI, identity statistics. Written to <project>/.cxdata/report.html.",
    )
    def cx_report(
        context: dg.AssetExecutionContext, project: ProjectResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        config = project.load()
        with warehouse.get() as wh:
            report = build_report(wh, config.name, config.currency, run_context(context, wh, config))
        path = save_report(report, default_path(config))
        context.log.info(f"report written to {path}")
        # the run's last step: the quality checks rendered only their own pages
        refresh_index(config.docs_dir)
        empty = [f"- {section.title}: {section.empty}" for section in report.sections if section.empty]
        metadata = {
            "path": dg.MetadataValue.path(str(path)),
            "sections": dg.MetadataValue.int(len(report.sections)),
            "figures": dg.MetadataValue.int(len(report.figures)),
            "sections_without_data": dg.MetadataValue.md("\n".join(empty) or "none"),
        }
        for figure in report.figures:
            metadata[f"plot_{figure.name}"] = dg.MetadataValue.md(png_markdown(figure.caption, figure.png))
        return dg.MaterializeResult(metadata=metadata)

    return cx_report


def assets(_config: ProjectConfig, upstream: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """The report asset, downstream of the assets in ``upstream`` (the project's whole graph) a run always
    materialises when it succeeds (see `report_deps`)."""
    return [report_asset(upstream)]
