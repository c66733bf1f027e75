"""The report domain: the project's HTML report, built after every other asset of the run."""

# No postponed annotations here: Dagster reads the `context` annotation when it defines the asset.
from collections.abc import Sequence

import dagster as dg

from cxdata.config import ProjectConfig
from cxdata.report import build_report, default_path, save_report
from pipelines.metadata import png_markdown
from pipelines.resources import ProjectResource, WarehouseResource

GROUP = "report"


def report_asset(upstream: Sequence[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    """``cx_report``: the HTML report written beside the project, its plots inline in the metadata."""
    deps = sorted({key for definition in upstream for key in definition.keys}, key=lambda k: k.to_user_string())

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
            report = build_report(wh, config.name)
        path = save_report(report, default_path(config))
        context.log.info(f"report written to {path}")
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
    """The report asset, downstream of every asset in ``upstream`` (the project's whole graph)."""
    return [report_asset(upstream)]
