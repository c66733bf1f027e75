"""Holdout experiments against the generator's truth: how often read_experiments' interval covers the true effect.

    uv run python benchmarks/experiments.py [--projects 40] [--customers 2500] [--first-seed 1000]

Each project plants four CRM campaigns with a holdout (the default newsletter and winback, and two extra
mailings, one with a large effect and one with none), simulates it in memory, and reads every experiment at
the cutoff with `cxdata.touchpoints.experiments.read_experiments` on the simulation's kept orders. Printed:
per interval level, the share of experiments whose orders and revenue intervals contain the generator's
ITT effect (truth/experiments.csv), and the mean interval width; then the time per project.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import polars as pl

from cxdata.synth import Campaign, SynthParams, simulate
from cxdata.synth.holdouts import assignments, experiments, kept_orders
from cxdata.synth.params import DEFAULT_CAMPAIGNS
from cxdata.touchpoints.experiments import read_experiments

LEVELS = (0.80, 0.90, 0.95)


def planted(seed: int, customers: int, share: float, response_days: float) -> SynthParams:
    """Default campaigns with holdouts on the two CRM mailings, plus a strong and an inert mailing."""
    held = tuple(
        dataclasses.replace(c, holdout_share=share) if c.audience == "subscribers" else c
        for c in DEFAULT_CAMPAIGNS
    )
    extra = tuple(
        Campaign(
            "email",
            name,
            "sent",
            "subscribers",
            per_year,
            open_rate=0.3,
            click_rate=0.2,
            incremental_order_prob=effect,
            cost_per_contact=0.002,
            utm_source="crm",
            utm_medium="email",
            holdout_share=share,
        )
        for name, per_year, effect in (("flash_sale", 3.0, 0.15), ("inert", 5.0, 0.0))
    )
    return SynthParams(
        customers=customers, seed=seed, campaigns=held + extra, experiment_response_days=response_days
    )


def read(sim, level: float) -> pl.DataFrame:
    """Every experiment of ``sim`` read at the cutoff, joined to its truth."""
    keyed = pl.col("person_id").cast(pl.String).alias("customer_key")
    found = read_experiments(
        assignments(sim).with_columns(keyed).lazy(),
        kept_orders(sim).with_columns(keyed).lazy(),
        sim.timeline.cutoff_utc,
        response_days=sim.params.experiment_response_days,
        churn_days=180,
        interval=level,
    )
    return experiments(sim).join(found, left_on="campaign", right_on="touchpoint", how="left")


def main() -> None:
    """Simulate the projects, read their experiments at several levels, print coverage."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=40)
    parser.add_argument("--customers", type=int, default=2500)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--share", type=float, default=0.2)
    parser.add_argument("--response-days", type=float, default=14.0)
    args = parser.parse_args()
    rows, seconds = [], []
    for seed in range(args.first_seed, args.first_seed + args.projects):
        started = time.perf_counter()
        sim = simulate(planted(seed, args.customers, args.share, args.response_days))
        for level in LEVELS:
            rows.append(read(sim, level).with_columns(pl.lit(level).alias("level"), pl.lit(seed).alias("seed")))
        seconds.append(time.perf_counter() - started)
    table = pl.concat(rows)
    inside = {
        m: (pl.col(f"{m}_effect_low") <= pl.col(f"true_itt_{m}"))
        & (pl.col(f"true_itt_{m}") <= pl.col(f"{m}_effect_high"))
        for m in ("orders", "revenue")
    }
    summary = (
        table.group_by("level")
        .agg(
            pl.len().alias("experiments"),
            pl.col("treated").mean().round(0).alias("mean_treated"),
            pl.col("control").mean().round(0).alias("mean_control"),
            inside["orders"].mean().round(3).alias("orders_coverage"),
            inside["revenue"].mean().round(3).alias("revenue_coverage"),
            (pl.col("orders_effect_high") - pl.col("orders_effect_low")).mean().round(4).alias("orders_width"),
            (pl.col("revenue_effect_high") - pl.col("revenue_effect_low")).mean().round(2).alias("revenue_width"),
        )
        .sort("level")
    )
    by_campaign = (
        table.filter(pl.col("level") == 0.90)
        .group_by("campaign")
        .agg(
            pl.col("true_itt_revenue").mean().round(3).alias("true_itt_revenue"),
            pl.col("revenue_effect").mean().round(3).alias("mean_revenue_effect"),
            inside["revenue"].mean().round(3).alias("revenue_coverage_90"),
            inside["orders"].mean().round(3).alias("orders_coverage_90"),
        )
        .sort("campaign")
    )
    with pl.Config(tbl_cols=-1, tbl_width_chars=200):
        print(
            f"{args.projects} projects of {args.customers:,} customers, holdout {args.share}, "
            f"response window {args.response_days} days"
        )
        print(summary)
        print(by_campaign)
    print(f"{sum(seconds) / len(seconds):.2f} s a project (simulation and three readings)")


if __name__ == "__main__":
    main()
