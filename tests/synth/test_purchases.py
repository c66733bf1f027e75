"""The purchase process: planted rates come back out of the written orders and the truth."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import polars as pl

ORDER_DATE = "%d/%m/%Y %H:%M:%S"


def _order_times(project) -> pl.Series:
    local = project.orders["order_date"].str.to_datetime(ORDER_DATE, time_unit="us")
    zone = project.params["timezone"]
    return local.dt.replace_time_zone(zone, ambiguous="earliest").dt.convert_time_zone("UTC")


def test_orders_per_person_match_the_planted_process(plain_project):
    """With service and marketing effects off, E[orders by the cutoff] = 1 + (1-p)/p (1 - exp(-lambda p T))."""
    project = plain_project
    persons = project.truth("persons.parquet").filter(pl.col("is_customer"))
    counts = project.people_of("orders", project.orders, "order_no").group_by("person_id").len()
    people = persons.join(counts, on="person_id", how="left").with_columns(pl.col("len").fill_null(0))
    span = (project.cutoff[0] - people["acquired_at"]).dt.total_seconds() / 86_400
    lam, p = people["lambda_per_day"].to_numpy(), people["dropout_p"].to_numpy()
    repeat = (1 - p) / p if project.params["dropout_after_first_order"] else 1 / p
    expected = 1 + repeat * (1 - np.exp(-lam * p * span.to_numpy()))
    observed = people["len"].to_numpy()
    error = observed - expected
    assert abs(error.mean()) < 4 * error.std() / math.sqrt(len(error))
    assert 6.0 < observed.mean() < 8.0  # the defaults aim at about 7 orders a person


def test_mean_order_amount_matches_the_gamma_gamma_mean(project):
    orders = project.people_of("orders", project.orders, "order_no").with_columns(pl.col("total").cast(pl.Float64))
    planted = project.params["spend_p"] * project.params["spend_gamma"] / (project.params["spend_q"] - 1)
    assert planted == project.params["planted_mean_spend"]
    # orders of one person share a spend rate, so the error is that of a mean of person totals
    per_person = orders.group_by("person_id").agg(pl.col("total").sum(), pl.len())
    ratio = per_person["total"].sum() / per_person["len"].sum()
    residual = per_person["total"] - ratio * per_person["len"]
    stderr = math.sqrt((residual**2).sum()) / per_person["len"].sum()
    assert abs(ratio - planted) < 4 * stderr
    assert orders["total"].min() > 0


def test_data_stops_at_as_of_and_future_orders_start_after_it(project):
    cutoff = project.cutoff[0]
    ordered = _order_times(project)
    assert ordered.max() < cutoff
    local_days = project.orders["order_date"].str.to_datetime(ORDER_DATE).dt.date()
    assert str(local_days.max()) <= project.params["as_of"]
    future = project.truth("future_orders.parquet")
    assert future["ordered_at"].min() >= cutoff
    horizon = future["ordered_at"].max() - cutoff
    assert horizon.days < project.params["horizon_days"] + 1
    assert set(future.columns) >= {"person_id", "ordered_at", "amount", "caused_by_channel", "saved_by_channel"}


def test_order_numbers_count_up_with_time(project):
    ordered = _order_times(project).to_physical().to_numpy()
    numbers = project.orders["order_no"].cast(pl.Int64).to_numpy()
    assert (np.diff(numbers) == 1).all()
    # the repeated autumn hour cannot be told apart in naive local time: allow it
    assert (np.diff(ordered) >= -3_600_000_000).all()


def test_bad_service_raises_dropout(project):
    """After an order with a bad ticket, fewer people ever order again than after a good one."""
    tickets = project.truth("tickets.parquet").filter(pl.col("affects_dropout"))
    history = project.truth("orders.parquet").filter(pl.col("organic"))
    future = project.truth("future_orders.parquet").filter(pl.col("organic"))
    last = pl.concat([history.select("person_id", "ordered_at"), future.select("person_id", "ordered_at")])
    last = last.group_by("person_id").agg(pl.col("ordered_at").max().alias("last_order"))
    # orders a year before the cutoff leave two years to the horizon to order again
    followed = (
        tickets.join(history.select("order_id", "ordered_at"), on="order_id")
        .join(last, on="person_id")
        .filter(pl.col("ordered_at") < project.cutoff[0] - timedelta(days=365))
        .with_columns((pl.col("last_order") > pl.col("ordered_at")).alias("again"))
    )
    rates = followed.group_by("is_bad").agg(pl.col("again").mean().alias("rate"), pl.len()).sort("is_bad")
    good, bad = rates.row(0, named=True), rates.row(1, named=True)
    lost_good, lost_bad = 1 - good["rate"], 1 - bad["rate"]
    stderr = math.sqrt(lost_good * good["rate"] / good["len"] + lost_bad * bad["rate"] / bad["len"])
    assert lost_bad - lost_good > 4 * stderr
    assert bad["len"] > 200
