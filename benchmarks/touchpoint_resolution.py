"""How precisely any self-controlled estimate can measure a search campaign's return: the Poisson floor.

    uv run python benchmarks/touchpoint_resolution.py [--customers 5000] [--seeds 43 11 5 21]

A click that is followed by an order within its session cannot be told apart from demand the order itself
caused (someone searching the brand to buy), so it carries no evidence; the orders a click causes in its
session (the generator's ``in_session_order_share``) have to be inferred from those that come later. What
remains is the orders in the later part of the response window of the clicks without an order in their
session: caused and organic ones alike, and the organic ones carry Poisson noise that no comparison window
removes. Scaled to a return on cost, that noise is a floor under the width of any such estimate's interval.

For each paid search and affiliate campaign this prints the true return, the estimate and 90% interval of
`cxdata.touchpoints` (`cxdata run`'s touchpoint step on the project's facts keyed by the true person), and
the floor's 90% half-width next to the half-width a "cut" (or "invest") verdict would need.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parents[1]))  # the repository root, for the tests' fact helper

from cxdata.synth import SynthParams, generate_project
from tests.touchpoints.projects import scored_project

CAMPAIGNS = ("brand", "generic", "partners")


def _scores(root: Path) -> tuple[pl.DataFrame, dict[str, pl.DataFrame], tuple[float, float, float]]:
    """touchpoint_scores, the person-keyed tables, and the session and response windows (days) and hurdle."""
    config, tables, scores = scored_project(root, "resolution")
    tp = config.models.touchpoints
    return scores, tables, (tp.session_minutes / 1440.0, tp.response_days, tp.hurdle)


def _floor(tables: dict[str, pl.DataFrame], campaign: str, session: float, response: float) -> tuple[int, int]:
    """Eligible clicks (no order in their session) and the orders in their (session, response] windows."""
    clicks = (
        tables["fct_touches"]
        .filter((pl.col("campaign") == campaign) & (pl.col("kind") == "click"))
        .select("customer_key", pl.col("occurred_at").alias("clicked_at"))
        .with_row_index("click")
    )
    orders = tables["fct_orders"].filter(~pl.col("is_refund")).select("customer_key", "ordered_at")
    after = clicks.join(orders, on="customer_key").with_columns(
        ((pl.col("ordered_at") - pl.col("clicked_at")).dt.total_seconds() / 86_400).alias("days")
    )
    in_session = after.filter((pl.col("days") > 0) & (pl.col("days") <= session)).select("click").unique()
    eligible = clicks.join(in_session, on="click", how="anti")
    late = after.join(eligible.select("click"), on="click").filter(
        (pl.col("days") > session) & (pl.col("days") <= response)
    )
    return eligible.height, late.height


def main() -> None:
    """Print, per seed and campaign, the truth, the estimate with its interval, and the floor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[43, 11, 5, 21])
    args = parser.parse_args()
    for seed in args.seeds:
        params = SynthParams(customers=args.customers, seed=seed)
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            generate_project(root, params)
            scores, tables, (session, response, hurdle) = _scores(root)
            truth = pl.read_csv(root / "truth" / "touchpoints.csv")
        value = tables["fct_orders"].filter(~pl.col("is_refund"))["amount"].mean()
        for campaign in CAMPAIGNS:
            true = truth.row(by_predicate=pl.col("campaign") == campaign, named=True)
            row = scores.row(by_predicate=pl.col("campaign") == campaign, named=True)
            clicks, orders = _floor(tables, campaign, session, response)
            # the late orders' Poisson spread, scaled up by the share of caused orders that come late
            sd = math.sqrt(orders) * value / ((1 - params.in_session_order_share) * true["cost"])
            needed = abs(true["true_roi"] - hurdle)
            print(
                f"seed {seed:>3}  {args.customers:,} customers  {campaign:<9} true ROI {true['true_roi']:5.2f}  "
                f"estimate {row['roi']:5.2f} ({row['roi_low']:5.2f}, {row['roi_high']:5.2f}) "
                f"{row['recommendation']:<6}  "
                f"floor: {orders} orders after {clicks:,} eligible clicks, 90% half-width {1.645 * sd:.2f} "
                f"(a verdict needs < {needed:.2f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
