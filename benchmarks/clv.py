"""Benchmark: polars RFM summary vs lifetimes', weighted vs plain BG/NBD fit, and scoring time.

Data: ``truth/orders.parquet`` of a generated project (default
/tmp/cxdata-bench-1400000-spec: about 9.5M orders of 1.4M people), keyed by the
true ``person_id`` so that the figures measure CLV alone, not identity
resolution. lifetimes' summary is run on the first ``--lifetimes-rows`` orders
(pandas needs minutes and many GB on all of them); polars runs on the same
subset for the ratio and on everything for the absolute figure.
The weighted fit is `BtydModel`'s (lifetimes' fit with the analytic optimiser
of `cxdata.clv.likelihood`), against lifetimes' plain fit of every customer
from the same starting point, in the same process.
Targets: summary >= 5x, weighted fit >= 3x with params equal to 1e-4, scoring 1.4M customers <= 10 s.
Generate the default project first (a few minutes):
``uv run cxdata generate --out /tmp/cxdata-bench-1400000-spec --customers 1400000 --seed 0``.

    uv run python benchmarks/clv.py [--project DIR] [--lifetimes-rows 2000000] [--lifetimes-weighted]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import lifetimes
import polars as pl
from lifetimes.utils import summary_data_from_transaction_data
from measure import timed
from polars.testing import assert_frame_equal

from cxdata.clv.btyd import BtydModel, SpendModel, unique_rows
from cxdata.clv.rfm import rfm_summary
from cxdata.clv.score import score_customers
from cxdata.config import load_config
from cxdata.run_context import end_of_day


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=Path("/tmp/cxdata-bench-1400000-spec"))
    parser.add_argument("--lifetimes-rows", type=int, default=2_000_000)
    parser.add_argument("--freq", default="D", choices=["D", "W"])
    parser.add_argument(
        "--lifetimes-weighted", action="store_true", help="also time lifetimes' own optimiser on the unique rows"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    config = load_config(args.project / "cxdata.yaml")
    as_of = end_of_day(config.as_of, config.timezone)
    source = args.project / "truth" / "orders.parquet"
    orders = pl.read_parquet(source, columns=["person_id", "ordered_at", "amount"])
    orders = orders.rename({"person_id": "customer_key"}).filter(pl.col("ordered_at") <= as_of)
    print(f"orders {orders.height:,}, customers {orders['customer_key'].n_unique():,}, freq {args.freq}")

    subset = orders.head(args.lifetimes_rows)
    pandas_subset = subset.with_columns(pl.col("ordered_at").dt.replace_time_zone(None)).to_pandas()
    end = as_of.replace(tzinfo=None)
    ours, t_ours = timed(
        f"polars summary, {subset.height:,} orders",
        lambda: rfm_summary(subset.lazy(), end, args.freq).collect(),
        quiet=True,
    )
    theirs, t_theirs = timed(
        f"lifetimes summary, {subset.height:,} orders",
        lambda: summary_data_from_transaction_data(
            pandas_subset, "customer_key", "ordered_at", "amount", observation_period_end=end, freq=args.freq
        ),
        quiet=True,
    )
    assert_frame_equal(ours, pl.from_pandas(theirs.reset_index()).sort("customer_key"))
    print(f"summary speed-up: {t_theirs / t_ours:.1f}x (identical output)")

    rfm, _ = timed(
        f"polars summary, all {orders.height:,} orders",
        lambda: rfm_summary(orders.lazy(), end, args.freq).collect(),
        quiet=True,
    )
    model, t_weighted = timed("weighted BG/NBD fit (unique rows)", lambda: BtydModel("bgnbd").fit(rfm), quiet=True)
    accepted = model.attempts_[-1]
    print(
        f"  ({model.n_unique_rows_:,} unique rows for {model.n_customers_:,} customers; "
        f"{accepted.optimiser} optimiser, {len(model.attempts_)} attempt(s))"
    )
    start = accepted.initial_params
    arrays = [rfm[c].to_numpy() for c in ("frequency", "recency", "T")]
    if args.lifetimes_weighted:
        # the previous path: lifetimes' own optimiser on the same unique rows, for the record
        rows = unique_rows(rfm)
        weighted = [rows[c].to_numpy() for c in ("frequency", "recency", "T", "weight")]
        _, t_lifetimes_weighted = timed(
            "lifetimes weighted BG/NBD fit (unique rows, autograd)",
            lambda: lifetimes.BetaGeoFitter().fit(*weighted[:3], weights=weighted[3], initial_params=start),
            quiet=True,
        )
    plain, t_plain = timed(
        "lifetimes plain BG/NBD fit (every customer)",
        lambda: lifetimes.BetaGeoFitter().fit(*arrays, initial_params=start),
        quiet=True,
    )
    worst = max(abs(model.params_[k] / plain.params_[k] - 1) for k in model.params_)
    objective = abs(model.fitter_._negative_log_likelihood_ / plain._negative_log_likelihood_ - 1)
    print(f"fit speed-up: {t_plain / t_weighted:.1f}x (target >= 3x)", end="")
    if args.lifetimes_weighted:
        print(f"; lifetimes' weighted fit alone: {t_plain / t_lifetimes_weighted:.1f}x", end="")
    print(f"\n  largest relative parameter difference {worst:.2e}; objective {objective:.1e}")
    assert worst <= 1e-4

    spend = SpendModel().fit(rfm)
    scores, t_score = timed(
        f"scoring {rfm.height:,} customers",
        lambda: score_customers(
            rfm,
            model,
            spend,
            as_of=as_of,
            model_run_id="bench",
            horizon_days=365,
            period=args.freq,
            annual_discount_rate=0.1,
        ),
        quiet=True,
    )
    print(f"scoring: {t_score:.2f} s for {scores.height:,} customers (target <= 10 s)")


if __name__ == "__main__":
    main()
