"""Touchpoint scoring benchmark: the touchpoint step on the marts of a generated project, with its parts.

    uv run python benchmarks/touchpoints.py --customers 1400000 --dir /tmp/bench [--replicates 200]

The project and its marts come from `benchmarks/identity.py` (run in a child process when ``--dir`` does
not hold them yet; its figures are printed but not counted here). Then, in this process, on the warehouse
the step reads: journeys + every attribution model, incrementality (`estimate_lift`, with its bootstrap),
retention (`estimate_retention`, with its bootstrap), each timed alone, and the whole `touchpoint_step`
(all of the above, scoring and publishing) once more. customer_scores is not built (the CLV step is
benchmarked on its own), so attributed CLV is zero here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import polars as pl
from measure import peak_rss_gb, timed

from cxdata.clv.rfm import purchases
from cxdata.config import load_config
from cxdata.run_context import end_of_day, run_context
from cxdata.touchpoints.attribution import MODELS, attribute
from cxdata.touchpoints.journeys import build_journeys, touchpoint_events
from cxdata.touchpoints.lift import estimate_lift
from cxdata.touchpoints.retention import estimate_retention
from cxdata.touchpoints.step import read_inputs, touchpoint_step
from cxdata.warehouse import Warehouse


def main() -> None:
    """Build the marts if needed, then time the touchpoint step's parts and the whole step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_400_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--replicates", type=int, default=200)
    args = parser.parse_args()
    database = args.dir / "bench.duckdb"
    url = f"duckdb:///{database}"
    if not database.exists() or not _has_marts(url):
        identity = Path(__file__).with_name("identity.py")
        command = [sys.executable, str(identity), "--customers", str(args.customers), "--seed", str(args.seed)]
        subprocess.run([*command, "--dir", str(args.dir)], check=True)
    config = load_config(args.dir / "cxdata.yaml")
    tp = config.models.touchpoints.model_copy(update={"bootstrap_replicates": args.replicates})
    config = config.model_copy(update={"models": config.models.model_copy(update={"touchpoints": tp})})
    as_of = end_of_day(config.as_of, config.timezone)
    with Warehouse(url) as wh:
        frames, _ = timed("read the marts", lambda: read_inputs(wh))
        counts = {
            name: frame.select(pl.len()).collect().item() for name, frame in frames.items() if frame is not None
        }
        print(", ".join(f"{name} {rows:,}" for name, rows in counts.items()))
        kept = purchases(frames["fct_orders"]).select("customer_key", "ordered_at", "amount")
        kept = kept.filter(pl.col("ordered_at") <= as_of).collect().lazy()

        def journeys_and_attribution() -> pl.DataFrame:
            events = touchpoint_events(
                frames["fct_touches"],
                frames["fct_web_sessions"],
                frames["fct_tickets"],
                granularity=tp.granularity,
            )
            journeys = build_journeys(frames["fct_orders"], events, lookback_days=tp.lookback_days, as_of=as_of)
            return attribute(journeys.collect(), models=MODELS, half_life_days=tp.half_life_days)

        timed("journeys + attribution (every model)", journeys_and_attribution)
        lift, _ = timed(
            f"incrementality, {tp.bootstrap_replicates} replicates",
            lambda: estimate_lift(kept, frames["fct_touches"], as_of, replicates=tp.bootstrap_replicates),
        )
        print(f"  contacts scored {lift.table['scored_contacts'].sum():,}")
        timed(
            f"retention, {tp.bootstrap_replicates} replicates",
            lambda: estimate_retention(
                kept,
                frames["fct_tickets"],
                frames["fct_touches"],
                as_of,
                replicates=tp.bootstrap_replicates,
                campaigns=tp.retention_campaigns,
            ),
        )
        # forced: a warehouse with a recent computation would otherwise keep it (the refit cadence)
        report, _ = timed("touchpoint_step (all of it, scoring, publishing)", lambda: touchpoint_step(
            wh, config, run_context(wh, config, "bench"), refit=True))  # fmt: skip
    rss = peak_rss_gb()
    print(f"touchpoints scored {report.scores.height}; peak RSS {rss:.2f} GB")


def _has_marts(url: str) -> bool:
    with Warehouse(url) as wh:
        return wh.exists("fct_touches")


if __name__ == "__main__":
    main()
