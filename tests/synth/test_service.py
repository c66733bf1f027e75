"""Service: ticket rate, response times, the bad-ticket truth, survey scales."""

from __future__ import annotations

import math

import polars as pl

ZULU = "%Y-%m-%dT%H:%M:%SZ"


def _tickets(project) -> pl.DataFrame:
    stamps = ("created_at", "first_response_at", "solved_at")
    return project.tickets.with_columns(
        pl.col(c).str.to_datetime(ZULU, time_unit="us", time_zone="UTC") for c in stamps
    )


def test_ticket_rate_per_order_matches_the_plant(project):
    rate = project.params["ticket_prob"]
    observed = len(project.tickets) / len(project.orders)
    assert abs(observed - rate) < 4 * math.sqrt(rate * (1 - rate) / len(project.orders)) + 0.005


def test_channels_answer_at_different_speeds_and_times_are_ordered(project):
    tickets = _tickets(project).with_columns(
        ((pl.col("first_response_at") - pl.col("created_at")).dt.total_seconds() / 3600).alias("hours")
    )
    medians = dict(tickets.group_by("channel").agg(pl.col("hours").median()).iter_rows())
    assert medians["phone"] < medians["chat"] < medians["email"]
    planted = {c["name"]: c["first_response_median_hours"] for c in project.params["ticket_channels"]}
    for channel, median in medians.items():
        assert abs(math.log(median / planted[channel])) < 0.2, channel
    assert (tickets["first_response_at"] >= tickets["created_at"]).all()
    assert (tickets["solved_at"] >= tickets["first_response_at"]).all()


def test_bad_ticket_truth_follows_the_sla_and_the_answered_csat(project):
    params = project.params
    tickets = _tickets(project).join(
        project.truth("tickets.parquet"), left_on="case_number", right_on="ticket_id", validate="1:1"
    )
    slow = (pl.col("first_response_at") - pl.col("created_at")) > pl.duration(hours=params["sla_hours"])
    responded = tickets.filter(pl.col("first_response_at").is_not_null())
    assert (responded.select(slow.alias("slow"))["slow"] == responded["slow_first_response"]).all()
    csat = project.surveys.filter(pl.col("survey_type") == "csat").join(
        tickets, left_on="ticket_ref", right_on="case_number"
    )
    assert (csat["score"].cast(pl.Int64) == csat["csat_latent"]).all()
    low = csat.filter(pl.col("score").cast(pl.Int64) <= params["bad_csat_max"])
    assert low["is_bad"].all() and len(low) > 0
    assert tickets.filter(pl.col("is_bad") & ~pl.col("slow_first_response")).height > 0


def test_csat_worsens_with_slow_first_response(project):
    truth = project.truth("tickets.parquet")
    by_speed = truth.group_by("slow_first_response").agg(pl.col("csat_latent").mean()).sort("slow_first_response")
    assert by_speed["csat_latent"][0] - by_speed["csat_latent"][1] > 0.5


def test_survey_scores_stay_on_their_scales(project):
    scales = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
    surveys = project.surveys.with_columns(pl.col("score").cast(pl.Int64))
    assert set(surveys["survey_type"].unique()) == set(scales)
    for kind, (lo, hi) in scales.items():
        scores = surveys.filter(pl.col("survey_type") == kind)["score"]
        assert scores.min() >= lo and scores.max() <= hi, kind
    assert surveys.filter(pl.col("survey_type") == "nps")["ticket_ref"].is_null().all()
    assert surveys["submitted_at"].str.contains(r"[+-]0[12]:00$").all()
