"""ChurnClassifier: the temporal choice of a calibration, on data where the answer is planted."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss

from cxdata.churn.model import ChurnClassifier

N = 6000  # rows per period


def periods(shift: dict[int, float], seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Four periods of three features; churn depends on the first feature, and in the periods of ``shift``
    the churn rate is shifted by that much on the log-odds scale (period 0 trains the model)."""
    rng = np.random.default_rng(seed)
    period = np.repeat(np.arange(4), N)
    X = rng.normal(size=(period.size, 3))
    offset = np.array([shift.get(p, 0.0) for p in range(4)])[period]
    logit = 1.5 * X[:, 0] - 0.5 + offset
    y = (rng.random(period.size) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y, period


def test_a_drifted_rate_gets_a_calibrator_that_helps_the_next_period():
    X, y, period = periods({1: 1.2, 2: 1.2, 3: 1.2})
    model = ChurnClassifier("hgb", max_iter=60, min_samples_leaf=50)
    upto = period <= 2
    method, scores = model.choose_calibration(X[upto], y[upto], period[upto])
    assert method in ("sigmoid", "isotonic")
    assert scores[method] < scores["none"]
    # and on the period after (the holdout), the chosen calibration beats the model's own probabilities
    fitted = ChurnClassifier("hgb", calibration=method, max_iter=60, min_samples_leaf=50).fit(
        X[period <= 2], y[period <= 2], calibrate_on=period[period <= 2] == 2
    )
    later = period == 3
    calibrated = brier_score_loss(y[later], fitted.predict_proba(X[later])[:, 1])
    uncalibrated = brier_score_loss(y[later], fitted.predict_proba_uncalibrated(X[later])[:, 1])
    assert calibrated < uncalibrated - 0.005


def test_a_calibrator_fitted_on_a_passing_drift_is_not_used():
    # the calibration period drifts away and the next one comes back: what the calibrator learnt is wrong
    X, y, period = periods({1: 1.0})
    upto = period <= 2
    method, scores = ChurnClassifier("hgb", max_iter=60, min_samples_leaf=50).choose_calibration(
        X[upto], y[upto], period[upto]
    )
    assert method == "none", scores
    assert scores["sigmoid"] > scores["none"] and scores["isotonic"] > scores["none"]
    fitted = ChurnClassifier("hgb", calibration="none").fit(X[upto], y[upto], calibrate_on=period[upto] == 2)
    np.testing.assert_array_equal(fitted.predict_proba(X[:50]), fitted.predict_proba_uncalibrated(X[:50]))


def test_choosing_needs_both_classes_in_the_last_three_periods():
    X, y, period = periods({})
    y = np.where(period == 2, 0, y)
    with pytest.raises(ValueError, match="both classes"):
        ChurnClassifier("hgb").choose_calibration(X, y, period)
    with pytest.raises(ValueError, match="unknown calibration"):
        ChurnClassifier("hgb", calibration="platt").fit(X, y)
