"""Render a built `Report` as one self-contained HTML page: figures inline as base64 PNG data URLs.

Jinja2 with autoescaping escapes every value taken from the data (names,
segments, campaign names, notes), so nothing in the warehouse becomes markup.
"""

from __future__ import annotations

import base64

from jinja2 import Environment, PackageLoader, select_autoescape

from cxdata.report.document import Report, cell


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("cxdata.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=False,
    )
    environment.filters["b64"] = lambda data: base64.b64encode(data).decode("ascii")
    environment.filters["cell"] = cell
    return environment


def render_html(report: Report) -> str:
    """The report as a complete HTML document (no external files, scripts or fonts)."""
    return _environment().get_template("report.html.j2").render(report=report)
