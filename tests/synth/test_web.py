"""Web analytics: visitors, devices, logins, campaign tags and purchases."""

from __future__ import annotations

import polars as pl

ORDER_DATE = "%d/%m/%Y %H:%M:%S"


def _events(project) -> pl.DataFrame:
    text = ("event_name", "page_path", "utm_source", "utm_medium", "utm_campaign", "referrer")
    events = project.web_events.with_columns(pl.col(text).cast(pl.String))
    return project.people_of("web_events", events, "event_id")


def test_share_of_anonymous_only_visitors_matches_the_plant(project):
    visitors = _events(project).group_by("person_id").agg(pl.col("is_customer").first())
    share = 1 - visitors["is_customer"].mean()
    assert abs(share - project.params["anonymous_visitor_share"]) < 0.01


def test_web_volume_and_event_types(project):
    events = _events(project)
    assert 0.8 < len(events) / len(project.orders) < 2.2
    assert set(events["event_name"]) == {"page_view", "login", "form_submit", "add_to_cart", "purchase"}
    assert events["page_path"].str.contains(r"^/(product/\d+|category/[a-z-]+|help/[a-z]+|cart|checkout.*)?").all()


def test_logins_name_people_on_some_of_their_devices_only(project):
    events = _events(project).filter(pl.col("is_customer"))
    devices = events.group_by("person_id", "client_id").agg(
        (pl.col("user_id").is_not_null() | pl.col("user_email").is_not_null()).any().alias("named")
    )
    assert 0.2 < devices["named"].mean() < 0.9
    per_person = devices.group_by("person_id").agg(pl.col("named").any().alias("some"), pl.col("named").all())
    assert per_person.filter(pl.col("some") & ~pl.col("named")).height > 0
    named = events.filter(pl.col("user_id").is_not_null() | pl.col("user_email").is_not_null())
    assert set(named["event_name"]) <= {"login", "form_submit"}
    customers = project.people_of("customers", project.customers, "customer_number").select(
        pl.col("customer_number").alias("user_id"), pl.col("person_id").alias("crm_person")
    )
    by_ref = named.filter(pl.col("user_id").is_not_null()).join(customers, on="user_id")
    assert (by_ref["person_id"] == by_ref["crm_person"]).all()
    anonymous = _events(project).filter(~pl.col("is_customer"))
    assert anonymous["user_id"].is_null().all() and anonymous["user_email"].is_null().all()


def test_campaign_tags_land_on_the_first_page_of_a_session(project):
    events = _events(project).sort("session_id", "event_timestamp", "event_id")
    first = events.group_by("session_id", maintain_order=True).first()
    tagged = events.filter(pl.col("utm_campaign").is_not_null())
    assert tagged["event_id"].is_in(first["event_id"].implode()).all()
    assert tagged["referrer"].is_null().all() and tagged["event_name"].unique().to_list() == ["page_view"]
    sources = set(tagged["utm_source"])
    assert {"google", "newsletter", "meta"} <= sources


def test_purchase_events_are_web_orders_at_the_order_time(project):
    events = _events(project).sort("session_id", "event_timestamp", "event_id")
    funnel = events.filter(
        pl.col("session_id").is_in(events.filter(pl.col("event_name") == "purchase")["session_id"].implode())
    )
    tail = funnel.group_by("session_id", maintain_order=True).agg(
        pl.col("page_path").tail(2), pl.col("event_name").tail(3)
    )
    assert (tail["page_path"].list.join(" ") == "/checkout /checkout/confirmation").all()
    assert (tail["event_name"].list.join(" ") == "add_to_cart page_view purchase").all()
    purchases = events.filter(pl.col("event_name") == "purchase")
    orders = project.orders.with_columns(
        pl.col("order_no").cast(pl.Int64).alias("transaction_id"),
        pl.col("order_date")
        .str.to_datetime(ORDER_DATE, time_unit="us")
        .dt.replace_time_zone(project.params["timezone"], ambiguous="earliest")
        .dt.convert_time_zone("UTC")
        .alias("ordered_at"),
    )
    joined = purchases.join(orders, on="transaction_id", how="left", validate="1:1")
    assert joined["sales_channel"].to_list() == ["web"] * len(joined)
    off = (joined["event_timestamp"] - joined["ordered_at"]).dt.total_seconds().abs()
    assert (off == 0).mean() > 0.999 and off.max() <= 3600  # the autumn hour repeats in naive local time
    web_orders = orders.filter(pl.col("sales_channel") == "web")
    consent = project.params["web_consent_share"]
    assert consent * 0.7 < len(purchases) / len(web_orders) < consent * 1.3
