"""How precisely the data can measure each campaign's return: the truth's own noise and the observable floor.

    uv run python benchmarks/touchpoint_resolution.py [--customers 5000] [--seeds 43 11 5 21]

A click that is followed by an order within its session cannot be told apart from demand the order itself
caused (someone searching the brand to buy), so it carries no evidence; the orders a click causes in its
session (the generator's ``in_session_order_share``) have to be inferred from those that come later. What
remains is the orders in the later part of the response window of the clicks without an order in their
session: caused and organic ones alike, and the organic ones carry Poisson noise that no comparison window
removes. Scaled to a return on cost, that noise is a floor under the width of any such estimate's interval
(tests/touchpoints/resolution.py, which the truth test's verdicts use too).

For each campaign this prints the true return, the estimate and 90% interval of `cxdata.touchpoints`
(`cxdata run`'s touchpoint step on the project's facts keyed by the true person), the floor's 90% half-width,
the truth's own standard deviation, and the distance of the true return from the hurdle in standard deviations
of both combined (the truth test holds a campaign to a verdict beyond 3).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))  # the repository root, for the tests' fact helper

from cxdata.synth import SynthParams, generate_project
from tests.touchpoints.projects import scored_project
from tests.touchpoints.resolution import resolution


def main() -> None:
    """Print, per seed and campaign, the truth, the estimate with its interval, and the noise floor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[43, 11, 5, 21])
    args = parser.parse_args()
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            generate_project(root, SynthParams(customers=args.customers, seed=seed))
            config, tables, scores = scored_project(root, "resolution")
            tp = config.models.touchpoints
            table = resolution(root, tables, tp.session_minutes / 1440.0, tp.response_days).join(
                scores.select("channel", "campaign", "roi", "roi_low", "roi_high", "recommendation"),
                on=["channel", "campaign"],
            )
        for row in table.iter_rows(named=True):
            print(
                f"seed {seed:>3}  {args.customers:,} customers  {row['channel'] + '/' + row['campaign']:<22} "
                f"true ROI {row['true_roi']:8.2f}  estimate {row['roi']:8.2f} ({row['roi_low']:8.2f}, "
                f"{row['roi_high']:8.2f}) {row['recommendation']:<6}  floor: {row['evidence_orders']:,} "
                f"evidence orders, 90% half-width {1.645 * row['floor_sd']:.2f}; truth sd {row['truth_sd']:.2f}; "
                f"distance from the hurdle {abs(row['true_roi'] - tp.hurdle) / row['sd']:.1f} sd",
                flush=True,
            )


if __name__ == "__main__":
    main()
