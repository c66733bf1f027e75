"""CDNOW (orders only): the classifier is not worse than the BTYD baseline on the same time holdout."""

from __future__ import annotations

import datetime as dt

from cxdata.churn.features import ChurnInputs
from cxdata.churn.train import train
from cxdata.config import ChurnConfig

TOLERANCE = 0.01


def test_cdnow_classifier_keeps_up_with_btyd(cdnow_orders):
    as_of = dt.datetime(1998, 6, 30, 23, 59, 59, tzinfo=dt.UTC)
    training = train(ChurnInputs(orders=cdnow_orders.lazy()), ChurnConfig(), as_of)
    model, btyd = training.metrics[training.chosen]["auc"], training.metrics["btyd_baseline"]["auc"]
    print(f"\nCDNOW holdout AUC: {training.chosen} {model:.4f}, BTYD {btyd:.4f}, {training.metrics}")
    assert model >= btyd - TOLERANCE
