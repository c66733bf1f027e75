"""Benchmark: segment shares and churn-reason coverage of projects already run, and the time reasons take.

For each project folder (a cxdata.yaml whose warehouse `cxdata run` has filled: a generated project or
benchmarks/cdnow.py's), the value step's CLV and churn are computed again from the warehouse's facts without
writing anything, with the default segments unless the project configures its own. Printed per project:

- each segment's share of the scored customers and its rule in words (segment_summary);
- reason coverage: the share of high_value_at_risk members, and of all customers whose churn probability is
  above the median, with at least one churn reason;
- the cost of the reasons (`cxdata.churn.score.reasons`): the rows its model predicts, as passes over the
  scored customers (the predictions are its cost, and the count does not depend on the machine), and its CPU
  seconds (the least of three runs); and the wall seconds of all of scoring (`score_features`).

``--save DIR`` writes each project's scores (key, probability, percentiles, segment, reasons) to
``DIR/<project>.parquet``; ``--compare DIR`` then reads a saved run (e.g. of an earlier commit, with
``PYTHONPATH`` pointing at its checkout) and prints the coverage of its reasons on this run's segments, so a
change of the reasons is measured on the same members.

    uv run python benchmarks/segments.py /tmp/proj-2000-101 /tmp/cxdata-cdnow [--save DIR] [--compare DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import warnings
from pathlib import Path

import polars as pl

from cxdata.churn.features import build_features
from cxdata.churn.reads import read_inputs
from cxdata.churn.score import REASONS, reasons, score_features
from cxdata.churn.segments import assign_segments, segment_summary
from cxdata.churn.step import merged
from cxdata.churn.train import matrix, train
from cxdata.clv.step import clv_outputs
from cxdata.config import load_config
from cxdata.run_context import RunContext, end_of_day
from cxdata.warehouse import Warehouse

KEPT = [
    "customer_key", "clv", "clv_percentile", "churn_probability", "churn_percentile", "value_at_risk", "frequency",
    "tenure_days", "days_since_last_order", "segment", *REASONS,
]  # fmt: skip
AT_RISK = "high_value_at_risk"


class Counting:
    """A model that counts the rows it is asked to predict: the cost of the reasons, whatever the machine."""

    def __init__(self, model):
        self.model, self.rows = model, 0

    def predict_proba(self, X):
        self.rows += len(X)
        return self.model.predict_proba(X)


def _timed(action) -> float:
    began = time.process_time()
    action()
    return time.process_time() - began


def coverage(scored: pl.DataFrame, segments: pl.DataFrame | None = None) -> dict[str, float]:
    """Share of high_value_at_risk members (of ``segments`` when given) and of customers above the median churn
    probability with at least one reason, in percent, and how many each is."""
    if segments is not None:
        scored = scored.drop("segment").join(segments.select("customer_key", "segment"), on="customer_key")
    reasoned = pl.col(REASONS[0]).is_not_null()
    at_risk = scored.filter(pl.col("segment") == AT_RISK)
    above = scored.filter(pl.col("churn_probability") > pl.col("churn_probability").median())
    share = lambda frame: 100 * frame.select(reasoned.mean()).item() if frame.height else float("nan")  # noqa: E731
    return {
        "at_risk_members": at_risk.height,
        "at_risk_with_reason": share(at_risk),
        "above_median": above.height,
        "above_median_with_reason": share(above),
    }


def measure(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, float]]:
    """The project's scores and segment summary as the value step computes them, and the scoring seconds."""
    config = load_config(folder / "cxdata.yaml")
    as_of = end_of_day(config.as_of, config.timezone)
    run = RunContext("benchmark", as_of, dt.datetime.now(dt.UTC))
    churn = config.models.churn
    with Warehouse(config.warehouse, schema=config.warehouse_schema) as wh:
        clv = clv_outputs(wh, config, run)
        inputs = read_inputs(wh)
    inputs = type(inputs)(**{**inputs.__dict__, "orders": inputs.orders.filter(pl.col("ordered_at") <= as_of)})
    training = train(inputs, churn, as_of)
    features = build_features(inputs, as_of, churn, training.channels)
    X = matrix(features, training.features)
    probability = training.model.predict_proba(X)[:, 1]
    counting = Counting(training.model)
    training.model = counting
    seconds = {
        "reasons": min(_timed(lambda: reasons(training, X, probability, churn.reason_features)) for _ in range(3))
    }
    seconds["passes"] = counting.rows / 3 / max(1, X.shape[0])
    training.model = counting.model
    began = time.perf_counter()
    scores = score_features(training, features, churn, "benchmark/churn")
    seconds["scoring"] = time.perf_counter() - began
    scored = merged(clv.scores, scores).with_columns(
        (pl.col("clv") * pl.col("churn_probability")).alias("value_at_risk")
    )
    scored = assign_segments(scored, churn.segments)
    summary = segment_summary(scored, churn.segments, as_of, run.run_id)
    return scored.select(KEPT), summary, seconds


def main() -> None:
    """Measure every project given and print its shares, rules, coverage and seconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("projects", type=Path, nargs="+")
    parser.add_argument("--save", type=Path)
    parser.add_argument("--compare", type=Path)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    for folder in args.projects:
        scored, summary, seconds = measure(folder)
        print(f"== {folder.name}: {scored.height:,} scored customers")
        for row in summary.iter_rows(named=True):
            share = 100 * row["customers"] / max(1, scored.height)
            print(f"  {row['segment']:<19} {share:5.1f}%  {row.get('rule')}")
        print(f"  coverage: {coverage(scored)}")
        print(
            f"  reasons: {seconds['passes']:.2f} prediction passes over the scored customers, "
            f"{seconds['reasons']:.2f} CPU s (least of 3); scoring {seconds['scoring']:.2f} s wall"
        )
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            scored.write_parquet(args.save / f"{folder.name}.parquet")
        if args.compare:
            earlier = pl.read_parquet(args.compare / f"{folder.name}.parquet")
            same = earlier.join(scored, on="customer_key", suffix="_now")
            moved = same.filter((pl.col("churn_probability") - pl.col("churn_probability_now")).abs() > 1e-12)
            print(f"  compared run's reasons on these segments: {coverage(earlier, scored)}")
            print(f"  customers whose churn probability differs from the compared run: {moved.height}")


if __name__ == "__main__":
    main()
