"""Touchpoint plots as PNG bytes via matplotlib's Agg backend (a `Figure` without pyplot is thread-safe)."""

from __future__ import annotations

import io

import numpy as np
import polars as pl

from cxdata.config import DEFAULT_CURRENCY


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def removal_effects_png(scores: pl.DataFrame) -> bytes:
    """Horizontal bars of each touchpoint's Markov removal effect, largest on top."""
    from matplotlib.figure import Figure

    rows = scores.filter(pl.col("removal_effect").is_not_null()).sort("removal_effect")
    figure = Figure(figsize=(8, 0.35 * max(rows.height, 4) + 1.2))
    ax = figure.add_subplot()
    ax.barh(rows["touchpoint"].to_list(), rows["removal_effect"].to_numpy())
    ax.set_xlabel("removal effect (share of conversions lost without the touchpoint)")
    ax.set_title("Markov removal effects")
    return _png(figure)


def roi_png(scores: pl.DataFrame, hurdle: float, currency: str = DEFAULT_CURRENCY) -> bytes:
    """Incremental value per 1 ``currency`` spent of each paid touchpoint with its interval and the hurdle, on a
    symmetric log axis."""
    from matplotlib.figure import Figure

    # ties in name order, so the chart of the same scores is the same wherever it is drawn
    rows = scores.filter(pl.col("roi").is_not_null()).sort("roi", pl.col("touchpoint").cast(pl.String))
    roi = rows["roi"].to_numpy()
    low = rows["roi_low"].fill_null(strategy="zero").to_numpy()
    high = rows["roi_high"].fill_null(strategy="zero").to_numpy()
    colours = {"invest": "tab:green", "hold": "tab:gray", "cut": "tab:red"}
    figure = Figure(figsize=(8, 0.35 * max(rows.height, 4) + 1.2))
    ax = figure.add_subplot()
    y = np.arange(rows.height)
    ax.barh(y, roi, color=[colours.get(r, "tab:blue") for r in rows["recommendation"].to_list()])
    errors = np.vstack([np.maximum(roi - low, 0.0), np.maximum(high - roi, 0.0)])
    ax.errorbar(roi, y, xerr=errors, fmt="none", ecolor="black", capsize=3)
    ax.axvline(hurdle, color="black", linestyle="--", label=f"hurdle {hurdle:g}")
    ax.set_yticks(y, rows["touchpoint"].to_list())
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel(f"incremental value per 1 {currency} spent, with interval")
    ax.set_title("Touchpoint return on spend: invest (green), hold (grey), cut (red)")
    ax.legend()
    return _png(figure)
