"""What a report is made of: sections holding figures (PNG bytes), small tables and notes.

Sections are plain data so that the HTML page and the Dagster asset metadata
render the same figures from one build.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import polars as pl


@dataclass(frozen=True)
class Figure:
    """One plot: a short name (unique in the report), a caption and the PNG bytes matplotlib drew."""

    name: str
    caption: str
    png: bytes


@dataclass(frozen=True)
class Table:
    """A small table shown as is (a few dozen rows at most): a caption and the frame."""

    caption: str
    frame: pl.DataFrame


@dataclass(frozen=True)
class Listing:
    """A headed list of sentences a section leads with (what to act on), shown before its figures and tables;
    ``none`` is shown in place of an empty list. ``key`` names the list in the page (``data-list``)."""

    key: str
    title: str
    items: list[str]
    none: str


@dataclass
class Section:
    """One part of the report; ``empty`` says why there is nothing to show when its data is missing."""

    id: str
    title: str
    intro: str
    listings: list[Listing] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    empty: str | None = None


@dataclass(frozen=True)
class Report:
    """A built report: the project name, when it was built, the data's as_of and the sections in order."""

    project: str
    built_at: str
    as_of: str | None
    sections: list[Section]
    glance: list[str] = field(default_factory=list)  # the first screen's lines (cxdata.report.glance)

    @property
    def figures(self) -> list[Figure]:
        """Every figure of every section, in report order."""
        return [figure for section in self.sections for figure in section.figures]


def cell(value: object) -> str:
    """A table value as text: thousands separators for large numbers, three significant digits for small."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return "-"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def facts_table(caption: str, facts: dict[str, object]) -> Table:
    """A two-column table (fact, value) of mixed values, each shown as text."""
    shown = [v if isinstance(v, str) else cell(v) for v in facts.values()]
    return Table(caption, pl.DataFrame({"fact": list(facts), "value": shown}))
