"""The project report: one self-contained HTML page of CX KPIs, journey, value, churn, touchpoints, identity.

`build_report` reads the warehouse into sections of figures and tables;
`render_html` turns them into a page; `write_report` does both for a project
config and writes the file. `table_figure` gives the one report figure drawn
from a table, for the asset that publishes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from cxdata.config import ProjectConfig, redact_url
from cxdata.errors import CxdataError
from cxdata.files import replacing
from cxdata.report.cx import (
    funnel_figure,
    identity_figure,
    identity_section,
    journey_section,
    kpi_figure,
    kpi_section,
)
from cxdata.report.document import Figure, Report, Section, Table
from cxdata.report.html import render_html
from cxdata.report.scores import churn_section, clv_figure, touchpoint_section, value_section
from cxdata.warehouse import Warehouse

SECTIONS: tuple[Callable[[Warehouse], Section], ...] = (
    kpi_section,
    journey_section,
    value_section,
    churn_section,
    touchpoint_section,
    identity_section,
)
# The report figure each table's asset shows too. Segment value at risk, churn calibration and touchpoint
# return on spend are drawn by their own steps, whose assets show them already.
TABLE_FIGURES: dict[str, Callable[[Warehouse], Figure | None]] = {
    "cx_kpis_daily": kpi_figure,
    "dim_customer": funnel_figure,
    "customer_identity": identity_figure,
    "customer_scores": clv_figure,
}

__all__ = [
    "Figure",
    "Report",
    "Section",
    "Table",
    "build_report",
    "default_path",
    "render_html",
    "save_report",
    "table_figure",
    "write_report",
]


def _as_of(wh: Warehouse) -> str | None:
    if not wh.exists("dim_customer"):
        return None
    moment = wh.query("select max(as_of) as as_of from dim_customer")["as_of"][0]
    return None if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def build_report(wh: Warehouse, project: str) -> Report:
    """Every section of the report from the tables in ``wh``; sections without data say why."""
    built = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return Report(project=project, built_at=built, as_of=_as_of(wh), sections=[make(wh) for make in SECTIONS])


def table_figure(wh: Warehouse, table: str) -> Figure | None:
    """The report's figure of ``table`` as it is in ``wh`` now; None for other tables or without data."""
    make = TABLE_FIGURES.get(table)
    return None if make is None else make(wh)


def default_path(config: ProjectConfig) -> Path:
    """Where the Dagster asset writes the report: ``.cxdata/report.html`` beside the project config."""
    return config.base_dir / ".cxdata" / "report.html"


def save_report(report: Report, out: Path) -> Path:
    """Write ``report`` as HTML to ``out`` (folders created), whole or not at all and readable by its owner only
    (see `cxdata.files`); returns the path."""
    out = Path(out)
    page = render_html(report).encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    # The path is the user's choice and the page the business's figures: never through a planted link, never
    # readable by other users, never half-written.
    with replacing(out) as sink:
        sink.write(page)
    return out


def write_report(config: ProjectConfig, out: Path) -> tuple[Path, Report]:
    """Build the report of ``config``'s warehouse and write it to ``out``; an empty warehouse is an error."""
    with Warehouse(config.warehouse, schema=config.warehouse_schema) as wh:
        if not wh.tables():
            raise CxdataError(
                f"the warehouse of {config.name!r} ({redact_url(config.warehouse)}) has no tables:"
                f" run `cxdata run --config {config.path}` first"
            )
        report = build_report(wh, config.name)
    return save_report(report, out), report
