"""Marketing: touch volume and shape, caused orders in proportion to the plant, saves, costs and ROI truth."""

from __future__ import annotations

import math

import polars as pl

KINDS = {
    "email": {"sent", "open", "click"},
    "paid_search": {"click"},
    "social": {"impression", "click"},
    "display": {"impression", "click"},
    "affiliate": {"click"},
}


def _alive_contacts(project) -> pl.DataFrame:
    """Per campaign, the contacts that reached a customer who had not yet dropped out."""
    campaigns = pl.DataFrame(project.params["campaigns"]).select(
        pl.col("channel"), pl.col("campaign").alias("campaign_name"), "contact_kind", "incremental_order_prob"
    )
    persons = project.truth("persons.parquet").select("person_id", "dropped_at")
    touches = project.people_of("touches", project.touches, "touch_id").filter(pl.col("is_customer"))
    contacts = (
        touches.with_columns(pl.col("channel", "campaign_name", "interaction").cast(pl.String))
        .join(campaigns, on=["channel", "campaign_name"])
        .filter(pl.col("interaction") == pl.col("contact_kind"))
        .join(persons, on="person_id")
        .filter(pl.col("dropped_at").is_null() | (pl.col("event_time") <= pl.col("dropped_at")))
    )
    return contacts.group_by("channel", "campaign_name").agg(
        pl.len().alias("contacts"), pl.col("incremental_order_prob").first()
    )


def test_caused_orders_follow_the_planted_incremental_effect(boosted_project):
    project = boosted_project
    truth = project.truth("touchpoints.csv").rename({"campaign": "campaign_name"})
    table = _alive_contacts(project).join(truth, on=["channel", "campaign_name"])
    assert len(table) == len(project.params["campaigns"])
    for row in table.iter_rows(named=True):
        expected = row["incremental_order_prob"] * row["contacts"]
        assert abs(row["caused_orders"] - expected) <= 4 * math.sqrt(expected) + 3, row


def test_every_campaign_with_an_effect_causes_orders(project):
    truth = project.truth("touchpoints.csv")
    expected = _alive_contacts(project).join(
        truth.rename({"campaign": "campaign_name"}), on=["channel", "campaign_name"]
    )
    likely = expected.filter(pl.col("incremental_order_prob") * pl.col("contacts") > 15)
    assert len(likely) >= 4
    assert (likely["caused_orders"] > 0).all()
    caused = project.truth("orders.parquet").filter(pl.col("caused_by_channel").is_not_null())
    assert (caused["cause_touch_id"].is_not_null()).all()
    clicks = project.touches.filter(pl.col("interaction") == "click")["touch_id"].cast(pl.String)
    assert caused["cause_touch_id"].is_in(clicks.implode()).all()


def test_touch_volume_and_shape(project):
    touches = project.touches.with_columns(pl.col("channel", "interaction").cast(pl.String))
    assert 0.8 < len(touches) / len(project.orders) < 2.2
    kinds = touches.group_by("channel").agg(pl.col("interaction").unique())
    for channel, seen in kinds.iter_rows():
        assert set(seen) <= KINDS[channel], channel
    email = touches.filter(pl.col("channel") == "email")
    assert email["cookie_id"].is_null().all() and email["email"].is_not_null().mean() > 0.95
    assert 0.6 < email["crm_id"].is_not_null().mean() < 0.95
    ads = touches.filter(pl.col("channel") != "email")
    assert ads["cookie_id"].is_not_null().all() and ads["email"].is_null().all()
    visitors = project.people_of("touches", touches, "touch_id").filter(~pl.col("is_customer"))
    assert set(visitors["interaction"].unique()) == {"impression", "click"}


def test_a_save_tags_every_later_order_of_that_person(project):
    persons = project.truth("persons.parquet").filter(pl.col("saved_at").is_not_null())
    assert len(persons) > 50
    orders = project.truth("orders.parquet").join(persons.select("person_id", "saved_at"), on="person_id")
    after = pl.col("ordered_at") > pl.col("saved_at")
    assert (orders.filter(after)["saved_by_campaign"] == "winback").all()
    assert orders.filter(~after)["saved_by_campaign"].is_null().all()
    truth = project.truth("touchpoints.csv")
    retention = truth.filter(pl.col("true_retention_effect") > 0)
    assert retention["campaign"].to_list() == ["winback"]
    assert (retention["true_retention_revenue"] > 0).all() and (retention["saves"] > 0).all()


def test_costs_add_up_and_the_verdict_follows_the_true_roi(project):
    params = project.params
    costs = project.costs.with_columns(pl.col("spend").cast(pl.Float64))
    months = costs["month"].str.to_date("%Y-%m-%d")
    assert months.max().isoformat()[:7] == params["as_of"][:7]
    assert (months.dt.day() == 1).all()
    spent = costs.group_by("channel", "campaign").agg(pl.col("spend").sum())
    truth = project.truth("touchpoints.csv").join(spent, on=["channel", "campaign"])
    assert ((truth["cost"] - truth["spend"]).abs() < 0.01).all()
    roi = (truth["true_incremental_revenue"] + truth["true_retention_revenue"]) / truth["cost"]
    assert ((roi - truth["true_roi"]).abs() < 1e-3 * roi.abs().max()).all()
    hurdle, band = params["roi_hurdle"], params["roi_band"]
    for row in truth.iter_rows(named=True):
        verdict = (
            "invest" if row["true_roi"] > hurdle + band else "cut" if row["true_roi"] < hurdle - band else "hold"
        )
        assert row["recommendation"] == verdict, row
    assert {"invest", "cut"} <= set(truth["recommendation"])
