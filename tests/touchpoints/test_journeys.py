"""Touch events and journeys: labels, lookback edges, null journeys, refunds, as_of, and a synthetic project."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxdata.errors import CxdataError
from cxdata.run_context import end_of_day
from cxdata.synth import SynthParams, generate_project
from cxdata.touchpoints.attribution import attribute
from cxdata.touchpoints.journeys import JOURNEY_COLUMNS, build_journeys, touchpoint_events

from ..facts import person_facts

UTC = dt.UTC


def day(d: int, hour: int = 0, microsecond: int = 0) -> dt.datetime:
    return dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(days=d - 1, hours=hour, microseconds=microsecond)


def test_touchpoint_labels_by_source_and_granularity():
    touches = pl.LazyFrame(
        {
            "customer_key": ["a", "a", "a", None, "b"],
            "occurred_at": [day(1), day(2), day(3), day(4), day(5)],
            "channel": ["email", "email", "paid_search", "email", "social"],
            "campaign": ["newsletter", "newsletter", "brand", "newsletter", None],
            "kind": ["sent", "Open", "click", "open", "impression"],
        }
    )
    sessions = pl.LazyFrame(
        {
            "customer_key": ["a", "a", "b", "b", "b"],
            "started_at": [day(1), day(2), day(3), day(4), day(5)],
            "utm_source": ["Google", None, None, None, "newsletter"],
            "utm_medium": ["CPC", None, None, None, None],
            "utm_campaign": ["brand", None, None, None, None],
            "referrer": [None, "https://www.example.org/page?q=1", None, "", None],
        }
    )
    tickets = pl.LazyFrame({"customer_key": ["b", "c"], "opened_at": [day(6), day(7)], "channel": ["Phone", None]})
    events = touchpoint_events(touches, sessions, tickets).collect().sort("source", "customer_key", "occurred_at")
    assert events.columns == ["customer_key", "occurred_at", "touchpoint", "channel", "campaign", "source"]
    by_source = {
        s: events.filter(pl.col("source") == s)["touchpoint"].to_list() for s in ("marketing", "web", "service")
    }
    # the sent email and the touch without a customer are dropped; a campaign-less touch keeps its channel
    assert by_source["marketing"] == ["email/newsletter", "paid_search/brand", "social"]
    # direct sessions (no UTM, no or blank referrer) are dropped by default
    assert by_source["web"] == ["web:google/cpc", "web:referral:example.org", "web:newsletter/(none)"]
    assert by_source["service"] == ["service:phone", "service:unknown"]

    coarse = touchpoint_events(touches, sessions, tickets, granularity="channel", include_direct=True).collect()
    coarse_labels = sorted(coarse["touchpoint"].to_list())
    assert coarse_labels.count("web:direct") == 3
    assert {"email", "paid_search", "web:cpc", "web:referral"} <= set(coarse_labels)
    assert touchpoint_events(None, None, None).collect().height == 0
    with pytest.raises(CxdataError, match="touch kinds"):
        touchpoint_events(touches, None, None, kinds=("viewed",))
    with pytest.raises(CxdataError, match="tickets: missing column"):
        touchpoint_events(None, None, tickets.drop("channel"))


def test_referral_labels_never_carry_the_user_part_of_a_referrer():
    referrers = [
        "john.doe@example.com",
        "https://jane:s3cret@Partner.Example/offer?id=1",
        "//www.News.example/a",
        "Jane Roe's newsletter",
        "android-app://com.example.app/",
    ]
    sessions = pl.LazyFrame(
        {
            "customer_key": [f"c{i}" for i in range(len(referrers))],
            "started_at": [day(i + 1) for i in range(len(referrers))],
            "referrer": referrers,
        }
    )
    events = touchpoint_events(None, sessions, None).collect().sort("customer_key")
    assert events["touchpoint"].to_list() == [
        "web:referral:example.com",
        "web:referral:partner.example",
        "web:referral:news.example",
        "web:referral:unknown",
        "web:referral:com.example.app",
    ]
    assert events["channel"].to_list() == ["referral"] * len(referrers)


ORDERS = pl.LazyFrame(
    {
        "customer_key": ["a", "a", "a", "b", "b", None],
        "order_id": ["a1", "a2", "a-refund", "b1", "b2", "x1"],
        "ordered_at": [day(10), day(20), day(15), day(12), day(35), day(10)],
        "amount": [10.0, 20.0, 99.0, 30.0, 40.0, 50.0],
        "is_refund": [False, False, True, False, False, False],
    }
)
EVENTS = pl.LazyFrame(
    {
        "customer_key": ["a"] * 9 + ["b", "c", "c"],
        "occurred_at": [
            day(1),  # too early for a1 (window from day 5): null journey
            day(5),  # exactly lookback before a1: in
            day(10),  # at a1's instant: a1
            day(10, microsecond=1),  # right after a1 and over the lookback before a2: null
            day(14),  # before a2's window; the refund on day 15 is no order: null, same run as above
            day(16),  # a2
            day(22),  # after the last order: null journey
            day(26),  # within lookback of the previous: same null journey
            day(40),  # a gap over the lookback: another null journey
            day(33),  # b2 is on day 35
            day(3),
            day(4),  # a customer who never orders: one null journey
        ],
        "touchpoint": ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "u1", "v1", "v2"],
    }
)


def test_journeys_window_edges_null_journeys_and_refunds():
    journeys = build_journeys(
        ORDERS, EVENTS, lookback_days=5, clv=pl.LazyFrame({"customer_key": ["a"], "clv": [100.0]})
    )
    frame = journeys.collect()
    assert tuple(frame.columns) == JOURNEY_COLUMNS
    paths = (
        frame.group_by("journey_id", maintain_order=True)
        .agg(pl.col("customer_key", "order_id", "converted", "revenue", "clv").first(), pl.col("touchpoint"))
        .sort("customer_key", "journey_id")  # ids follow the journeys' ends
    )
    got = [(r["customer_key"], r["order_id"], r["touchpoint"]) for r in paths.iter_rows(named=True)]
    assert got == [
        ("a", None, ["t0"]),
        ("a", "a1", ["t1", "t2"]),
        ("a", None, ["t3", "t4"]),
        ("a", "a2", ["t5"]),
        ("a", None, ["t6", "t7"]),
        ("a", None, ["t8"]),
        ("b", "b1", [None]),  # no touch in its window: a journey of length 0, kept
        ("b", "b2", ["u1"]),
        ("c", None, ["v1", "v2"]),
    ]
    # refunds and orders without a customer are not journeys; the clv rides on the first kept order only
    assert "a-refund" not in paths["order_id"].to_list() and "x1" not in paths["order_id"].to_list()
    assert paths.filter(pl.col("order_id") == "a1")["clv"].item() == 100.0
    assert paths.filter(pl.col("order_id") == "a2")["clv"].item() == 0.0
    assert paths.filter(~pl.col("converted"))["revenue"].sum() == 0.0
    assert frame.filter(pl.col("order_id") == "a1")["step"].to_list() == [0, 1]
    assert frame["journey_id"].n_unique() == 9 and frame["journey_id"].is_sorted()
    assert frame.filter(pl.col("order_id") == "b1")["step"].to_list() == [0]


def test_journeys_cut_at_as_of():
    # b2 (day 35) is after as_of: u1 (day 33) has not converted as of day 34, and day 40 is unseen
    frame = build_journeys(ORDERS, EVENTS, lookback_days=5, as_of=day(34)).collect()
    assert "b2" not in frame["order_id"].to_list()
    assert frame.filter(pl.col("touchpoint") == "u1")["converted"].to_list() == [False]
    assert "t8" not in frame["touchpoint"].to_list()
    assert frame["occurred_at"].max() <= day(34)
    # a naive as_of means UTC; a wider lookback pulls t0 into a1
    wide = build_journeys(ORDERS, EVENTS, lookback_days=30, as_of=dt.datetime(2024, 2, 3)).collect()
    assert wide.filter(pl.col("order_id") == "a1")["touchpoint"].to_list() == ["t0", "t1", "t2"]
    # with 30 days the refund still is no order: t3, t4 join a2
    assert wide.filter(pl.col("order_id") == "a2")["touchpoint"].to_list() == ["t3", "t4", "t5"]


def test_journeys_reject_bad_input():
    with pytest.raises(CxdataError, match="orders: missing column"):
        build_journeys(ORDERS.drop("amount"), EVENTS)
    with pytest.raises(CxdataError, match="lookback_days"):
        build_journeys(ORDERS, EVENTS, lookback_days=0)


@pytest.fixture(scope="module")
def synthetic_facts(tmp_path_factory):
    root = tmp_path_factory.mktemp("touchpoints_synth")
    generate_project(root, SynthParams(customers=3000, seed=23))
    config, facts = person_facts(root)
    return config, facts


def test_synthetic_project_journeys_reconcile_with_orders(synthetic_facts):
    config, facts = synthetic_facts
    events = touchpoint_events(
        facts["fct_touches"].lazy(), facts["fct_web_sessions"].lazy(), facts["fct_tickets"].lazy()
    )
    orders = facts["fct_orders"].lazy()
    last_day = end_of_day(config.as_of, config.timezone)
    for as_of in (last_day, last_day - dt.timedelta(days=120)):
        kept = facts["fct_orders"].filter(
            ~pl.col("is_refund") & pl.col("customer_key").is_not_null() & (pl.col("ordered_at") <= as_of)
        )
        clv = kept.select("customer_key").unique().with_columns(pl.lit(1.0).alias("clv"))
        journeys = build_journeys(orders, events, as_of=as_of, clv=clv.lazy()).collect()
        per_journey = journeys.unique("journey_id")
        converting = per_journey.filter(pl.col("converted"))
        assert converting.height == kept.height
        assert converting["order_id"].n_unique() == kept.height
        assert converting["revenue"].sum() == pytest.approx(kept["amount"].sum())
        assert converting["clv"].sum() == pytest.approx(clv.height)  # one first order per customer
        assert journeys["occurred_at"].max() <= as_of
        assert per_journey.filter(~pl.col("converted")).height > 0
        # most orders follow some touch, and the touches span every source
        touched = journeys.filter(pl.col("converted") & pl.col("touchpoint").is_not_null())[
            "journey_id"
        ].n_unique()
        assert touched > 0.3 * converting.height
        result = attribute(journeys, models=["last_touch", "markov"])
        for model in ("last_touch", "markov"):
            rows = result.filter(pl.col("model") == model)
            assert rows["conversions"].sum() == pytest.approx(kept.height)
            assert rows["revenue"].sum() == pytest.approx(kept["amount"].sum())


def test_journeys_do_not_depend_on_the_order_rows_arrive_in():
    """A warehouse may hand rows over in another order on every read: same-instant events and orders of many
    customers, shuffled, give the same journeys, numbered alike."""
    customers = [f"k{i:03d}" for i in range(60)]
    orders = pl.DataFrame(
        {
            "customer_key": customers,
            "order_id": [f"o{i}" for i in range(60)],
            "ordered_at": [day(20)] * 60,  # one instant for everybody
            "amount": [float(i) for i in range(60)],
        }
    )
    events = pl.DataFrame(
        {
            "customer_key": customers * 3,
            "occurred_at": [day(10)] * 120 + [day(25)] * 60,  # same-instant touches, converting and lost
            "touchpoint": ["email/a"] * 60 + ["search/b"] * 60 + ["social/c"] * 60,
        }
    )
    built = [
        build_journeys(o.lazy(), e.lazy(), lookback_days=30).collect()
        for o, e in (
            (orders, events),
            (orders.sample(fraction=1.0, shuffle=True, seed=1), events.sample(fraction=1.0, shuffle=True, seed=2)),
            (orders.reverse(), events.reverse()),
        )
    ]
    assert built[0].height == 180
    for other in built[1:]:
        assert other.equals(built[0])
