"""Churn classifiers with scikit-learn conventions: a calibrated gradient-boosting model and an RFM logit.

`ChurnClassifier` (kind "hgb") is a HistGradientBoostingClassifier whose
probabilities are calibrated on *later* data than it was trained on: the rows
of the most recent training cutoff (``calibrate_on``) are held out of the
boosting fit and used by CalibratedClassifierCV on the frozen model
(Platt sigmoid by default: isotonic over-fitted the few thousand rows of one
cutoff on a synthetic development project). That keeps the calibration honest
about drift over time
and costs one boosting fit instead of one per fold. Without a mask, a seeded
quarter of the rows is held out instead. ``base_`` is the uncalibrated model
(its Brier score is reported beside the calibrated one).

Kind "logit" is the RFM baseline: logistic regression on the RFM columns
(median-imputed, signed log1p, standardised); it needs no calibration.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler


def _signed_log1p(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


class ChurnClassifier(ClassifierMixin, BaseEstimator):
    """P(churn) from a feature matrix (NaN allowed); ``kind`` is "hgb" (calibrated) or "logit".

    Example::

        model = ChurnClassifier("hgb", seed=0).fit(X, y, calibrate_on=latest_cutoff_rows)
        model.predict_proba(X)[:, 1], model.predict_proba_uncalibrated(X)[:, 1]
    """

    def __init__(
        self,
        kind: str = "hgb",
        calibration: str = "sigmoid",
        max_iter: int = 200,
        learning_rate: float = 0.1,
        min_samples_leaf: int = 200,
        l2_regularization: float = 1.0,
        seed: int = 0,
    ):
        self.kind = kind
        self.calibration = calibration
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.seed = seed

    def fit(self, X, y, calibrate_on: np.ndarray | None = None) -> ChurnClassifier:
        """Fit on ``X``, ``y`` (1 = churned); for "hgb", calibrate on the ``calibrate_on`` rows (see module)."""
        X = np.asarray(X, dtype=float)
        y = np.asarray(y).astype(int)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        if self.kind == "logit":
            self.base_ = make_pipeline(
                SimpleImputer(strategy="median", keep_empty_features=True),
                FunctionTransformer(_signed_log1p),
                StandardScaler(),
                LogisticRegression(max_iter=1000),
            ).fit(X, y)
            self.calibrated_ = self.base_
            return self
        if self.kind != "hgb":
            raise ValueError(f"unknown kind {self.kind!r}; expected 'hgb' or 'logit'")
        held = self._held_out(y, calibrate_on)
        self.base_ = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            early_stopping=True,
            validation_fraction=0.1,
            random_state=self.seed,
        ).fit(X[~held], y[~held])
        self.calibrated_ = CalibratedClassifierCV(FrozenEstimator(self.base_), method=self.calibration).fit(
            X[held], y[held]
        )
        return self

    def _held_out(self, y: np.ndarray, calibrate_on: np.ndarray | None) -> np.ndarray:
        if calibrate_on is not None:
            held = np.asarray(calibrate_on, dtype=bool)
            # both parts need both classes, else fall back to a random split
            if held.any() and (~held).any() and len(set(y[held])) == 2 and len(set(y[~held])) == 2:
                return held
        return np.random.default_rng(self.seed).random(y.shape[0]) < 0.25

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated class probabilities, columns (not churned, churned)."""
        return self.calibrated_.predict_proba(np.asarray(X, dtype=float))

    def predict_proba_uncalibrated(self, X) -> np.ndarray:
        """The boosting model's own probabilities (the same as `predict_proba` for "logit")."""
        return self.base_.predict_proba(np.asarray(X, dtype=float))

    def predict(self, X) -> np.ndarray:
        """1 where the calibrated churn probability is at least 0.5."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)
