"""cx_kpis_daily: formulas on hand-computed fixtures, customer dimensions that add up, null versus zero."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxdata.marts import cx_kpis_daily, fct_orders, fct_surveys, fct_tickets
from cxdata.marts._common import empty, empty_keys
from cxdata.marts.kpis import COLUMNS, DIMENSIONS

DAY = dt.date(2025, 3, 1)
# the customers behind the records below: how each first arrived and what kind they are
CUSTOMERS = pl.LazyFrame(
    {
        "customer_key": ["A", "B", "C", "D", "E", "N"],
        "acquisition_channel": ["email", "email", "cpc", "cpc", "direct", "social"],
        "kind": ["buyer", "buyer", "buyer", "buyer", "known_contact", "anonymous_visitor"],
    }
)


def _surveys(at, keys) -> pl.LazyFrame:
    # NPS: 5 promoters (10,10,9,9,9), 2 passives (8,7), 3 detractors (6,2,0): 50% - 30% = 20 points.
    nps = [10, 10, 9, 9, 9, 8, 7, 6, 2, 0]
    csat = [5, 4, 3, 1, 5]  # 3 of 5 satisfied: 0.6
    ces = [2, 3, 7]  # mean 4
    scores = nps + csat + ces
    kinds = ["nps"] * 10 + ["csat"] * 5 + ["ces"] * 3
    # who answered: NPS 10,10,9,9 A (email: 100); 9,8,7,6 C (cpc: (1 - 1) / 4 = 0); 2,0 E (direct: -100);
    # the CSAT answers B (email), the CES answers D (cpc)
    who = ["A"] * 4 + ["C"] * 4 + ["E"] * 2 + ["B"] * 5 + ["D"] * 3
    raw = pl.LazyFrame(
        {
            "response_id": [f"r{i}" for i in range(18)],
            "responded_at": [at(1, 10)] * 18,
            "kind": kinds,
            "score": [float(s) for s in scores],
        }
    )
    return fct_surveys(raw, keys("surveys", {f"r{i}": c for i, c in enumerate(who)}))


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
    return fct_tickets(raw, keys("tickets", {"t1": "A", "t2": "A", "t3": "E", "t4": "B"}))


def _sessions() -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "session_date": [DAY] * 4,
            "customer_key": ["A", "N", "N", "E"],
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


def _row(kpis: pl.DataFrame, value: str = "all", day: dt.date = DAY) -> dict:
    rows = kpis.filter((pl.col("date") == day) & (pl.col("dimension_value") == value))
    assert rows.height == 1, f"expected one row for {value} on {day}, got {rows.height}"
    return rows.row(0, named=True)


def test_survey_kpis(at, keys):
    kpis = cx_kpis_daily(surveys=_surveys(at, keys)).collect()
    every = _row(kpis)
    assert every["nps_responses"] == 10
    assert every["nps"] == pytest.approx(20.0)
    assert every["csat_responses"] == 5 and every["csat"] == pytest.approx(0.6)
    assert every["ces_responses"] == 3 and every["ces_mean"] == pytest.approx(4.0)
    assert every["orders"] is None and every["sessions"] is None  # sources the project lacks: null, not 0


def test_ticket_kpis(at, keys):
    every = _row(cx_kpis_daily(tickets=_tickets(at, keys)).collect())
    assert every["tickets_opened"] == 4
    assert every["median_first_response_hours"] == pytest.approx(2.5)  # of 1, 2, 3, 8
    assert every["median_resolution_hours"] == pytest.approx(10.0)  # of 4, 10, 30 (one open)


def test_session_kpis():
    every = _row(cx_kpis_daily(sessions=_sessions()).collect())
    assert every["sessions"] == 4 and every["converted_sessions"] == 2
    assert every["conversion_rate"] == pytest.approx(0.5)
    assert every["referral_share"] == pytest.approx(0.25)


def test_order_kpis(at, keys):
    every = _row(cx_kpis_daily(orders=_orders(at, keys)).collect())
    # Kept orders on the day: a1, b1, b2, c1; d1 is a refund row (-5).
    assert every["orders"] == 4
    assert every["revenue"] == pytest.approx(95.0)
    # New: B and C (first orders); A ordered in February, so repeat. Ordering customers A, B, C.
    assert every["new_customers"] == 2 and every["repeat_customers"] == 1
    assert every["repeat_rate"] == pytest.approx(1 / 3)


def test_revenue_and_nps_land_under_the_customers_acquisition_channel_and_add_up(at, keys):
    kpis = cx_kpis_daily(
        _orders(at, keys), _tickets(at, keys), _surveys(at, keys), _sessions(), CUSTOMERS, currency="GBP"
    ).collect()
    by_channel = kpis.filter((pl.col("date") == DAY) & (pl.col("dimension") == "acquisition_channel"))
    revenue = dict(zip(by_channel["dimension_value"], by_channel["revenue"], strict=True))
    # A (a1 10) and B (b1 20 + b2 30) arrived by email, C (c1 40) and D (refund -5) by cpc
    assert revenue == {"email": 60.0, "cpc": 35.0, "direct": 0.0, "social": 0.0}
    nps = dict(zip(by_channel["dimension_value"], by_channel["nps"], strict=True))
    # A's 10,10,9,9: 100; C's 9,8,7,6: (1 - 1) / 4 = 0; E's 2,0: -100; nobody from social answered
    assert nps == {"email": pytest.approx(100.0), "cpc": pytest.approx(0.0), "direct": -100.0, "social": None}
    every = _row(kpis)
    for column in ("orders", "revenue", "nps_responses", "csat_responses", "tickets_opened", "sessions"):
        assert by_channel[column].sum() == pytest.approx(every[column]), column
    # NPS of the total is the answer-weighted NPS of the channels, so one row's revenue and NPS compare
    weighted = (by_channel["nps"].fill_null(0) * by_channel["nps_responses"]).sum() / every["nps_responses"]
    assert weighted == pytest.approx(every["nps"])
    # every metric of a row is its customers': the sessions of the anonymous visitor are under social
    assert _row(kpis, "social")["sessions"] == 2 and _row(kpis, "social")["conversion_rate"] == 0.5
    assert set(kpis["currency"]) == {"GBP"}


def test_customer_kind_splits_every_record_and_adds_up(at, keys):
    kpis = cx_kpis_daily(_orders(at, keys), _tickets(at, keys), _surveys(at, keys), _sessions(), CUSTOMERS)
    kinds = kpis.collect().filter((pl.col("date") == DAY) & (pl.col("dimension") == "customer_kind"))
    rows = {row["dimension_value"]: row for row in kinds.iter_rows(named=True)}
    assert set(rows) == {"buyer", "known_contact", "anonymous_visitor"}
    assert (rows["buyer"]["orders"], rows["known_contact"]["orders"], rows["anonymous_visitor"]["orders"]) == (
        4,
        0,
        0,
    )
    assert rows["known_contact"]["tickets_opened"] == 1 and rows["buyer"]["tickets_opened"] == 3
    assert rows["anonymous_visitor"]["sessions"] == 2 and rows["anonymous_visitor"]["nps"] is None


def test_records_without_a_customer_count_under_unknown(at, keys):
    orders = fct_orders(
        pl.LazyFrame({"order_id": ["x", "y"], "ordered_at": [at(1), at(1)], "amount": [7.0, 3.0]}),
        keys("orders", {"x": "A"}),  # y was not placed by identity resolution
    )
    kpis = cx_kpis_daily(orders=orders, customers=CUSTOMERS).collect()
    channels = kpis.filter(pl.col("dimension") == "acquisition_channel")
    assert _row(channels, "unknown")["revenue"] == 3.0 and _row(channels, "email")["revenue"] == 7.0
    assert channels["revenue"].sum() == _row(kpis)["revenue"] == 10.0


def test_a_day_without_orders_is_zero_and_a_project_without_surveys_is_null(at, keys):
    orders = fct_orders(
        pl.LazyFrame({"order_id": ["1", "2"], "ordered_at": [at(1), at(4)], "amount": [5.0, 6.0]}),
        keys("orders", {"1": "A", "2": "C"}),
    )
    tickets = fct_tickets(  # loaded, with a ticket only on the 2nd
        pl.LazyFrame({"ticket_id": ["t"], "opened_at": [at(2)], "channel": ["chat"]}), keys("tickets", {"t": "B"})
    )
    kpis = cx_kpis_daily(orders=orders, tickets=tickets, customers=CUSTOMERS).collect()

    # a dense grid: the 1st to the 4th, every value of every dimension
    values = sum(1 if c is None else CUSTOMERS.select(c).unique().collect().height for c in DIMENSIONS.values())
    assert kpis.height == 4 * values
    assert kpis.select(["date", "dimension", "dimension_value"]).is_unique().all()
    quiet = _row(kpis, day=dt.date(2025, 3, 2))
    assert (quiet["orders"], quiet["revenue"], quiet["new_customers"]) == (0, 0.0, 0)
    assert quiet["repeat_rate"] is None  # no ordering customer: no share
    assert quiet["tickets_opened"] == 1
    third = _row(kpis, day=dt.date(2025, 3, 3))
    assert (third["orders"], third["tickets_opened"]) == (0, 0)
    assert third["median_first_response_hours"] is None
    # surveys and web events are not configured: null everywhere, never 0
    for column in ("nps", "nps_responses", "csat_responses", "sessions", "conversion_rate"):
        assert kpis[column].null_count() == kpis.height, column
    # loaded but empty: 0
    none_answered = cx_kpis_daily(orders=orders, surveys=fct_surveys(empty("surveys"), empty_keys())).collect()
    assert set(none_answered["nps_responses"]) == {0} and none_answered["nps"].null_count() == none_answered.height


def test_everything_together_and_nothing(at, keys):
    kpis = cx_kpis_daily(
        _orders(at, keys), _tickets(at, keys), _surveys(at, keys), _sessions(), CUSTOMERS
    ).collect()
    assert tuple(kpis.columns) == COLUMNS
    every = _row(kpis)
    assert every["nps"] == pytest.approx(20.0) and every["orders"] == 4 and every["sessions"] == 4
    totals = kpis.filter(pl.col("dimension") == "total")
    assert totals["date"].is_unique().all() and set(totals["dimension_value"]) == {"all"}
    # February orders widen the grid: every day from 1 February to 1 March
    assert totals.height == 29
    empty_kpis = cx_kpis_daily().collect()
    assert empty_kpis.height == 0 and tuple(empty_kpis.columns) == COLUMNS
