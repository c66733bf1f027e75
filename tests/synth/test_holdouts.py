"""Holdout campaigns in the generator: control people are never contacted, the assignments file is what the
product records (and publishes as experiment_assignments), truth/experiments.csv holds the true effect, and
projects without holdouts get no such files."""

from __future__ import annotations

import dataclasses
import math

import polars as pl
import pytest

from cxdata.config import load_config
from cxdata.synth import SynthParams, generate_project, simulate
from cxdata.synth.params import DEFAULT_CAMPAIGNS
from cxdata.touchpoints.experiments import read_experiments
from cxdata.warehouse import Warehouse

from .conftest import Project

SHARES = {"newsletter": 0.25, "winback": 0.1}
COLUMNS = ["campaign", "customer_ref", "group", "share", "assigned_at", "salt_id"]


def _params(customers: int = 3000, seed: int = 21) -> SynthParams:
    campaigns = tuple(
        dataclasses.replace(c, holdout_share=SHARES[c.campaign], incremental_order_prob=0.1)
        if c.campaign in SHARES
        else c
        for c in DEFAULT_CAMPAIGNS
    )
    return SynthParams(customers=customers, seed=seed, campaigns=campaigns)


@pytest.fixture(scope="module")
def held(tmp_path_factory) -> Project:
    return Project(generate_project(tmp_path_factory.mktemp("holdouts"), _params()))


def _assigned(project: Project) -> pl.DataFrame:
    """The assignments file with each row's true person."""
    frame = pl.read_csv(project.root / "data" / "experiment_assignments.csv", try_parse_dates=True)
    return project.people_of("customers", frame, "customer_ref")


def test_assignments_are_the_products_rows_in_the_planted_shares(held):
    frame = _assigned(held)
    assert frame.columns[: len(COLUMNS)] == COLUMNS
    assert (
        frame["person_id"].null_count() == 0
        and frame.select(pl.struct("campaign", "person_id").is_unique().all()).item()
    )
    assert frame["assigned_at"].max() < held.cutoff[0] and frame["salt_id"].str.len_chars().unique().to_list() == [
        12
    ]
    for name, share in SHARES.items():
        mine = frame.filter(pl.col("campaign") == f"email/{name}")
        assert mine.height > 1000 and set(mine["share"]) == {share}
        control = (mine["group"] == "control").mean()
        assert abs(control - share) < 4 * math.sqrt(share * (1 - share) / mine.height), name


def test_control_people_are_never_contacted_and_treated_ones_first_at_assignment(held):
    touches = held.people_of("touches", held.touches, "touch_id").filter(pl.col("is_customer"))
    sent = touches.filter(pl.col("interaction").cast(pl.String) == "sent").select(
        pl.concat_str(pl.lit("email/"), pl.col("campaign_name").cast(pl.String)).alias("campaign"),
        "person_id",
        "event_time",
    )
    joined = _assigned(held).join(sent, on=["campaign", "person_id"], how="left")
    control = joined.filter(pl.col("group") == "control")
    assert control.height > 200 and control["event_time"].null_count() == control.height
    first = (
        joined.filter(pl.col("group") == "treatment")
        .group_by("campaign", "person_id")
        .agg(pl.col("assigned_at").first(), pl.col("event_time").min())
    )
    assert (first["event_time"] == first["assigned_at"]).all()
    # the campaigns without a holdout still reach everybody they did
    others = touches.filter(~pl.col("campaign_name").cast(pl.String).is_in(list(SHARES)))
    assert others.height > 1000


def test_truth_holds_the_effect_and_the_config_the_response_window(held):
    truth = held.truth("experiments.csv")
    assert truth["campaign"].to_list() == ["email/newsletter", "email/winback"]
    assert (truth["true_incremental_orders"] > 20).all()
    assert (
        truth.select(
            (pl.col("true_itt_orders") - pl.col("true_incremental_orders") / pl.col("treated")).abs().max()
        ).item()
        < 1e-6  # written with 6 decimals
    )
    assigned = _assigned(held).group_by("campaign").len()
    assert (
        (truth.join(assigned, on="campaign").select(pl.col("treated") + pl.col("control") <= pl.col("len")))
        .to_series()
        .all()
    )
    config = load_config(held.result.config_path)
    assert config.models.experiments.response_days == held.params["experiment_response_days"] == 14.0


def test_the_file_publishes_as_experiment_assignments_and_reads_back(held, tmp_path):
    # customer_ref stands in for customer_key: a holdout mails subscribers, who all have a CRM number
    rows = pl.read_csv(held.root / "data" / "experiment_assignments.csv", try_parse_dates=True).rename(
        {"customer_ref": "customer_key"}
    )
    orders = (
        held.orders.filter(pl.col("order_status") == "completed")
        .select(
            pl.col("cust_id").alias("customer_key"),
            pl.col("order_date")
            .str.to_datetime("%d/%m/%Y %H:%M:%S")
            .dt.replace_time_zone(held.params["timezone"], ambiguous="earliest", non_existent="null"),
            pl.col("total").cast(pl.Float64).alias("amount"),
        )
        .rename({"order_date": "ordered_at"})
    )
    with Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        wh.append("experiment_assignments", rows)
        stored = wh.read("experiment_assignments")
    assert stored.columns == [*COLUMNS[:1], "customer_key", *COLUMNS[2:]] and stored.height == rows.height
    found = read_experiments(
        stored.lazy(), orders.lazy(), held.cutoff[0], response_days=14.0, churn_days=180, interval=0.9
    )
    truth = held.truth("experiments.csv").join(found, left_on="campaign", right_on="touchpoint")
    assert truth.height == 2
    assert (truth["treated"] == truth["treated_customers"]).all() and (
        truth["control"] == truth["control_customers"]
    ).all()


def test_projects_without_holdouts_write_no_experiment_files(project):
    assert not (project.root / "data" / "experiment_assignments.csv").exists()
    assert not (project.root / "truth" / "experiments.csv").exists()
    assert simulate(SynthParams(customers=300, seed=3)).assignments.person.size == 0
    assert "experiments" not in project.result.config_path.read_text(encoding="utf-8")


def test_holdouts_are_for_subscriber_campaigns_only():
    alive = next(c for c in DEFAULT_CAMPAIGNS if c.audience == "alive")
    with pytest.raises(ValueError, match="holdout_share"):
        SynthParams(campaigns=(dataclasses.replace(alive, holdout_share=0.1),))
    with pytest.raises(ValueError, match="holdout_share"):
        SynthParams(campaigns=(dataclasses.replace(DEFAULT_CAMPAIGNS[0], holdout_share=1.0),))
