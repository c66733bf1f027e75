"""Sessionisation: the 30-minute inactivity rule, landing page, duration, conversion and comparing."""

from __future__ import annotations

import polars as pl

from cxdata.marts import fct_web_sessions


def _events(at) -> pl.LazyFrame:
    rows = [
        # anonymous_id d1: two sessions; the 30-minute gap (10:30 -> 11:00) stays, 31 minutes splits.
        ("e1", "d1", None, at(1, 10, 0), "page_view", "/", "google", "cpc", "spring", None),
        ("e2", "d1", None, at(1, 10, 30), "page_view", "/product/7", None, None, None, None),
        ("e3", "d1", "A", at(1, 11, 0), "login", "/account/login", None, None, None, None),
        ("e4", "d1", None, at(1, 11, 5), "add_to_cart", "/product/7", None, None, None, None),
        ("e5", "d1", None, at(1, 11, 36), "page_view", "/pricing", None, None, None, "https://blog.example/x"),
        ("e6", "d1", None, at(1, 11, 40), "purchase", "/checkout/confirmation", None, None, None, None),
        # d2: one single-event session, anonymous.
        ("e7", "d2", None, at(2, 9, 0), "page_view", "/help", None, None, None, None),
    ]
    names = ["event_id", "anonymous_id", "customer_ref", "occurred_at", "event_type", "page_path"]
    names += ["utm_source", "utm_medium", "utm_campaign", "referrer"]
    return pl.LazyFrame(rows, schema=names, orient="row").select(
        pl.all().exclude("occurred_at"), pl.col("occurred_at").cast(pl.Datetime("us", "UTC"))
    )


def test_sessions_split_on_the_inactivity_rule(at, keys):
    rk = keys("web_events", {"e3": "A", "e5": "A"})
    out = fct_web_sessions(_events(at), rk).collect().sort("started_at")
    assert out.height == 3
    first, second, third = out.iter_rows(named=True)
    assert first["events"] == 4 and first["page_views"] == 2
    assert first["started_at"] == at(1, 10, 0) and first["ended_at"] == at(1, 11, 5)
    assert first["duration_seconds"] == 65 * 60
    assert first["landing_page"] == "/"
    assert (first["utm_source"], first["utm_medium"], first["utm_campaign"]) == ("google", "cpc", "spring")
    assert first["channel"] == "cpc"
    assert first["customer_key"] == "A"  # the login mid-session names the whole session
    assert first["converted"] is False
    assert first["compare_pages"] == 1 and first["added_to_cart"] is True and first["is_compare"] is True
    assert second["landing_page"] == "/pricing" and second["converted"] is True
    assert second["channel"] == "referral" and second["duration_seconds"] == 240
    assert third["customer_key"] is None and third["duration_seconds"] == 0 and third["channel"] == "direct"
    assert third["is_compare"] is False
    assert out["session_id"].n_unique() == 3
    assert first["session_id"] == fct_web_sessions(_events(at), rk).collect().sort("started_at")["session_id"][0]


def test_timeout_is_a_parameter(at, keys):
    out = fct_web_sessions(_events(at), keys("web_events", {}), timeout_minutes=29).collect()
    assert out.height == 5  # both exact 30-minute gaps now split d1 too: 4 sessions there, 1 on d2
    assert fct_web_sessions(_events(at), keys("web_events", {}), timeout_minutes=120).collect().height == 2


def test_last_identified_event_wins(at, keys):
    rk = keys("web_events", {"e1": "X", "e3": "A"})
    out = fct_web_sessions(_events(at), rk).collect().sort("started_at")
    assert out["customer_key"][0] == "A"


def test_visitors_with_overlapping_visits_never_share_a_session(at, keys):
    # one table-wide pass cuts sessions: the change of visitor must cut even when the times are a minute apart
    events = pl.LazyFrame(
        {
            "event_id": ["a1", "b1", "a2", "b2"],
            "anonymous_id": ["d1", "d2", "d1", "d2"],
            "occurred_at": [at(1, 10, 0), at(1, 10, 1), at(1, 10, 2), at(1, 10, 3)],
            "event_type": ["page_view"] * 4,
        }
    ).with_columns(pl.col("occurred_at").cast(pl.Datetime("us", "UTC")))
    out = fct_web_sessions(events, keys("web_events", {"a2": "A", "b1": "B"})).collect().sort("anonymous_id")
    assert out["anonymous_id"].to_list() == ["d1", "d2"]
    assert out["events"].to_list() == [2, 2]
    assert out["customer_key"].to_list() == ["A", "B"]
    assert out["duration_seconds"].to_list() == [120.0, 120.0]


def test_landing_path_and_referrer_host_drop_what_can_name_a_person(at, keys):
    landings = ["/reset?email=ana%40example.com#top", "/pricing", None]
    referrers = ["https://ana:secret@Mail.Example.com:8443/inbox?u=ana", "ana.lopez@example.com", "free text?x=1"]
    events = pl.LazyFrame(
        {
            "event_id": ["a1", "b1", "c1"],
            "anonymous_id": ["d1", "d2", "d3"],
            "occurred_at": [at(1, 10, 0), at(1, 10, 1), at(1, 10, 2)],
            "event_type": ["page_view"] * 3,
            "page_path": landings,
            "referrer": referrers,
        }
    ).with_columns(pl.col("occurred_at").cast(pl.Datetime("us", "UTC")))
    out = fct_web_sessions(events, keys("web_events", {})).collect().sort("anonymous_id")
    assert out["landing_page"].to_list() == landings  # the raw value stays, for the owner
    assert out["landing_path"].to_list() == ["/reset", "/pricing", None]
    assert out["referrer_host"].to_list() == ["mail.example.com", "example.com", None]
    assert out["channel"].to_list() == ["referral"] * 3
    derived = " ".join(str(v) for row in out.select("landing_path", "referrer_host").rows() for v in row)
    assert "ana" not in derived and "secret" not in derived
