"""The survivor correction's arithmetic: no dropout leaves the plain baseline, dropout raises it as modelled."""

from __future__ import annotations

import numpy as np
import pytest

from cxdata.touchpoints.survival import Survival, expected_response


def test_without_dropout_the_baseline_is_the_plain_rate():
    orders, before, after = np.array([4.0, 0.0]), np.array([56.0, 20.0]), np.array([56.0, 56.0])
    expected = expected_response(
        Survival(r=2.0, alpha=60.0, a=1e-9, b=1.0), orders, before, 3.0, after, np.array([3.0, 0.0]),
        np.array([300.0, 20.0]), np.array([0.0, 0.0]), 3.0,
    )  # fmt: skip
    assert expected == pytest.approx(orders / (before + after) * 3.0)


def test_survived_orders_before_and_possible_dropout_after_raise_the_baseline():
    # p = a / (a + b + repeats + 1) = 0.1 and lambda = (r + repeats) / (alpha + age) = 0.05 a day: the window
    # before holds (1 - p) of the rate, the window after exp(-lambda p u) of it, the response window
    # (after a 1-day gap) a little less than all of it
    survival = Survival(r=1.0, alpha=0.0, a=1.0, b=7.0)
    repeats, age, gap = np.array([1.0]), np.array([40.0]), np.array([1.0])
    got = expected_response(
        survival, np.array([10.0]), np.array([56.0]), 3.0, np.array([56.0]), repeats, age, gap, 3.0
    )
    p, decay = 0.1, 0.05 * 0.1
    kept_after = (np.exp(-decay * 3.0) - np.exp(-decay * 59.0)) / (decay * 56.0)
    kept_response = (np.exp(-decay * 1.0) - np.exp(-decay * 3.0)) / (decay * 2.0)
    rate = 10.0 / (56.0 * (1 - p) + 56.0 * kept_after)
    assert got == pytest.approx([rate * 2.0 * kept_response])
    assert got[0] > 10.0 / 112.0 * 2.0  # above the plain baseline
