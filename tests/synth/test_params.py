"""The planted parameters: validation, JSON form and the verdict rule."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from cxdata.synth import SynthParams
from cxdata.synth.params import recommendation


def test_params_are_frozen_and_json_serialisable():
    params = SynthParams(customers=10, seed=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.customers = 11  # type: ignore[misc]
    doc = json.loads(json.dumps(params.to_dict()))
    assert doc["seed"] == 3 and doc["as_of"] == "2026-06-30"
    assert {f.name for f in dataclasses.fields(SynthParams)} <= set(doc)
    assert doc["campaigns"][0]["channel"] == "email"


@pytest.mark.parametrize(
    "bad",
    [{"customers": 0}, {"spend_q": 1.0}, {"timezone": "Mars/Olympus"}, {"history_days": 0}],
)
def test_invalid_params_are_rejected_with_the_reason(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        SynthParams(**bad)


def test_mean_spend_is_the_gamma_gamma_mean():
    assert SynthParams(spend_p=6, spend_q=4, spend_gamma=30).mean_spend() == pytest.approx(60.0)


def test_recommendation_bands_around_the_hurdle():
    verdict = recommendation(np.array([2.0, 1.26, 1.25, 1.0, 0.75, 0.74, np.nan]), 1.0, 0.25)
    assert verdict.tolist() == ["invest", "invest", "hold", "hold", "hold", "cut", "hold"]
