"""Churn reasons: the planted drivers come out as reasons, and skipping rows at the median changes nothing."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from cxdata.churn.model import ChurnClassifier
from cxdata.churn.score import REASONS, reasons
from cxdata.churn.train import Training

FEATURES = ["days_since_last_order", "open_tickets", "noise"]


@pytest.fixture(scope="module")
def training():
    rng = np.random.default_rng(3)
    n = 20_000
    recency = rng.exponential(60, n)
    # most customers have no open ticket, like the real feature: the median is 0
    tickets = rng.binomial(3, 0.05, n).astype(float)
    X = np.column_stack([recency, tickets, rng.normal(size=n)])
    logit = -2.0 + recency / 40 + 1.2 * tickets
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    model = ChurnClassifier("hgb", max_iter=60, min_samples_leaf=50).fit(X, y)
    importances = [
        {"feature": "days_since_last_order", "importance": 0.2},
        {"feature": "open_tickets", "importance": 0.05},
        {"feature": "noise", "importance": 0.001},
    ]
    medians = dict(zip(FEATURES, np.median(X, axis=0).tolist(), strict=True))
    return Training(None, {}, "churn_hgb", model, FEATURES, medians, [], importances, n)


def definition(training: Training, X: np.ndarray, churn: np.ndarray) -> pl.DataFrame:
    # the module doc's method taken literally: every feature substituted for every row
    lifts = np.column_stack(
        [
            churn
            - training.model.predict_proba(np.where(np.arange(X.shape[1]) == j, training.medians[f], X))[:, 1]
            for j, f in enumerate(FEATURES)
        ]
    )
    medians = np.array([training.medians[f] for f in FEATURES])
    out = {}
    for rank, column in enumerate(REASONS):
        pick = np.argsort(-lifts, axis=1, kind="stable")[:, rank]
        value, median = X[np.arange(len(X)), pick], medians[pick]
        # in words, as cxdata.churn.score.WORDS writes these three (noise has no words of its own)
        side = np.where(value > median, " high", np.where(value < median, " low", ""))
        words = {
            0: [f"no order for {v:.0f} days" for v in value],
            1: [f"{v:.0f} open support tickets" for v in value],
            2: [f"noise{s} ({round(v, 2)})" for v, s in zip(value, side, strict=True)],
        }
        text = np.array(
            [
                f"{FEATURES[p].replace('_', ' ')} unknown" if np.isnan(v) else words[p][i]
                for i, (p, v) in enumerate(zip(pick, value, strict=True))
            ],
            dtype=object,
        )
        out[column] = [
            t if lift > 0 else None for t, lift in zip(text, lifts[np.arange(len(X)), pick], strict=True)
        ]
    return pl.DataFrame(out, schema={c: pl.String for c in REASONS})


def test_reasons_equal_substituting_every_row(training):
    rng = np.random.default_rng(9)
    X = np.column_stack([rng.exponential(60, 3000), rng.binomial(3, 0.05, 3000), rng.normal(size=3000)])
    X[:5, 1] = np.nan  # a missing value is not the median: it is substituted too
    churn = training.model.predict_proba(X)[:, 1]
    got = reasons(training, X, churn, limit=3)
    assert got.equals(definition(training, X, churn))


def test_planted_drivers_are_the_reasons(training):
    X = np.array([[400.0, 0.0, 0.0], [5.0, 3.0, 0.0], [5.0, 0.0, 0.0]])
    got = reasons(training, X, training.model.predict_proba(X)[:, 1], limit=3)
    assert got["churn_reason_1"][0] == "no order for 400 days"
    assert got["churn_reason_1"][1] == "3 open support tickets"
    # a recent buyer without tickets has nothing raising the risk above the median customer's
    assert not any(r and not r.startswith("noise") for r in got.row(2))


def test_input_matrix_is_not_changed(training):
    X = np.array([[400.0, 2.0, 1.0], [1.0, 0.0, -1.0]])
    before = X.copy()
    churn = training.model.predict_proba(X)[:, 1]
    copied = reasons(training, X, churn, limit=3)
    assert np.array_equal(X, before)
    # working in X itself (what score_features does with its own matrix) gives the same and puts X back
    in_place = reasons(training, X, churn, limit=3, copy=False)
    assert np.array_equal(X, before)
    assert in_place.equals(copied)
