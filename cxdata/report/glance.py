"""The report's first screen: what to invest in and cut, and the total value at risk, before any section.

Read from the same tables the sections read (touchpoint_scores and segment_summary at their latest as_of), so
the first screen and the sections below it never disagree; each line says so when its data is missing.
"""

from __future__ import annotations

import polars as pl

from cxdata.report.document import cell
from cxdata.warehouse import Warehouse


def _latest(wh: Warehouse, table: str) -> pl.DataFrame | None:
    if not wh.exists(table) or wh.row_count(table) == 0:
        return None
    frame = wh.read(table)
    return frame.filter(pl.col("as_of") == frame["as_of"].max())


def _touchpoints(wh: Warehouse) -> list[str]:
    scores = _latest(wh, "touchpoint_scores")
    if scores is None:
        return ["Invest / cut: no touchpoint scores yet."]
    lines = []
    for decision, title, none in (
        ("invest", "Invest in", "no touchpoint clears the hurdle with confidence"),
        ("cut", "Cut", "no touchpoint falls below the hurdle with confidence"),
    ):
        names = scores.filter(pl.col("recommendation") == decision).sort("touchpoint")["touchpoint"].to_list()
        lines.append(f"{title}: {', '.join(str(n) for n in names) if names else none}.")
    return lines


def _value_at_risk(wh: Warehouse, currency: str) -> str:
    summary = _latest(wh, "segment_summary")
    if summary is None:
        return "Value at risk: no churn segments yet."
    total = summary["total_value_at_risk"].sum()
    top = summary.sort("total_value_at_risk", descending=True, nulls_last=True).row(0, named=True)
    return (
        f"Total value at risk: {cell(float(total))} {currency} over {cell(int(summary['customers'].sum()))}"
        f" scored customers; most in {top['segment']} ({cell(float(top['total_value_at_risk'] or 0.0))}"
        f" {currency}, {cell(int(top['customers']))} customers)."
    )


def at_a_glance(wh: Warehouse, currency: str) -> list[str]:
    """The first screen's lines: the invest and cut lists, then the total value at risk in ``currency``."""
    return [*_touchpoints(wh), _value_at_risk(wh, currency)]
