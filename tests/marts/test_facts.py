"""fct_orders, fct_tickets, fct_surveys, fct_touches on hand-built rows."""

from __future__ import annotations

import polars as pl
import pytest

from cxdata.marts import fct_orders, fct_surveys, fct_tickets, fct_touches

PERSONAL = {"email", "phone", "first_name", "last_name"}


def _orders(at) -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4", "o5"],
            "customer_ref": ["A", "A", "A", "B", None],
            "email": ["a@x.com", None, None, "b@x.com", "g@x.com"],
            "ordered_at": [at(3), at(1), at(5), at(2), at(2)],
            "amount": [20.0, 10.0, 30.0, 50.0, 5.0],
            "status": ["completed", "completed", "refunded", "completed", "completed"],
            "channel": ["web", "store", "web", "web", "web"],
        }
    )


def test_fct_orders_sequence_refunds_and_no_personal_data(at, keys):
    rk = keys("orders", {"o1": "A", "o2": "A", "o3": "A", "o4": "B"})
    out = fct_orders(_orders(at), rk).collect().sort("order_id")
    assert not PERSONAL & set(out.columns)
    assert out["customer_key"].to_list() == ["A", "A", "A", "B", None]
    # o2 (1 March) is A's first order, o1 (3 March) the second; o3 is a refund and gets no number.
    assert out["order_number"].to_list() == [2, 1, None, 1, None]
    assert out["is_first_order"].to_list() == [False, True, None, True, None]
    assert out["is_repeat_order"].to_list() == [True, False, None, False, None]
    assert out["is_refund"].to_list() == [False, False, True, False, False]
    assert out["net_amount"].to_list() == [20.0, 10.0, 0.0, 50.0, 5.0]
    assert out["order_date"].to_list()[0].isoformat() == "2025-03-03"


def test_a_record_listed_twice_in_the_record_keys_fails_instead_of_multiplying_facts(at, keys):
    twice = pl.concat([keys("orders", {"o1": "A", "o2": "A"}), keys("orders", {"o1": "B"})])
    with pytest.raises(pl.exceptions.ComputeError, match="m:1"):
        fct_orders(_orders(at), twice).collect()


def test_fct_orders_negative_amount_is_a_refund_and_works_without_optional_columns(at, keys):
    minimal = pl.LazyFrame({"order_id": ["1", "2"], "ordered_at": [at(1), at(2)], "amount": [10.0, -4.0]})
    out = fct_orders(minimal, keys("orders", {"1": "A", "2": "A"})).collect().sort("order_id")
    assert out["is_refund"].to_list() == [False, True]
    assert out["net_amount"].sum() == 6.0
    assert out["order_number"].to_list() == [1, None]


def test_fct_tickets_hours_and_open(at, keys):
    tickets = pl.LazyFrame(
        {
            "ticket_id": ["t1", "t2"],
            "opened_at": [at(1, 8), at(2, 8)],
            "first_response_at": [at(1, 9, 30), None],
            "resolved_at": [at(2, 8), None],
            "channel": ["chat", "email"],
        }
    )
    out = fct_tickets(tickets, keys("tickets", {"t1": "A"})).collect().sort("ticket_id")
    assert out["first_response_hours"].to_list() == [1.5, None]
    assert out["resolution_hours"].to_list() == [24.0, None]
    assert out["is_open"].to_list() == [False, True]
    assert out["customer_key"].to_list() == ["A", None]


def test_fct_surveys_normalised_classes_and_ticket_channel(at, keys):
    surveys = pl.LazyFrame(
        {
            "response_id": ["r1", "r2", "r3", "r4", "r5", "r6"],
            "ticket_id": ["t1", None, None, None, None, "t9"],
            "responded_at": [at(1)] * 6,
            "kind": ["csat", "CSAT", "nps", "nps", "nps", "ces"],
            "score": [4.0, 3.0, 9.0, 7.0, 6.0, 7.0],
        }
    )
    tickets = pl.LazyFrame({"ticket_id": ["t1"], "channel": ["chat"]})
    out = fct_surveys(surveys, keys("surveys", {"r1": "A"}), tickets).collect().sort("response_id")
    assert out["score_normalised"].to_list() == pytest.approx([0.75, 0.5, 0.9, 0.7, 0.6, 1.0])
    assert out["is_satisfied"].to_list() == [True, False, None, None, None, None]
    assert out["nps_class"].to_list() == [None, None, "promoter", "passive", "detractor", None]
    assert out["channel"].to_list() == ["chat", None, None, None, None, None]
    assert fct_surveys(surveys, keys("surveys", {})).collect()["channel"].null_count() == 6


def test_fct_touches_keeps_no_identifiers(at, keys):
    touches = pl.LazyFrame(
        {
            "touch_id": ["1"],
            "email": ["a@x.com"],
            "anonymous_id": ["dev"],
            "occurred_at": [at(1)],
            "channel": ["email"],
            "kind": ["Open"],
        }
    )
    out = fct_touches(touches, keys("touches", {"1": "A"})).collect()
    assert {"email", "anonymous_id"}.isdisjoint(out.columns)
    assert out.row(0, named=True)["kind"] == "open"
    assert out.row(0, named=True)["customer_key"] == "A"


def test_transforms_stay_lazy_and_leave_inputs_alone(at, keys):
    orders = _orders(at)
    before = orders.collect()
    result = fct_orders(orders, keys("orders", {"o1": "A"}))
    assert isinstance(result, pl.LazyFrame)
    assert orders.collect().equals(before)


def test_fct_orders_numbers_follow_time_then_order_id_and_skip_undated_orders(at, keys):
    orders = pl.LazyFrame(
        {
            "order_id": ["o3", "o1", "o2", "o4"],
            "ordered_at": [at(2), at(2), None, at(1)],
            "amount": [10.0, 10.0, 10.0, 10.0],
        }
    )
    rk = keys("orders", {o: "A" for o in ("o1", "o2", "o3", "o4")})
    out = fct_orders(orders, rk).collect().sort("order_id")
    # o4 first by time; o1 before o3 at the same instant by id; the undated o2 gets no number
    assert out["order_number"].to_list() == [2, None, 3, 1]
