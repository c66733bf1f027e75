"""Churn classifiers with scikit-learn conventions: a calibrated gradient-boosting model and an RFM logit.

`ChurnClassifier` (kind "hgb") is a HistGradientBoostingClassifier whose
probabilities are calibrated on *later* data than it was trained on: the rows
of the most recent training cutoff (``calibrate_on``) are held out of the
boosting fit and used by CalibratedClassifierCV on the frozen model. That
keeps the calibration honest about drift over time and costs one boosting fit
instead of one per fold. Without a mask, a seeded quarter of the rows is held
out instead. ``base_`` is the uncalibrated model (its Brier score is reported
beside the calibrated one).

Which calibration ("none", Platt "sigmoid" or "isotonic") is decided the same
way, one step further back in time (`ChurnClassifier.choose_calibration`):
fitted a cutoff earlier, each is judged on the next cutoff, and a calibrator is
kept only when it is clearly better there than none. A calibrator fitted
within one cutoff cannot tell whether the next one drifts the other way (a
cross-validated choice inside the latest cutoff made the holdout worse on the
truth project); log-loss boosting is often calibrated already, and then "none"
wins.

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

CALIBRATIONS = ("none", "sigmoid", "isotonic")


def _calibrate(base: HistGradientBoostingClassifier, method: str, X: np.ndarray, y: np.ndarray):
    # "none" keeps the boosting model's own probabilities (log-loss boosting is often calibrated already)
    if method == "none":
        return base
    return CalibratedClassifierCV(FrozenEstimator(base), method=method).fit(X, y)


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
        monotonic_cst: list[int] | None = None,
    ):
        self.kind = kind
        self.calibration = calibration
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.seed = seed
        self.monotonic_cst = monotonic_cst  # per feature: 1 increasing, -1 decreasing, 0 free (hgb only)

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
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"unknown calibration {self.calibration!r}; expected one of {CALIBRATIONS}")
        held = self._held_out(y, calibrate_on)
        self.base_ = self._boosting().fit(X[~held], y[~held])
        self.calibrated_ = _calibrate(self.base_, self.calibration, X[held], y[held])
        return self

    def _boosting(self) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            early_stopping=True,
            validation_fraction=0.1,
            random_state=self.seed,
            monotonic_cst=self.monotonic_cst,
        )

    def choose_calibration(self, X, y, period: np.ndarray) -> tuple[str, dict[str, float]]:
        """The calibration (of `CALIBRATIONS`) to use, and each one's Brier score one period later.

        ``period`` numbers the rows' cutoffs in time order. The boosting model is fitted on all but the last
        two periods, each calibration on the second to last, and all are judged on the last: the same
        step forward in time as `fit` takes before the holdout. A calibrator is chosen only when it beats
        the model's own probabilities clearly: its mean per-row improvement of the squared error is more
        than twice that mean's standard error (a paired comparison on the same rows), else "none".
        Needs three periods with both classes in each.
        """
        X, y, period = np.asarray(X, dtype=float), np.asarray(y).astype(int), np.asarray(period)
        last = period.max()
        fit_on, calibrate_on, judge_on = period < last - 1, period == last - 1, period == last
        if any(len(set(y[rows])) < 2 for rows in (fit_on, calibrate_on, judge_on)):
            raise ValueError("choosing a calibration needs both classes in each of the last three periods")
        base = self._boosting().fit(X[fit_on], y[fit_on])
        truth = y[judge_on]
        errors = {
            method: (_calibrate(base, method, X[calibrate_on], y[calibrate_on]).predict_proba(X[judge_on])[:, 1]
                     - truth) ** 2
            for method in CALIBRATIONS
        }  # fmt: skip
        scores = {method: float(e.mean()) for method, e in errors.items()}
        gains = {m: errors["none"] - e for m, e in errors.items() if m != "none"}
        clear = {m: g.mean() for m, g in gains.items() if g.mean() > 2 * g.std(ddof=1) / np.sqrt(g.size)}
        return (max(clear, key=clear.get) if clear else "none"), scores

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
