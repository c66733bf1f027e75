"""Holdout metrics of churn probabilities: known values on hand-made labels, calibration bins kept."""

from __future__ import annotations

import numpy as np
import pytest

from cxdata.churn.evaluate import churn_metrics, top_decile_lift


def test_metrics_of_a_perfect_ranking():
    y = np.array([0] * 90 + [1] * 10)
    p = np.linspace(0.01, 0.99, 100)  # the ten churners hold the ten highest scores
    metrics = churn_metrics(y, p)
    assert metrics["auc"] == pytest.approx(1.0)
    assert metrics["average_precision"] == pytest.approx(1.0)
    assert metrics["lift_top_decile"] == pytest.approx(10.0)
    assert metrics["churn_rate"] == pytest.approx(0.1)


def test_calibration_bins_follow_calibrated_probabilities():
    rng = np.random.default_rng(0)
    p = rng.random(200_000)
    y = (rng.random(p.size) < p).astype(int)
    bins = churn_metrics(y, p)["calibration"]
    assert len(bins["predicted"]) == len(bins["observed"]) == 10
    assert np.allclose(bins["predicted"], bins["observed"], atol=0.01)
    assert churn_metrics(y, p)["brier"] < churn_metrics(y, np.full(p.size, y.mean()))["brier"]


def test_one_class_holdout_has_no_auc_and_no_bins():
    metrics = churn_metrics(np.zeros(5, dtype=int), np.full(5, 0.2))
    assert np.isnan(metrics["auc"])
    assert metrics["calibration"] == {"predicted": [], "observed": []}
    assert top_decile_lift(np.zeros(5), np.full(5, 0.2)) != top_decile_lift(np.zeros(5), np.full(5, 0.2))  # nan
