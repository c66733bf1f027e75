"""Holdout plots rendered to PNG bytes with matplotlib's Agg backend, for an orchestrator to attach.

They draw the same pictures as ``lifetimes.plotting.plot_cumulative_transactions``
and ``plot_calibration_purchases_vs_holdout_purchases`` from frames computed in
polars (`cxdata.clv.evaluate`), so they stay fast on millions of customers.
A `Figure` without pyplot keeps rendering free of global state (thread-safe).
"""

from __future__ import annotations

import io

import polars as pl


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def tracking_png(track: pl.DataFrame, freq: str) -> bytes:
    """Cumulative repeat purchases, actual vs expected, with the calibration end marked."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.5))
    ax = figure.add_subplot()
    ax.plot(track["period"], track["actual"], label="actual")
    ax.plot(track["period"], track["expected"], label="model", linestyle="--")
    ax.axvline(track["calibration_end_period"][0], color="red", linestyle=":", label="calibration end")
    ax.set_xlabel("days" if freq == "D" else "weeks")
    ax.set_ylabel("cumulative repeat purchases")
    ax.set_title("Tracking cumulative repeat purchases")
    ax.legend()
    return _png(figure)


def calibration_holdout_png(frame: pl.DataFrame) -> bytes:
    """Mean holdout purchases by calibration frequency, actual vs predicted."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.5))
    ax = figure.add_subplot()
    labels = [str(int(v)) for v in frame["frequency_cal"]]
    labels[-1] += "+"
    ax.plot(labels, frame["actual"], marker="o", label="actual")
    ax.plot(labels, frame["predicted"], marker="s", linestyle="--", label="model")
    ax.set_xlabel("purchases in calibration period")
    ax.set_ylabel("mean purchases in holdout period")
    ax.set_title("Actual vs predicted holdout purchases")
    ax.legend()
    return _png(figure)
