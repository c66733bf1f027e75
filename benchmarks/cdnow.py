"""Benchmark: full CDNOW (orders only) through the user path, `cxdata run`, and the CLV candidates it compared.

Data: lifetimes' shipped ``CDNOW_master.txt`` (23,570 customers, 69,659 orders, 1997-01-01 to 1998-06-30),
read from the installed package's files (``lifetimes.datasets`` needs pkg_resources). The raw file is copied
into a fresh project folder with a cxdata.yaml that reads it as it is (whitespace-aligned, no order id),
and ``cxdata run --config`` runs every asset in a
child process, whose wall time and peak RSS are printed. The split is the textbook one: scored as of
1998-06-30 with a 273-day holdout, so the calibration ends 1997-09-30 (39 weeks each side); everything else
is the default config (``models.clv.model: auto``). Then each candidate of the CLV model run
(``model_runs.candidates_json``): fit seconds, holdout aggregate error, MAE, and which one was chosen.
Targets: <= 20 s wall on 2 cores, <= 1 GB peak RSS.

    uv run python benchmarks/cdnow.py [--dir /tmp/cxdata-cdnow] [--holdout-days 273]
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import yaml

from cxdata.config import load_config
from cxdata.warehouse import Warehouse

CDNOW = importlib.resources.files("lifetimes") / "datasets" / "CDNOW_master.txt"
# the child reports its own peak (VmHWM) when it exits, since the parent's rusage would not isolate it
CHILD = """
import atexit, sys
from pathlib import Path
def peak():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            print(f"PEAK_RSS_KB {line.split()[1]}", file=sys.stderr)
atexit.register(peak)
from cxdata.cli import main
sys.exit(main(sys.argv[1:]))
"""


def write_project(folder: Path, holdout_days: int) -> Path:
    """lifetimes' raw CDNOW_master.txt as data/CDNOW_master.txt and a cxdata.yaml that reads it as it is."""
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "CDNOW_master.txt").write_bytes(CDNOW.read_bytes())
    orders = {
        "path": "data/CDNOW_master.txt",
        "columns": {"customer_ref": "customer_id", "ordered_at": "date", "amount": "dollar_value"},
        "formats": {"ordered_at": "%Y%m%d"},
        "csv": {"separator": "whitespace"},
    }
    config = {
        "name": "cdnow",
        "warehouse": "duckdb:///warehouse.duckdb",
        "as_of": "1998-06-30",
        "sources": {"orders": orders},
        "models": {"clv": {"holdout_days": holdout_days, "period": "D"}},
    }
    path = folder / "cxdata.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    print(f"CDNOW: lifetimes' raw CDNOW_master.txt, read with config only -> {folder}")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/cxdata-cdnow"))
    parser.add_argument("--holdout-days", type=int, default=273)
    args = parser.parse_args()
    config_path = write_project(args.dir, args.holdout_days)
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, "run", "--config", str(config_path)], capture_output=True, text=True
    )
    seconds = time.perf_counter() - began
    peaks = [int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KB")]
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:])
        raise SystemExit(f"cxdata run failed with code {done.returncode}")
    peak = peaks[0] / 1024**2 if peaks else float("nan")
    print(f"cxdata run: {seconds:.1f} s wall (target <= 20 s), peak RSS {peak:.2f} GB (target <= 1 GB)")
    config = load_config(config_path)
    with Warehouse(config.warehouse, schema=config.warehouse_schema) as wh:
        runs = wh.read("model_runs").filter(pl.col("kind") == "clv")
    run = runs.sort("trained_at").row(-1, named=True)
    split = f"{run['calibration_end']:%Y-%m-%d}"
    print(f"CLV run: model {run['model']}, status {run['status']}, calibration end {split}")
    if run["warnings"]:
        print(f"  warnings: {run['warnings']}")
    print(f"  {'candidate':<16} {'penalizer':>9} {'fit s':>7} {'error':>10} {'MAE':>7} {'deviance':>8} chosen")
    for c in json.loads(run["candidates_json"]):
        print(
            f"  {c['model']:<16} {c['penalizer']!s:>9} {c.get('fit_seconds', float('nan')):>7.2f} "
            f"{c['aggregate_error']:>+10.2%} {c['mae']:>7.4f} {c.get('poisson_deviance', float('nan')):>8.4f}"
            f"  {'*' if c.get('chosen') else ''}"
        )


if __name__ == "__main__":
    main()
