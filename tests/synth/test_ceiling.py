"""The Bayes ceiling's posterior against its closed forms, the direction of each piece of evidence, and what
it reads from a generated project."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import polars as pl
import pytest

from cxdata.synth import SynthParams, generate_project
from cxdata.synth.ceiling import TrueProcess, p_no_purchase, truth_churned
from cxdata.synth.params import DEFAULT_CAMPAIGNS

PROCESS = TrueProcess(
    purchase_r=1.0,
    purchase_alpha=35.0,
    dropout_a=1.3,
    dropout_b=12.0,
    sla_hours=24.0,
    bad_csat_max=2,
    bad_service_dropout_factor=2.5,
    retention_window_days=45.0,
    retention_effects={"winback": 0.3},
)
HORIZON = 365


def _evidence(x, age, gap, **columns) -> pl.DataFrame:
    """Customers with x repeat purchases, first order ``age`` days and last ``gap`` days before as_of; by
    default no ticket, no retention send, no NPS answer and not seen since the last order."""
    n = len(x)
    base = {
        "customer_key": [str(i) for i in range(n)],
        "frequency": np.asarray(x, float),
        "tenure_days": np.asarray(age, float),
        "days_since_last_order": np.asarray(gap, float),
        "last_first_response_hours": [None] * n,
        "last_csat": [None] * n,
        "ticket_since_last_order": [0.0] * n,
        "sessions_since_last_order": [0.0] * n,
        "contacts_seen_since_last_order": [0.0] * n,
        "nps_after": [False] * n,
        "retention_effect": [0.0] * n,
        "nps_scores": [None] * n,
    }
    schema = {
        "last_first_response_hours": pl.Float64,
        "last_csat": pl.Float64,
        "nps_scores": pl.List(pl.Float64),
    }
    return pl.DataFrame({**base, **columns}, schema_overrides=schema)


def _quiet_if_alive(x, age):
    # NBD: P(no purchase in h days | alive, x repeat purchases over age days) = ((alpha+T)/(alpha+T+h))^(r+x)
    r, alpha = PROCESS.purchase_r, PROCESS.purchase_alpha
    return ((alpha + age) / (alpha + age + HORIZON)) ** (r + x)


def test_posterior_equals_the_closed_form_without_service_marketing_or_signs_of_life():
    # dropout after each of the x + 1 purchases: P(dead) / P(alive) = E[(1-p)^x p] / E[(1-p)^(x+1)]
    # * ((alpha+T)/(alpha+t_x))^(r+x), and the Beta moments' ratio is a / (b + x)
    x, age, gap = np.array([0, 0, 3, 10, 25]), np.array([50, 700, 400, 800, 880]), np.array([50, 400, 30, 300, 5])
    frame = _evidence(x, age, gap)
    r, alpha, a, b = PROCESS.purchase_r, PROCESS.purchase_alpha, PROCESS.dropout_a, PROCESS.dropout_b
    odds = a / (b + x) * ((alpha + age) / (alpha + age - gap)) ** (r + x)
    expected = 1 - 1 / (1 + odds) * (1 - _quiet_if_alive(x, age))
    got = p_no_purchase(frame, PROCESS, HORIZON, silence_rate=0.0, tracked_share=0.0)
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    # silence, when tracked, multiplies the odds by 1 / P(unseen for gap days | alive)
    silent = p_no_purchase(frame, PROCESS, HORIZON, silence_rate=0.01, tracked_share=0.5)
    unseen = 1 - 0.5 * (1 - np.exp(-0.01 * gap))
    np.testing.assert_allclose(silent, 1 - 1 / (1 + odds / unseen) * (1 - _quiet_if_alive(x, age)), rtol=1e-4)


def test_a_customer_seen_since_the_last_order_is_alive():
    x, age, gap = np.array([0, 4]), np.array([600, 600]), np.array([500, 200])
    for seen in (
        {"sessions_since_last_order": [1.0, 2.0]},
        {"contacts_seen_since_last_order": [1.0, 1.0]},
        {"nps_after": [True, True]},
    ):
        got = p_no_purchase(_evidence(x, age, gap, **seen), PROCESS, HORIZON, 0.01, 1.0)
        np.testing.assert_allclose(got, _quiet_if_alive(x, age), rtol=1e-12)


def test_each_piece_of_evidence_moves_the_posterior_its_way():
    x, age, gap = [2, 2], [500, 500], [200, 200]

    def scores(**columns):
        return p_no_purchase(_evidence(x, age, gap, **columns), PROCESS, HORIZON, 0.0, 0.0)

    plain = scores()
    assert plain[0] == pytest.approx(plain[1], rel=1e-12)
    # the last order's ticket: slow, or a low CSAT, raises the last dropout chance; a fast good one does not
    bad = scores(ticket_since_last_order=[1.0, 1.0], last_first_response_hours=[48.0, 2.0], last_csat=[5.0, 1.0])
    assert (bad > plain).all()
    good = scores(ticket_since_last_order=[1.0, 1.0], last_first_response_hours=[2.0, 2.0], last_csat=[5.0, 4.0])
    np.testing.assert_allclose(good, plain, rtol=1e-12)
    # a retention send before the last order lowers it
    assert (scores(retention_effect=[0.3, 0.6]) < plain).all()
    assert scores(retention_effect=[0.3, 0.6])[1] < scores(retention_effect=[0.3, 0.6])[0]
    # NPS answers are evidence about p: a detractor's is higher than a promoter's, two low answers higher still
    nps = scores(nps_scores=[[10.0], [2.0]])
    assert nps[0] < plain[0] < nps[1] < scores(nps_scores=[[2.0, 1.0], [2.0]])[0]


def test_the_process_is_read_from_the_project(tmp_path):
    campaigns = tuple(
        dataclasses.replace(c, retention_effect=0.1 * (i + 1)) if c.retention_effect > 0 else c
        for i, c in enumerate(DEFAULT_CAMPAIGNS)
    )
    params = SynthParams(
        customers=50, seed=3, purchase_alpha=20.0, dropout_b=9.0, sla_hours=12.0, campaigns=campaigns
    )
    generate_project(tmp_path, params)
    process = TrueProcess.of_project(tmp_path)
    assert (process.purchase_alpha, process.dropout_b, process.sla_hours) == (20.0, 9.0, 12.0)
    assert process.retention_effects == {
        c.campaign: c.retention_effect for c in campaigns if c.retention_effect > 0
    }
    assert process.retention_effects


def test_truth_churned_is_no_future_order_within_the_horizon(tmp_path):
    as_of = dt.datetime(2026, 6, 30, 22, tzinfo=dt.UTC)
    (tmp_path / "truth").mkdir()
    pl.DataFrame(
        {
            "person_id": [1, 2, 2],
            "ordered_at": [as_of + dt.timedelta(days=10), as_of + dt.timedelta(days=40), as_of + dt.timedelta(1)],
        }
    ).write_parquet(tmp_path / "truth" / "future_orders.parquet")
    customers = pl.DataFrame({"customer_key": ["1", "2", "3"]})
    assert truth_churned(tmp_path, customers, as_of, 30)["churned"].to_list() == [False, False, True]
    assert truth_churned(tmp_path, customers, as_of, 5)["churned"].to_list() == [True, False, True]
