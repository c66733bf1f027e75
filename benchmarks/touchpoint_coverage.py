"""Touchpoint verdicts against the generator's truth, on the path a user runs: coverage and wrong verdicts.

    uv run python benchmarks/touchpoint_coverage.py [--sizes 3000 5000 20000 100000] [--projects 8 8 4 2]
        [--first-seed 1000] [--dir /tmp/coverage] [--timing-dir /tmp/bench14]

For each size, ``--projects`` generated projects (seeds from ``--first-seed``, never the tests' or the
estimators' development seeds) are run end to end with ``cxdata run`` (identity resolution included, on
DuckDB, in a child process) and their touchpoint_scores compared with truth/touchpoints.csv, campaign by
campaign: *covered* when the true ROI lies in [roi_low, roi_high]; *confidently wrong* when the verdict is
invest where the truth's is cut, or cut where it is invest (the truth's verdict uses the generator's band around
the hurdle). Prints one line per project and a table by size. With ``--timing-dir`` (a folder
benchmarks/identity.py built, e.g. at 1.4M customers), the touchpoint step is then timed there by
benchmarks/touchpoints.py in a child process.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse


def verdicts(root: Path) -> pl.DataFrame:
    """touchpoint_scores of a project that ran, beside its truth: one row per campaign."""
    with Warehouse(f"duckdb:///{root / 'warehouse.duckdb'}") as wh:
        scores = wh.read("touchpoint_scores")
    truth = pl.read_csv(root / "truth" / "touchpoints.csv").filter(pl.col("channel") != "service")
    return (
        truth.select("channel", "campaign", "true_roi", pl.col("recommendation").alias("due"))
        .join(
            scores.select("channel", "campaign", "roi", "roi_low", "roi_high", "recommendation", "evidence"),
            on=["channel", "campaign"],
            how="left",
        )
        .with_columns(
            pl.col("true_roi").is_between(pl.col("roi_low"), pl.col("roi_high")).fill_null(False).alias("covered"),
            (
                ((pl.col("recommendation") == "invest") & (pl.col("due") == "cut"))
                | ((pl.col("recommendation") == "cut") & (pl.col("due") == "invest"))
            ).alias("wrong"),
        )
    )


def run_project(root: Path, customers: int, seed: int) -> pl.DataFrame:
    """Generate and run one project with `cxdata run` in a child process; its verdicts with size and seed."""
    if not (root / "cxdata.yaml").exists():
        generate_project(root, SynthParams(customers=customers, seed=seed))
    started = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("cxdata")), "run", "--config", str(root / "cxdata.yaml")],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if not (root / "warehouse.duckdb").exists():
        raise SystemExit(f"cxdata run failed for {root}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    table = verdicts(root).with_columns(pl.lit(customers).alias("customers"), pl.lit(seed).alias("seed"))
    print(
        f"{customers:>7,} customers seed {seed}: run {seconds:6.1f} s, covered {table['covered'].sum()}/"
        f"{table.height}, confidently wrong {table['wrong'].sum()}",
        flush=True,
    )
    return table


def main() -> None:
    """Run the projects, print coverage and wrong-verdict rates by size, then time the step at scale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000, 5000, 20000, 100000])
    parser.add_argument("--projects", type=int, nargs="+", default=[8, 8, 4, 2])
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/touchpoint_coverage"))
    parser.add_argument("--timing-dir", type=Path, default=None)
    args = parser.parse_args()
    if len(args.projects) != len(args.sizes):
        raise SystemExit("--projects needs one count per --sizes entry")
    tables = []
    seed = args.first_seed
    for customers, count in zip(args.sizes, args.projects, strict=True):
        for _ in range(count):
            tables.append(run_project(args.dir / f"c{customers}_s{seed}", customers, seed))
            seed += 1
    table = pl.concat(tables)
    summary = (
        table.group_by("customers")
        .agg(
            pl.col("seed").n_unique().alias("projects"),
            pl.len().alias("campaigns"),
            pl.col("covered").mean().round(3).alias("coverage"),
            pl.col("wrong").mean().round(3).alias("confidently_wrong"),
            (pl.col("evidence") == "insufficient").mean().round(3).alias("hold_share"),
        )
        .sort("customers")
    )
    with pl.Config(tbl_rows=50, tbl_cols=20, tbl_width_chars=160):
        print(summary)
        print(
            table.group_by("channel", "campaign")
            .agg(pl.col("covered").mean().round(3).alias("coverage"), pl.col("wrong").sum().alias("wrong"))
            .sort("channel", "campaign")
        )
    if args.timing_dir is not None:
        script = Path(__file__).with_name("touchpoints.py")
        subprocess.run([sys.executable, str(script), "--dir", str(args.timing_dir)], check=True)


if __name__ == "__main__":
    main()
