"""Benchmark: journeys, Markov and Shapley attribution and their bootstrap on 1M synthetic journeys, 12 channels.

Data (numpy, seeded): customers live through consecutive journeys of 1-10
touches (about 5% are orders with no touch) over 12 channels of unequal reach;
a journey converts with a probability that grows with its channels' planted
lifts, and ends in an order an hour after its last touch. Journeys of one
customer are more than the lookback apart, so ``build_journeys`` must rebuild
exactly the generated journeys, which the script checks. Targets (2 cores):
journeys + Markov + Shapley <= 30 s; bootstrap intervals (200 replicates)
<= 60 s more.

    uv run python benchmarks/attribution.py [--journeys 1000000] [--channels 12] [--replicates 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os

import numpy as np
import polars as pl
from measure import CPU_SECONDS, peak_rss_gb, timed

from cxdata.touchpoints.attribution import attribute, bootstrap_attribution
from cxdata.touchpoints.journeys import build_journeys

LOOKBACK_DAYS = 30
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
SECONDS_PER_DAY = 86_400


def synthetic(journeys: int, channels: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Events, orders and clv frames whose journeys are known: (customer_key, occurred_at, touchpoint), ..."""
    rng = np.random.default_rng(seed)
    reach = rng.dirichlet(np.full(channels, 1.5))
    lift = rng.uniform(-0.6, 0.9, channels)
    per_customer = 1 + rng.poisson(1.5, journeys)  # more customers than needed; cut to the journey count
    customer = np.repeat(np.arange(journeys), per_customer)[:journeys]
    index = np.arange(journeys) - np.searchsorted(customer, customer)  # journey number within its customer
    length = np.minimum(rng.geometric(0.3, journeys), 10)
    length[rng.random(journeys) < 0.05] = 0
    # journeys of a customer start 60 days apart, touches within 20 days: never within one lookback
    start = index * 60.0 + rng.uniform(0, 5, journeys)
    touch_journey = np.repeat(np.arange(journeys), length)
    touch_channel = rng.choice(channels, touch_journey.size, p=reach)
    offset = rng.uniform(0, 20, touch_journey.size)
    offset = offset[np.lexsort((offset, touch_journey))]  # in time order within each journey
    touch_time = start[touch_journey] + offset
    score = np.bincount(touch_journey, weights=lift[touch_channel], minlength=journeys) - 0.8
    converted = (rng.random(journeys) < 1 / (1 + np.exp(-score))) | (length == 0)
    last = np.where(length > 0, start, 0.0)
    np.maximum.at(last, touch_journey, touch_time)
    order_time = last + 1 / 24

    def stamp(days: np.ndarray) -> pl.Series:
        micros = (days * SECONDS_PER_DAY * 1_000_000).astype(np.int64)
        return pl.Series(micros).cast(pl.Datetime("us")).dt.replace_time_zone("UTC") + (
            START - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        )

    keys = pl.Series(customer).cast(pl.String)
    events = pl.DataFrame(
        {
            "customer_key": keys.gather(touch_journey),
            "occurred_at": stamp(touch_time),
            "touchpoint": pl.Series([f"ch{c:02d}" for c in range(channels)]).gather(touch_channel),
        }
    )
    buying = np.flatnonzero(converted)
    orders = pl.DataFrame(
        {
            "customer_key": keys.gather(buying),
            "order_id": pl.Series(buying).cast(pl.String),
            "ordered_at": stamp(order_time[buying]),
            "amount": rng.gamma(2.0, 40.0, buying.size),
            "is_refund": np.zeros(buying.size, bool),
        }
    )
    customers = np.unique(customer)
    clv = pl.DataFrame(
        {"customer_key": pl.Series(customers).cast(pl.String), "clv": rng.gamma(1.5, 100.0, customers.size)}
    )
    return events, orders, clv


def main() -> None:
    """Generate, time each step, print the figures, the sizes and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=12)
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, polars threads {pl.thread_pool_size()}")
    (events, orders, clv), t_gen = timed(
        "generate (numpy)", lambda: synthetic(args.journeys, args.channels, args.seed)
    )
    sizes = f"events {events.height:,}, orders {orders.height:,}, customers {clv.height:,}"
    print(f"{sizes}, rss {peak_rss_gb() * 1024:,.0f} MB")

    journeys, t_build = timed(
        "build_journeys",
        lambda: build_journeys(
            orders.lazy(), events.lazy(), lookback_days=LOOKBACK_DAYS, clv=clv.lazy()
        ).collect(),
    )
    built = journeys["journey_id"].n_unique()
    converting = journeys.filter(pl.col("converted"))["journey_id"].n_unique()
    print(f"journeys {built:,} (generated {args.journeys:,}), converting {converting:,}, rows {journeys.height:,}")
    assert built == args.journeys and converting == orders.height, "journeys do not reconcile with the generator"

    markov, t_markov = timed("attribute markov", lambda: attribute(journeys, models=["markov"]))
    shapley, t_shapley = timed(
        f"attribute shapley (exact, 2^{args.channels} coalitions)", lambda: attribute(journeys, models=["shapley"])
    )
    _, t_all = timed("attribute, all six models", lambda: attribute(journeys))
    with pl.Config(tbl_rows=20):
        print(
            markov.select("touchpoint", "removal_effect", "share", "conversions")
            .join(shapley.select("touchpoint", pl.col("conversions").alias("shapley")), on="touchpoint")
            .sort("touchpoint")
        )
    _, t_boot_markov = timed(
        f"bootstrap markov, {args.replicates} replicates",
        lambda: bootstrap_attribution(journeys, model="markov", replicates=args.replicates),
    )
    _, t_boot_shapley = timed(
        f"bootstrap shapley, {args.replicates} replicates",
        lambda: bootstrap_attribution(journeys, model="shapley", replicates=args.replicates),
    )
    main_steps = t_build + t_markov + t_shapley
    main_cpu = sum(CPU_SECONDS[k] for k in list(CPU_SECONDS)[1:4])
    print(
        f"journeys + markov + shapley: {main_steps:.2f} s wall, {main_cpu:.2f} s CPU (target 30 s): "
        f"{'ok' if main_steps <= 30 else 'OVER'}"
    )
    boot = t_boot_markov + t_boot_shapley
    boot_cpu = sum(CPU_SECONDS[k] for k in list(CPU_SECONDS)[-2:])
    print(
        f"bootstrap markov + shapley: {boot:.2f} s wall, {boot_cpu:.2f} s CPU (target 60 s): "
        f"{'ok' if boot <= 60 else 'OVER'}"
    )
    print(f"all six models in one call: {t_all:.2f} s; generation {t_gen:.2f} s (not counted)")
    print(f"peak RSS {peak_rss_gb() * 1024:,.0f} MB")


if __name__ == "__main__":
    main()
