"""Model choice on the time holdout (cxdata/clv/evaluate.py `choose`)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import mean_poisson_deviance

from cxdata.clv.evaluate import choose


def test_choice_ranks_by_deviance_not_by_mae():
    # holdout purchases of 10 customers: 8 buy nothing, 2 buy 5 (mean 1.0); a model predicting 0.2 for everyone
    # has the smaller MAE (the median of such counts is 0) but is biased low; the unbiased one must win
    actual = np.array([0.0] * 8 + [5.0] * 2)
    candidates = []
    for level in (0.2, 1.0):
        predicted = np.full(actual.size, level)
        candidates.append(
            {
                "aggregate_error": predicted.sum() / actual.sum() - 1,
                "mae": float(np.abs(predicted - actual).mean()),
                "poisson_deviance": float(mean_poisson_deviance(actual, predicted)),
            }
        )
    assert candidates[0]["mae"] < candidates[1]["mae"]
    assert choose(candidates, max_error=1.0) == (1, None)
    # outside the bound the smaller bias wins and the result says so
    index, warning = choose(candidates, max_error=0.01)
    assert index == 1 and warning is None
    index, warning = choose(candidates[:1], max_error=0.5)
    assert index == 0 and "beyond max_holdout_error" in warning
