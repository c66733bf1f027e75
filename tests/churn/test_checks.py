"""The churn checks: trained or why not, and the holdout AUC against the BTYD baseline."""

from __future__ import annotations

import math

import pytest

from cxdata.churn.checks import baseline_verdict, trained_verdict
from cxdata.churn.step import ChurnReport


def report(model: str | None = "churn_hgb", auc: float = 0.85, btyd: float = 0.84, failed: str | None = None):
    metrics = {"churn_hgb": {"auc": auc}, "btyd_baseline": {"auc": btyd}} if model else {}
    return ChurnReport("r/churn", model, metrics, [], scored_customers=10, failed=failed)


def test_a_trained_model_passes_and_a_skipped_or_failed_one_says_why():
    assert trained_verdict(report()).passed
    skipped = trained_verdict(None)
    assert not skipped.passed and "CLV run failed" in skipped.reason
    failed = trained_verdict(report(model=None, failed="not enough history: orders start 2024-01-01"))
    assert not failed.passed and "not enough history" in failed.reason


@pytest.mark.parametrize(
    ("auc", "btyd", "passed"),
    [(0.85, 0.84, True), (0.835, 0.84, True), (0.829, 0.84, False), (math.nan, 0.84, False)],
)
def test_the_classifier_may_trail_btyd_by_at_most_a_hundredth_of_auc(auc, btyd, passed):
    verdict = baseline_verdict(report(auc=auc, btyd=btyd))
    assert verdict.passed is passed
    assert "BTYD" in verdict.reason


def test_no_model_means_no_comparison():
    assert not baseline_verdict(None).passed
    assert not baseline_verdict(report(model=None, failed="x")).passed
