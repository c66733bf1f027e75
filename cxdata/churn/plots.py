"""The churn calibration chart, drawn from bins, so the training run and the report draw it the same way.

Kept apart from `cxdata.churn.evaluate` so drawing stored bins does not import scikit-learn.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure


def calibration_bins_png(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]]) -> bytes:
    """PNG bytes of observed churn rate against mean predicted probability, one line per model.

    ``curves`` maps a model name to its (mean predicted, observed rate) per bin.
    """
    fig = Figure(figsize=(5.5, 5))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect")
    for name, (predicted, observed) in curves.items():
        ax.plot(list(predicted), list(observed), marker="o", label=name)
    ax.set(xlabel="mean predicted churn probability", ylabel="observed churn rate", title="Churn calibration")
    ax.legend(loc="upper left")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()
