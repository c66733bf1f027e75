"""The CLV checks an orchestrator shows: a usable model blocks nothing, a failed or degenerate one does."""

from __future__ import annotations

import math

from cxdata.clv.checks import holdout_verdict, model_verdict
from cxdata.clv.step import ClvReport
from cxdata.config import ClvConfig


def report(**changes) -> ClvReport:
    base = {
        "model_run_id": "r/clv",
        "model": "bgnbd",
        "params": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4},
        "metrics": {"aggregate_error": 0.05},
        "candidates": [],
        "attempts": [],
    }
    return ClvReport(**{**base, **changes})


def test_a_converged_model_with_positive_finite_parameters_passes():
    assert model_verdict(report()).passed


def test_a_failed_run_fails_with_its_reason():
    verdict = model_verdict(report(model=None, params=None, failed="none of 8 fit attempts converged"))
    assert not verdict.passed
    assert "none of 8 fit attempts converged" in verdict.reason


def test_non_finite_or_non_positive_parameters_fail_and_are_named():
    verdict = model_verdict(report(params={"r": 0.2, "alpha": math.nan, "a": 0.0, "b": 1.0}))
    assert not verdict.passed
    assert "alpha" in verdict.reason and "'a'" in verdict.reason and "'r'" not in verdict.reason


def test_holdout_error_outside_the_bound_warns():
    config = ClvConfig(max_holdout_error=0.10)
    assert holdout_verdict(report(metrics={"aggregate_error": -0.08}), config).passed
    outside = holdout_verdict(report(metrics={"aggregate_error": 0.12}), config)
    assert not outside.passed and "+12.0%" in outside.reason
    assert not holdout_verdict(report(metrics={}), config).passed
