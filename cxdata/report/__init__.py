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

from cxdata.config import DEFAULT_CURRENCY, ProjectConfig, redact_url
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
from cxdata.report.document import Figure, Listing, Report, Section, Table
from cxdata.report.glance import at_a_glance
from cxdata.report.html import render_html
from cxdata.report.scores import churn_section, clv_figure, value_section
from cxdata.report.touchpoints import touchpoint_section
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse

# Each section from the warehouse and the project currency (which only sections with amounts show).
SECTIONS: tuple[Callable[[Warehouse, str], Section], ...] = (
    kpi_section,
    lambda wh, _currency: journey_section(wh),
    value_section,
    lambda wh, _currency: churn_section(wh),
    touchpoint_section,
    lambda wh, _currency: identity_section(wh),
)
# The report figure each table's asset shows too. Segment value at risk, churn calibration and touchpoint
# return on spend are drawn by their own steps, whose assets show them already.
TABLE_FIGURES: dict[str, Callable[[Warehouse, str], Figure | None]] = {
    "cx_kpis_daily": kpi_figure,
    "dim_customer": lambda wh, _currency: funnel_figure(wh),
    "customer_identity": lambda wh, _currency: identity_figure(wh),
    "customer_scores": clv_figure,
}

__all__ = [
    "Figure",
    "Listing",
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


def _as_of(wh: Warehouse) -> dt.datetime | None:
    if not wh.exists("dim_customer"):
        return None
    return wh.query("select max(as_of) as as_of from dim_customer")["as_of"][0]


def _shown(moment: dt.datetime | None) -> str | None:
    return None if moment is None else f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def build_report(
    wh: Warehouse, project: str, currency: str = DEFAULT_CURRENCY, run: RunContext | None = None
) -> Report:
    """Every section of the report from the tables in ``wh``, amounts labelled with ``currency`` (the project's
    ISO code); sections without data say why. Built by ``run``, the report is dated by its start and as_of;
    built outside a run (`write_report`), by the clock and dim_customer's as_of."""
    built = run.now if run is not None else dt.datetime.now(dt.UTC)
    as_of = run.as_of if run is not None else _as_of(wh)
    sections = [make(wh, currency) for make in SECTIONS]
    glance = at_a_glance(wh, currency)
    return Report(project=project, built_at=_shown(built), as_of=_shown(as_of), sections=sections, glance=glance)


def table_figure(wh: Warehouse, table: str, currency: str = DEFAULT_CURRENCY) -> Figure | None:
    """The report's figure of ``table`` as it is in ``wh`` now (amounts in ``currency``); None for other tables
    or without data."""
    make = TABLE_FIGURES.get(table)
    return None if make is None else make(wh, currency)


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
        report = build_report(wh, config.name, config.currency)
    return save_report(report, out), report
