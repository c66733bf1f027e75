"""Benchmark: churn feature build + training, scoring, and peak RSS on 1.4M customers.

Data: a generated project (default /tmp/cxdata-bench-1400000-spec): orders
from ``truth/orders.parquet`` and tickets from ``data/tickets.csv`` keyed by
the true person (truth/tickets.parquet), so that the figures measure churn
alone, not identity resolution. Targets: feature build + training <= 120 s,
scoring <= 15 s, RSS <= 6 GB.

    uv run python benchmarks/churn.py [--project DIR] [--cutoffs 3]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import polars as pl
from measure import peak_rss_gb, timed

from cxdata.churn.features import ChurnInputs, build_features
from cxdata.churn.score import score_features
from cxdata.churn.train import train
from cxdata.config import load_config
from cxdata.run_context import end_of_day


def main() -> None:
    """Load the project, time training (features included) and scoring, print the figures and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=Path("/tmp/cxdata-bench-1400000-spec"))
    parser.add_argument("--cutoffs", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    config = load_config(args.project / "cxdata.yaml")
    churn = config.models.churn.model_copy(update={"cutoffs": args.cutoffs})
    as_of = end_of_day(config.as_of, config.timezone)
    orders = pl.scan_parquet(args.project / "truth" / "orders.parquet").select(
        pl.col("person_id").cast(pl.String).alias("customer_key"), "ordered_at", "amount"
    )
    orders = orders.filter((pl.col("amount") > 0) & (pl.col("ordered_at") <= as_of)).collect().lazy()
    stamps = {c: pl.Datetime("us", "UTC") for c in ("created_at", "first_response_at", "solved_at")}
    people = pl.scan_parquet(args.project / "truth" / "tickets.parquet").select(
        pl.col("ticket_id"), pl.col("person_id").cast(pl.String).alias("customer_key")
    )
    tickets = (
        pl.scan_csv(args.project / "data" / "tickets.csv", schema_overrides={c: pl.String for c in stamps})
        .select(
            pl.col("case_number").alias("ticket_id"),
            *[pl.col(c).str.to_datetime(time_zone="UTC", strict=False).alias(c) for c in stamps],
        )
        .join(people, on="ticket_id")
        .select(
            "customer_key",
            pl.col("created_at").alias("opened_at"),
            "first_response_at",
            pl.col("solved_at").alias("resolved_at"),
        )
        .collect()
        .lazy()
    )
    inputs = ChurnInputs(orders=orders, tickets=tickets)
    counts = [frame.select(pl.len()).collect().item() for frame in (orders, tickets)]
    print(f"orders {counts[0]:,}, tickets {counts[1]:,}")
    training, t_train = timed("feature build + training", lambda: train(inputs, churn, as_of))
    print(
        {k: round(v["auc"], 4) for k, v in training.metrics.items()}, f"training rows {training.training_rows:,}"
    )
    features, t_features = timed(
        "feature build at as_of (BTYD fit included)",
        lambda: build_features(inputs, as_of, churn, training.channels),
    )
    scores, t_score = timed("scoring (probabilities, percentiles, reasons)", lambda: score_features(
        training, features, churn, "bench"))  # fmt: skip
    rss_gb = peak_rss_gb()
    print(f"customers scored {scores.height:,}; peak RSS {rss_gb:.2f} GB")
    verdict = {
        "feature build + training <= 120 s": t_train <= 120,
        "scoring <= 15 s": t_score <= 15,
        "scoring with its feature build <= 15 s": t_features + t_score <= 15,
        "RSS <= 6 GB": rss_gb <= 6,
    }
    print("targets: " + "; ".join(f"{k} {'OK' if ok else 'MISSED'}" for k, ok in verdict.items()))


if __name__ == "__main__":
    main()
