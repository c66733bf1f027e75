"""Holdout metrics of churn probabilities, the calibration plot and permutation importances.

Metrics (scikit-learn): ROC AUC, average precision, Brier score, log loss, and
the lift of the top decile (churn rate among the 10 % highest scores over the
overall rate). The calibration plot draws each model's mean predicted
probability against the observed churn rate in ten quantile bins. Permutation
importances are the mean drop of ROC AUC when one feature is shuffled, on a
seeded sample of the holdout.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.inspection import permutation_importance
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score
from threadpoolctl import threadpool_limits

from cxdata.churn.plots import calibration_bins_png


def top_decile_lift(y: np.ndarray, p: np.ndarray) -> float:
    """Churn rate among the 10 % highest ``p`` divided by the overall churn rate."""
    n = max(1, int(np.ceil(0.1 * len(p))))
    top = np.argsort(-p, kind="stable")[:n]
    overall = float(np.mean(y))
    return float(np.mean(y[top]) / overall) if overall > 0 else float("nan")


def churn_metrics(y, p, bins: int = 10) -> dict[str, Any]:
    """ROC AUC, average precision, Brier, log loss and top-decile lift of probabilities ``p`` for labels ``y``,
    and the calibration bins (mean predicted, observed rate) a report can redraw without the holdout rows."""
    y = np.asarray(y).astype(int)
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    both = len(set(y)) == 2
    observed, predicted = calibration_curve(y, p, n_bins=bins, strategy="quantile") if both else ([], [])
    return {
        "customers": len(y),
        "churn_rate": float(np.mean(y)) if len(y) else float("nan"),
        "auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "average_precision": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "lift_top_decile": top_decile_lift(y, p),
        "calibration": {"predicted": [float(v) for v in predicted], "observed": [float(v) for v in observed]},
    }


def calibration_png(y, probabilities: dict[str, np.ndarray], bins: int = 10) -> bytes:
    """PNG bytes of observed churn rate against mean predicted probability, one line per model."""
    curves = {}
    for name, p in probabilities.items():
        observed, predicted = calibration_curve(
            np.asarray(y).astype(int), np.asarray(p), n_bins=bins, strategy="quantile"
        )
        curves[name] = (predicted, observed)
    return calibration_bins_png(curves)


def importances(model, X: np.ndarray, y: np.ndarray, names: list[str], rows: int, repeats: int, seed: int):
    """Permutation importance (mean and sd of the ROC AUC drop) per feature, most important first."""
    rng = np.random.default_rng(seed)
    take = rng.choice(len(y), size=min(rows, len(y)), replace=False) if len(y) > rows else np.arange(len(y))
    # hundreds of small predictions: OpenMP's per-call thread start and barrier cost more than a second thread
    # gains, and crawl when another process shares the cores
    with threadpool_limits(1, user_api="openmp"):
        result = permutation_importance(
            model, X[take], np.asarray(y)[take], scoring="roc_auc", n_repeats=repeats, random_state=seed
        )
    order = np.argsort(-result.importances_mean, kind="stable")
    return [
        {
            "feature": names[i],
            "importance": float(result.importances_mean[i]),
            "sd": float(result.importances_std[i]),
        }
        for i in order
    ]
