"""The report's own plots, drawn with matplotlib's object API (no pyplot state) into PNG bytes.

Plots that other steps already draw (segment sizes and value at risk, churn
calibration from labels, touchpoint return on spend) come from their modules;
these draw the rest, which the assets that produce their data show as well
(``cxdata.report.table_figure``). Each takes a small, already aggregated frame.
"""

from __future__ import annotations

import io

import polars as pl
from matplotlib.figure import Figure


def png(figure: Figure, dpi: int = 90) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def kpi_trends_png(weekly: pl.DataFrame, panels: dict[str, str]) -> bytes:
    """One small line chart per KPI column of ``weekly`` (column ``week``), titled by ``panels[column]``."""
    columns = 2 if len(panels) > 1 else 1
    rows = (len(panels) + columns - 1) // columns
    figure = Figure(figsize=(10, 2.6 * rows))
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True)
    for ax, (column, label) in zip(axes.flat, panels.items(), strict=False):
        ax.plot(weekly["week"], weekly[column], marker=".", linewidth=1)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.tick_params(axis="x", labelrotation=30)
    figure.suptitle("CX KPIs by week (all channels)")
    figure.tight_layout()
    return png(figure)


def funnel_png(stages: pl.DataFrame) -> bytes:
    """Horizontal bars: customers per journey stage (columns journey_stage, customers), first stage on top."""
    figure = Figure(figsize=(8, 0.6 * stages.height + 1.2))
    ax = figure.subplots()
    names = stages["journey_stage"].to_list()
    counts = stages["customers"].to_list()
    total = sum(counts) or 1
    positions = list(range(len(names)))[::-1]
    ax.barh(positions, counts, color="tab:blue")
    for position, count in zip(positions, counts, strict=True):
        ax.text(count, position, f" {count:,} ({100 * count / total:.0f} %)", va="center", fontsize=9)
    ax.set_yticks(positions, names)
    ax.set_xlabel("customers")
    ax.set_xlim(0, max(counts) * 1.3 if counts else 1)
    ax.set_title("Journey stages")
    return png(figure)


def clv_distribution_png(clv: pl.Series, cap: float, currency: str) -> bytes:
    """Histogram of customer CLV in ``currency`` up to ``cap`` (larger values in the last bin), mean and median
    marked."""
    figure = Figure(figsize=(8, 4))
    ax = figure.subplots()
    ax.hist(clv.clip(upper_bound=cap).to_numpy(), bins=40, color="tab:blue")
    ax.axvline(clv.median(), color="black", linestyle="--", label=f"median {clv.median():,.0f}")
    ax.axvline(clv.mean(), color="tab:red", linestyle=":", label=f"mean {clv.mean():,.0f}")
    ax.set_xlabel(f"CLV over the horizon, {currency} (values above {cap:,.0f} in the last bin)")
    ax.set_ylabel("customers")
    ax.set_title("CLV distribution")
    ax.legend()
    return png(figure)


def identity_png(per_customer: pl.DataFrame, identifiers: pl.DataFrame) -> bytes:
    """Two panels: customers by number of source records; identifiers by type, stacked by status."""
    figure = Figure(figsize=(10, 4))
    left, right = figure.subplots(1, 2)
    left.bar(per_customer["records"].to_list(), per_customer["customers"].to_list(), color="tab:blue")
    left.set(xlabel="source records per customer", ylabel="customers", title="Records per resolved customer")
    types = sorted(identifiers["identifier_type"].unique().to_list())
    bottom = [0] * len(types)
    for status in sorted(identifiers["status"].unique().to_list()):
        counts = dict(
            identifiers.filter(pl.col("status") == status).select("identifier_type", "identifiers").iter_rows()
        )
        heights = [counts.get(t, 0) for t in types]
        right.bar(types, heights, bottom=bottom, label=status)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    right.set(ylabel="identifier values", title="Identifiers by type and status")
    right.tick_params(axis="x", labelrotation=30)
    right.legend()
    figure.tight_layout()
    return png(figure)
