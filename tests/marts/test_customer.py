"""dim_customer: RFM by hand, service/web/marketing features, every journey stage, optional inputs, as_of."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxdata.config import JourneyConfig
from cxdata.marts import (
    CONTACTS_SCHEMA,
    KINDS,
    STAGES,
    dim_customer,
    fct_orders,
    fct_surveys,
    fct_tickets,
    fct_touches,
)

AS_OF = dt.datetime(2025, 6, 30, 12, tzinfo=dt.UTC)
JOURNEY = JourneyConfig()  # purchase window 30 days, lapsed after 180, compare from 3 pages


def t(year: int, month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)


# customer -> (ordered_at, amount) of each order
ORDERS = {
    "P": [(t(2025, 6, 20), 15.0)],  # one recent order: purchase
    "U": [(t(2025, 3, 1), 10.0), (t(2025, 6, 1), 30.0), (t(2025, 6, 2), -5.0)],  # repeat buyer + refund row
    "S": [(t(2025, 5, 1), 12.0)],  # one order 60 days ago: using it
    "L": [(t(2024, 10, 1), 50.0)],  # last order 272 days ago: lapsed despite a recent visit
    "F": [(t(2025, 7, 5), 99.0)],  # only an order after as_of: not a buyer yet
}
STAGE = {
    "P": "purchase",
    "U": "use_repurchase",
    "S": "use_repurchase",
    "L": "lapsed",
    "F": "research",
    "C": "compare",
    "K": "compare",
    "R": "research",
    "T": "research",
    "V": "lapsed",
}


def _orders(keys) -> pl.LazyFrame:
    rows = [(f"{c}{i}", c, at, amount) for c, orders in ORDERS.items() for i, (at, amount) in enumerate(orders)]
    raw = pl.LazyFrame(rows, schema=["order_id", "key", "ordered_at", "amount"], orient="row")
    rk = keys("orders", {r[0]: r[1] for r in rows})
    return fct_orders(raw.drop("key"), rk)


def _sessions() -> pl.LazyFrame:
    rows = [
        # customer, session, started, page_views, duration, converted, compare_pages, cart, utm_source, referrer,
        # channel
        ("L", "s1", t(2025, 6, 25), 4, 300.0, False, 0, False, None, None, "direct"),
        ("C", "s2", t(2025, 6, 1), 3, 100.0, False, 2, False, "google", None, "cpc"),
        ("C", "s3", t(2025, 6, 3), 1, 50.0, False, 1, False, None, "https://news.example/a", "referral"),
        ("K", "s4", t(2025, 6, 3), 2, 10.0, False, 0, True, None, None, "direct"),
        ("R", "s5", t(2025, 6, 3), 5, 60.0, False, 2, False, None, "https://news.example/a", "referral"),
        ("V", "s6", t(2024, 11, 1), 1, 0.0, False, 0, False, None, None, "direct"),
        ("R", "s7", t(2025, 7, 3), 9, 60.0, False, 9, True, None, None, "email"),  # after as_of: ignored
    ]
    names = ["customer_key", "session_id", "started_at", "page_views", "duration_seconds", "converted"]
    names += ["compare_pages", "added_to_cart", "utm_source", "referrer", "channel"]
    frame = pl.LazyFrame(rows, schema=names, orient="row")
    return frame.with_columns(
        (pl.col("started_at") + pl.duration(seconds=pl.col("duration_seconds"))).alias("ended_at")
    )


def _tickets(keys) -> pl.LazyFrame:
    raw = pl.LazyFrame(
        {
            "ticket_id": ["t1", "t2", "t3"],
            "opened_at": [t(2025, 6, 1, 8), t(2025, 6, 10, 8), t(2025, 7, 1, 8)],
            "first_response_at": [t(2025, 6, 1, 10), t(2025, 6, 10, 12), t(2025, 7, 1, 9)],
            "resolved_at": [t(2025, 6, 2), t(2025, 7, 2), None],  # t2 resolved only after as_of: open then
            "channel": ["chat", "email", "chat"],
        }
    )
    return fct_tickets(raw, keys("tickets", {"t1": "U", "t2": "U", "t3": "U"}))


def _surveys(keys) -> pl.LazyFrame:
    raw = pl.LazyFrame(
        {
            "response_id": ["r1", "r2", "r3", "r4"],
            "responded_at": [t(2025, 5, 1), t(2025, 6, 15), t(2025, 6, 16), t(2025, 7, 1)],
            "kind": ["csat", "csat", "nps", "csat"],
            "score": [5.0, 2.0, 9.0, 1.0],
        }
    )
    return fct_surveys(raw, keys("surveys", {"r1": "U", "r2": "U", "r3": "U", "r4": "U"}))


def _touches(keys) -> pl.LazyFrame:
    raw = pl.LazyFrame(
        {
            "touch_id": ["1", "2", "3", "4"],
            "occurred_at": [t(2025, 6, 1), t(2025, 6, 5), t(2025, 6, 3), t(2025, 8, 1)],
            "channel": ["email", "email", "social", "sms"],
            "kind": ["sent", "open", "impression", "sent"],
        }
    )
    return fct_touches(raw, keys("touches", {"1": "T", "2": "T", "3": "T", "4": "T"}))


def _record_keys(keys) -> pl.LazyFrame:
    return keys("customers", {c: c for c in STAGE})


def _contacts(**first_seen: dt.datetime | None) -> pl.LazyFrame:
    """contacts rows: customer_key -> when their CRM record or identifier was first seen."""
    return pl.LazyFrame(
        {"customer_key": list(first_seen), "first_seen": list(first_seen.values())}, schema=CONTACTS_SCHEMA
    )


def _dim(keys, contacts: pl.LazyFrame | None = None, **inputs) -> pl.DataFrame:
    contacts = contacts if contacts is not None else _contacts()
    return dim_customer(AS_OF, JOURNEY, record_keys=_record_keys(keys), contacts=contacts, **inputs).collect()


def _full(keys, contacts: pl.LazyFrame | None = None) -> pl.DataFrame:
    return _dim(
        keys,
        contacts,
        orders=_orders(keys),
        tickets=_tickets(keys),
        surveys=_surveys(keys),
        sessions=_sessions(),
        touches=_touches(keys),
    )


def test_journey_stage_of_each_hand_built_customer(keys):
    dim = _full(keys)
    assert dim.height == len(STAGE) and dim["customer_key"].is_unique().all()
    assert dict(zip(dim["customer_key"], dim["journey_stage"], strict=True)) == STAGE
    assert set(dim["journey_stage"]) <= set(STAGES)


def test_rfm_by_hand(keys):
    u = _full(keys).filter(pl.col("customer_key") == "U").row(0, named=True)
    assert u["orders_count"] == 2 and u["frequency"] == 1
    assert u["recency_days"] == pytest.approx(29.0)  # 1 June noon -> 30 June noon
    assert u["tenure_days"] == pytest.approx(121.0)  # 1 March noon -> 30 June noon
    assert u["monetary_value"] == pytest.approx(20.0)  # (10 + 30) / 2, refund row left out
    assert u["total_revenue"] == pytest.approx(35.0)  # 10 + 30 - 5
    assert u["first_order_at"] == t(2025, 3, 1) and u["last_order_at"] == t(2025, 6, 1)
    f = _full(keys).filter(pl.col("customer_key") == "F").row(0, named=True)
    assert f["orders_count"] == 0 and f["frequency"] == 0 and f["recency_days"] is None


def test_service_web_and_marketing_features(keys):
    dim = {r["customer_key"]: r for r in _full(keys).iter_rows(named=True)}
    u, c, tt = dim["U"], dim["C"], dim["T"]
    assert (u["tickets_count"], u["open_tickets"]) == (2, 1)
    assert u["median_first_response_hours"] == pytest.approx(3.0)  # of 2 and 4
    assert u["last_csat"] == 2.0 and u["last_nps_class"] == "promoter"
    assert c["sessions_count"] == 2 and c["pages_per_session"] == pytest.approx(2.0)
    assert c["time_on_site_seconds"] == pytest.approx(150.0)
    assert c["last_visit_at"] == t(2025, 6, 3) + dt.timedelta(seconds=50)
    assert c["web_conversion_rate"] == 0.0 and c["compare_pages"] == 3
    assert c["referral_source"] == "google" and dim["R"]["referral_source"] == "news.example"
    assert dim["L"]["referral_source"] == "direct" and dim["P"]["referral_source"] is None
    assert dim["R"]["compare_pages"] == 2  # the session after as_of does not count
    assert tt["touches_total"] == 3 and tt["touch_channels"] == "email:2, social:1"
    assert tt["last_touch_channel"] == "email"
    assert dim["P"]["touches_total"] == 0 and dim["P"]["touch_channels"] is None
    assert u["first_seen_at"] == t(2025, 3, 1) and u["last_seen_at"] == t(2025, 6, 16)


@pytest.mark.parametrize(
    ("referrer", "expected"),
    [
        ("john.doe@example.com", "example.com"),
        ("https://jane:s3cret@Partner.Example/offer?id=1", "partner.example"),
        ("mailto:jane.roe@mail.example", "mail.example"),
        ("android-app://jane.roe@gmail.com/", "gmail.com"),
        ("Jane Roe's newsletter", "referral"),
        ("http://www.news.example/a", "news.example"),
        ("news.example/path", "news.example"),
        ("   ", "direct"),
    ],
)
def test_referral_source_is_only_the_referrers_host(keys, referrer, expected):
    sessions = _sessions().with_columns(
        pl.when(pl.col("customer_key") == "R").then(pl.lit(referrer)).otherwise("referrer").alias("referrer")
    )
    dim = _dim(keys, sessions=sessions)
    source = dim.filter(pl.col("customer_key") == "R")["referral_source"].item()
    assert source == expected
    for part in ("john", "jane", "doe", "roe", "s3cret", "@"):
        assert part not in dim["referral_source"].str.to_lowercase().str.join("")


def test_only_orders(keys):
    full = _full(keys)
    dim = _dim(keys, orders=_orders(keys))
    assert dim.columns == full.columns and dim.height == len(STAGE)
    stages = dict(zip(dim["customer_key"], dim["journey_stage"], strict=True))
    assert stages["C"] == "research" and stages["P"] == "purchase"
    # no web events, tickets or touches in the project: their counts are null (no data), orders count 0
    assert dim["sessions_count"].to_list() == [None] * len(STAGE)
    assert dim["tickets_count"].null_count() == dim["touches_total"].null_count() == len(STAGE)
    assert dim.filter(pl.col("customer_key") == "C")["orders_count"].item() == 0
    assert dim.filter(pl.col("customer_key") == "C")["total_revenue"].item() == 0.0
    assert _dim(keys).height == len(STAGE)  # no inputs at all still lists every customer


def test_stage_rules_follow_the_config(keys):
    tight = JourneyConfig(purchase_window_days=5, lapsed_after_days=28, compare_min_pages=2)
    dim = dim_customer(
        AS_OF, tight, _orders(keys), sessions=_sessions(), record_keys=_record_keys(keys), contacts=_contacts()
    ).collect()
    stages = dict(zip(dim["customer_key"], dim["journey_stage"], strict=True))
    assert stages["P"] == "use_repurchase"  # ordered 10 days ago, window now 5 days
    assert stages["U"] == "lapsed"  # last order 29 days ago > 28
    assert stages["R"] == "compare"  # 2 compare pages now enough; last seen 27 days ago, not lapsed


def test_kind_tells_buyers_known_contacts_and_anonymous_visitors_apart(keys):
    # K: a CRM record (no time); V: an email first seen before as_of; R: an identifier first seen only after
    # as_of (not known yet); U bought and is a buyer whatever else it has; T only got touches, C and L browse
    contacts = _contacts(K=None, V=t(2024, 10, 1), R=t(2025, 7, 2), U=t(2025, 1, 1))
    dim = _full(keys, contacts)
    kinds = dict(zip(dim["customer_key"], dim["kind"], strict=True))
    assert kinds == {
        "P": "buyer",
        "U": "buyer",
        "S": "buyer",
        "L": "buyer",
        "F": "anonymous_visitor",  # its only order is after as_of, and it carries no identifier here
        "C": "anonymous_visitor",
        "K": "known_contact",
        "R": "anonymous_visitor",
        "T": "anonymous_visitor",
        "V": "known_contact",
    }
    assert set(kinds.values()) <= set(KINDS)
    # a ticket or survey answer makes a non-buyer known: U's tickets given to T instead
    tickets = fct_tickets(
        pl.LazyFrame({"ticket_id": ["t9"], "opened_at": [t(2025, 6, 1)], "channel": ["chat"]}),
        keys("tickets", {"t9": "T"}),
    )
    assert _dim(keys, contacts, tickets=tickets).filter(pl.col("customer_key") == "T")["kind"].item() == (
        "known_contact"
    )


def test_acquisition_channel_is_the_channel_of_the_first_session_touch_or_order(keys):
    orders = fct_orders(
        pl.LazyFrame(
            {
                "order_id": ["o1", "o2", "o3"],
                "ordered_at": [t(2025, 5, 1), t(2025, 6, 1), t(2025, 6, 2)],
                "amount": [10.0, 20.0, 30.0],
                "channel": ["store", "web", None],
            }
        ),
        keys("orders", {"o1": "C", "o2": "K", "o3": "P"}),
    )
    # T's first touch is an email; L gets an SMS at the very moment of its first session: the touch wins the tie
    touches = fct_touches(
        pl.LazyFrame(
            {
                "touch_id": ["1", "2", "3"],
                "occurred_at": [t(2025, 6, 3), t(2025, 6, 1), t(2025, 6, 25)],
                "channel": ["social", "email", "sms"],
                "kind": ["impression", "sent", "sent"],
            }
        ),
        keys("touches", {"1": "T", "2": "T", "3": "L"}),
    )
    dim = _dim(keys, orders=orders, sessions=_sessions(), touches=touches)
    channels = dict(zip(dim["customer_key"], dim["acquisition_channel"], strict=True))
    assert channels == {
        "C": "store",  # ordered in the store on 1 May, before its first session (cpc) on 1 June
        "K": "web",  # ordered on the web on 1 June, before its first session on 3 June
        "P": "unknown",  # its only order has no channel
        "T": "email",
        "R": "referral",  # its session after as_of does not count
        "L": "sms",
        "V": "direct",
        "U": "unknown",  # nothing but a CRM record here
        "S": "unknown",
        "F": "unknown",
    }
