"""cx_kpis_daily formulas on a hand-computed fixture (one day, a few channels)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxdata.marts import cx_kpis_daily, fct_orders, fct_surveys, fct_tickets
from cxdata.marts.kpis import COLUMNS

DAY = dt.date(2025, 3, 1)


def _surveys(at, keys) -> pl.LazyFrame:
    # NPS: 5 promoters (10,10,9,9,9), 2 passives (8,7), 3 detractors (6,2,0): 50% - 30% = 20 points.
    nps = [10, 10, 9, 9, 9, 8, 7, 6, 2, 0]
    csat = [5, 4, 3, 1, 5]  # 3 of 5 satisfied: 0.6
    ces = [2, 3, 7]  # mean 4
    scores = nps + csat + ces
    kinds = ["nps"] * 10 + ["csat"] * 5 + ["ces"] * 3
    # The first four NPS answers followed chat ticket t1: chat NPS = 100; the other six: (1 - 3) / 6 = -33.3.
    ticket = ["t1"] * 4 + [None] * 14
    raw = pl.LazyFrame(
        {
            "response_id": [f"r{i}" for i in range(18)],
            "ticket_id": ticket,
            "responded_at": [at(1, 10)] * 18,
            "kind": kinds,
            "score": [float(s) for s in scores],
        }
    )
    return fct_surveys(raw, keys("surveys", {}), pl.LazyFrame({"ticket_id": ["t1"], "channel": ["chat"]}))


def _tickets(at, keys) -> pl.LazyFrame:
    raw = pl.LazyFrame(
        {
            "ticket_id": ["t1", "t2", "t3", "t4"],
            "opened_at": [at(1, 0)] * 4,
            "first_response_at": [at(1, 1), at(1, 3), at(1, 8), at(1, 2)],
            "resolved_at": [at(1, 10), None, at(2, 6), at(1, 4)],
            "channel": ["chat", "chat", "chat", "email"],
        }
    )
    return fct_tickets(raw, keys("tickets", {}))


def _sessions() -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "session_date": [DAY] * 4,
            "channel": ["cpc", "cpc", "referral", "direct"],
            "converted": [True, False, True, False],
        }
    )


def _orders(at, keys) -> pl.LazyFrame:
    raw = pl.LazyFrame(
        {
            "order_id": ["a0", "a1", "b1", "b2", "c1", "d0", "d1"],
            "ordered_at": [at(1, month=2), at(1, 9), at(1, 10), at(1, 11), at(1, 12), at(15, month=2), at(1, 13)],
            "amount": [99.0, 10.0, 20.0, 30.0, 40.0, 99.0, -5.0],
            "channel": ["web", "web", "web", "store", "store", "web", "web"],
        }
    )
    rk = keys("orders", {"a0": "A", "a1": "A", "b1": "B", "b2": "B", "c1": "C", "d0": "D", "d1": "D"})
    return fct_orders(raw, rk)


def _row(kpis: pl.DataFrame, channel: str) -> dict:
    rows = kpis.filter((pl.col("date") == DAY) & (pl.col("channel") == channel))
    assert rows.height == 1, f"expected one row for {channel}"
    return rows.row(0, named=True)


def test_survey_kpis(at, keys):
    kpis = cx_kpis_daily(surveys=_surveys(at, keys)).collect()
    every = _row(kpis, "all")
    assert every["nps_responses"] == 10
    assert every["nps"] == pytest.approx(20.0)
    assert every["csat_responses"] == 5 and every["csat"] == pytest.approx(0.6)
    assert every["ces_responses"] == 3 and every["ces_mean"] == pytest.approx(4.0)
    assert _row(kpis, "chat")["nps"] == pytest.approx(100.0)
    none = _row(kpis, "none")
    assert none["nps"] == pytest.approx(-100 / 3)
    assert none["csat"] == pytest.approx(0.6)
    assert every["orders"] is None and every["sessions"] is None  # missing inputs: null, not an error


def test_ticket_kpis(at, keys):
    kpis = cx_kpis_daily(tickets=_tickets(at, keys)).collect()
    chat, every = _row(kpis, "chat"), _row(kpis, "all")
    assert chat["tickets_opened"] == 3
    assert chat["median_first_response_hours"] == pytest.approx(3.0)  # of 1, 3, 8
    assert chat["median_resolution_hours"] == pytest.approx(20.0)  # of 10, 30 (one open)
    assert every["median_first_response_hours"] == pytest.approx(2.5)  # of 1, 2, 3, 8
    assert every["median_resolution_hours"] == pytest.approx(10.0)  # of 4, 10, 30
    assert _row(kpis, "email")["median_resolution_hours"] == pytest.approx(4.0)


def test_session_kpis():
    kpis = cx_kpis_daily(sessions=_sessions()).collect()
    every = _row(kpis, "all")
    assert every["sessions"] == 4 and every["converted_sessions"] == 2
    assert every["conversion_rate"] == pytest.approx(0.5)
    assert every["referral_share"] == pytest.approx(0.25)
    assert _row(kpis, "cpc")["conversion_rate"] == pytest.approx(0.5)
    assert _row(kpis, "direct")["referral_share"] == 0.0


def test_order_kpis(at, keys):
    kpis = cx_kpis_daily(orders=_orders(at, keys)).collect()
    every = _row(kpis, "all")
    # Kept orders on the day: a1, b1, b2, c1; d1 is a refund row (-5).
    assert every["orders"] == 4
    assert every["revenue"] == pytest.approx(95.0)
    # New: B and C (first orders); A ordered in February, so repeat. Ordering customers A, B, C.
    assert every["new_customers"] == 2 and every["repeat_customers"] == 1
    assert every["repeat_rate"] == pytest.approx(1 / 3)
    web, store = _row(kpis, "web"), _row(kpis, "store")
    assert (web["orders"], web["revenue"], web["new_customers"], web["repeat_customers"]) == (2, 25.0, 1, 1)
    # In the store B's second order is a repeat: B's first order came through the web.
    assert (store["orders"], store["new_customers"], store["repeat_customers"]) == (2, 1, 1)
    assert store["repeat_rate"] == pytest.approx(0.5)


def test_everything_together_and_nothing(at, keys):
    kpis = cx_kpis_daily(_orders(at, keys), _tickets(at, keys), _surveys(at, keys), _sessions()).collect()
    assert tuple(kpis.columns) == COLUMNS
    every = _row(kpis, "all")
    assert every["nps"] == pytest.approx(20.0) and every["orders"] == 4 and every["sessions"] == 4
    assert kpis.filter(pl.col("channel") == "all")["date"].is_unique().all()
    empty = cx_kpis_daily().collect()
    assert empty.height == 0 and tuple(empty.columns) == COLUMNS
