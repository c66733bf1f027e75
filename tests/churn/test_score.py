"""Churn reasons: the planted drivers come out as reasons, and skipping rows at the median changes nothing."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from cxdata.churn.model import ChurnClassifier
from cxdata.churn.score import REASONS, reasons
from cxdata.churn.train import Training, retained_reference

FEATURES = ["days_since_last_order", "open_tickets", "noise"]


class Counting:
    """A model counting the rows it predicts."""

    def __init__(self, model):
        self.model, self.rows = model, 0

    def predict_proba(self, X):
        self.rows += len(X)
        return self.model.predict_proba(X)


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
    frame = pl.DataFrame(X, schema=FEATURES).with_columns(churned=pl.Series(y))
    return Training(
        None, {}, "churn_hgb", model, FEATURES, retained_reference(frame, FEATURES), [], importances, n
    )


def definition(training: Training, X: np.ndarray, churn: np.ndarray, limit: int = len(FEATURES)) -> pl.DataFrame:
    # the module doc's method taken literally: every feature substituted for every row, then only the
    # contributions the method looks at: the first `limit` features for everyone; for a customer none of them
    # raises, the next ones up to the first that does
    lifts = np.column_stack(
        [
            churn
            - training.model.predict_proba(np.where(np.arange(X.shape[1]) == j, training.reference[f], X))[:, 1]
            for j, f in enumerate(FEATURES)
        ]
    )
    later = (lifts[:, :limit] <= 0).all(axis=1)
    raised_before = np.cumsum(lifts[:, limit:] > 0, axis=1) - (lifts[:, limit:] > 0) > 0
    looked = np.column_stack([np.ones((len(X), limit), dtype=bool), later[:, None] & ~raised_before])
    lifts = np.where(looked, lifts, 0.0)
    medians = np.array([training.reference[f] for f in FEATURES])
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


def test_a_customer_no_top_feature_explains_is_tried_with_the_next_ones(training):
    rng = np.random.default_rng(4)
    X = np.column_stack([rng.exponential(60, 3000), rng.binomial(3, 0.05, 3000), rng.normal(size=3000)])
    # a recent buyer with open tickets: the recency lowers the risk, the tickets raise it
    X[0] = [2.0, 3.0, 0.0]
    churn = training.model.predict_proba(X)[:, 1]
    counting = Counting(training.model)
    got = reasons(replace(training, model=counting), X, churn, limit=1)
    assert got.equals(definition(training, X, churn, limit=1))
    assert got["churn_reason_1"][0] == "3 open support tickets"
    # only the customers recency does not explain are predicted again, each only until a feature raises its
    # risk and only where it differs from the reference: one pass over everyone and a part of one over them
    unexplained = got["churn_reason_1"].is_null().to_numpy() | (
        X[:, 0] <= training.reference["days_since_last_order"]
    )
    tickets = (X[:, 1] != training.reference["open_tickets"]) & unexplained
    assert len(X) < counting.rows <= len(X) + tickets.sum() + unexplained.sum() < 1.6 * len(X)


def test_a_customer_at_the_median_of_a_churning_base_gets_the_reason():
    # most customers churn, so the population's median customer is at risk too; the reference is the median
    # customer who stayed, and a customer at the population median differs from that customer
    rng = np.random.default_rng(5)
    n = 20_000
    recency = rng.exponential(60, n)
    tickets = rng.binomial(3, 0.05, n).astype(float)
    X = np.column_stack([recency, tickets, rng.normal(size=n)])
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.5 + recency / 40 + 1.2 * tickets)))).astype(int)
    model = ChurnClassifier("hgb", max_iter=60, min_samples_leaf=50).fit(X, y)
    importances = [{"feature": f, "importance": v} for f, v in zip(FEATURES, (0.2, 0.05, 0.001), strict=True)]
    frame = pl.DataFrame(X, schema=FEATURES).with_columns(churned=pl.Series(y))
    training = Training(
        None, {}, "churn_hgb", model, FEATURES, retained_reference(frame, FEATURES), [], importances, n
    )
    assert y.mean() > 0.75
    median = float(np.median(recency))
    assert training.reference["days_since_last_order"] < 0.8 * median
    customer = np.array([[median, 0.0, 0.0]])
    churn = model.predict_proba(customer)[:, 1]
    got = reasons(training, customer, churn, limit=3)
    assert got["churn_reason_1"][0] == f"no order for {median:.0f} days"


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
