"""Touchpoint scoring by customer shard: peak RSS of the unsharded step against each shard's passes and the
global steps, every one in a fresh process.

    uv run python benchmarks/touchpoint_shards.py --customers 20000 --dir /tmp/tp_shards [--shards 4]

The project and its marts come from `benchmarks/identity.py` (run in a child process when ``--dir`` does not
hold them yet). Then each phase runs as a child process of this script (``--phase``), handing its result to
the next through a pickle in ``--dir``, so every figure is that phase's own peak (VmHWM):

- ``whole``: `touchpoint_step` with one shard (reads, scores and publishes everything);
- ``summary k``: the first pass over shard k (`cxdata.touchpoints.sharded.summarise_shard`);
- ``plan``: the global fit from the summaries;
- ``partial k``: the second pass over shard k;
- ``reduce``: the partials added up, the estimates and the scores (`reduce_partials`, `score_touchpoints`);
- ``imports``: a process that only imports the package: the floor under every figure.

The reduce's scores are checked against the whole step's before the figures are printed.
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import time
from pathlib import Path

from measure import peak_rss_gb

from cxdata.config import load_config
from cxdata.run_context import run_context
from cxdata.shards import Shard
from cxdata.touchpoints import sharded
from cxdata.touchpoints.roi import period_costs, score_touchpoints
from cxdata.touchpoints.step import read_inputs, touchpoint_step
from cxdata.warehouse import Warehouse


def main() -> None:
    """Build the marts if needed, then run and measure every phase in its own process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        _phase(args)
        return
    database = args.dir / "bench.duckdb"
    if not database.exists():
        identity = Path(__file__).with_name("identity.py")
        command = [sys.executable, str(identity), "--customers", str(args.customers), "--seed", str(args.seed)]
        subprocess.run([*command, "--dir", str(args.dir)], check=True)
    phases = [["imports"], ["whole"]]
    phases += [["summary", str(k)] for k in range(args.shards)] + [["plan"]]
    phases += [["partial", str(k)] for k in range(args.shards)] + [["reduce"]]
    base = [sys.executable, __file__, "--dir", str(args.dir), "--shards", str(args.shards)]
    base += ["--replicates", str(args.replicates)]
    rows = []
    for phase in phases:
        out = subprocess.run([*base, "--phase", *phase], check=True, stdout=subprocess.PIPE, text=True).stdout
        *said, last = out.strip().splitlines()
        seconds, rss = last.split()
        rows.append((" ".join(phase), float(seconds), float(rss)))
        if said:
            print(*said, sep="\n")
    print(f"{args.customers:,} customers, {args.shards} shards, {args.replicates} replicates")
    print(f"{'phase':<12} {'seconds':>8} {'peak RSS GB':>12}")
    for name, seconds, rss in rows:
        print(f"{name:<12} {seconds:>8.1f} {rss:>12.3f}")
    whole = rows[1][2]
    worst = max(rss for name, _, rss in rows[2:])
    print(f"largest sharded phase / whole step: {worst / whole:.2f}")


def _phase(args: argparse.Namespace) -> None:
    """One phase in this process; prints its seconds and peak RSS last."""
    began = time.perf_counter()
    name, *rest = args.phase
    if name != "imports":
        config = load_config(args.dir / "cxdata.yaml")
        tp = config.models.touchpoints.model_copy(update={"bootstrap_replicates": args.replicates})
        config = config.model_copy(update={"models": config.models.model_copy(update={"touchpoints": tp})})
        with Warehouse(f"duckdb:///{args.dir / 'bench.duckdb'}") as wh:
            # the moment the whole step scores at, which every phase shares
            _run(name, rest, args, wh, config, run_context(wh, config, "bench_shards").as_of)
    print(f"{time.perf_counter() - began:.2f} {peak_rss_gb():.4f}")


def _run(name: str, rest: list[str], args, wh: Warehouse, config, as_of) -> None:
    store = args.dir / "touchpoint_shards"
    store.mkdir(exist_ok=True)
    if name == "whole":
        report = touchpoint_step(wh, config, run_context(wh, config, "bench_shards"), refit=True)
        report.scores.write_parquet(store / "whole.parquet")
    elif name == "summary":
        summary = sharded.summarise_shard(wh, config, as_of, Shard(int(rest[0]), args.shards))
        _save(store / f"summary_{rest[0]}.pickle", summary)
    elif name == "plan":
        summaries = [_load(store / f"summary_{k}.pickle") for k in range(args.shards)]
        _save(store / "plan.pickle", sharded.plan(wh, config, as_of, summaries))
    elif name == "partial":
        planned = _load(store / "plan.pickle")
        partial = sharded.shard_partial(wh, config, as_of, planned, Shard(int(rest[0]), args.shards))
        _save(store / f"partial_{rest[0]}.pickle", partial)
    elif name == "reduce":
        planned = _load(store / "plan.pickle")
        parts = [_load(store / f"partial_{k}.pickle") for k in range(args.shards)]
        found = sharded.reduce_partials(config, as_of, planned, parts)
        tp = config.models.touchpoints
        costs = period_costs(
            read_inputs(wh, ["stg_touchpoint_costs"])["stg_touchpoint_costs"], as_of, tp.granularity
        )
        scores = score_touchpoints(
            found.attribution, found.lift, found.retention, costs, as_of=as_of, model=tp.model, hurdle=tp.hurdle,
            interval=tp.interval, model_run_id="bench", experiments=found.experiments, currency=config.currency,
        )  # fmt: skip
        _check(scores, store / "whole.parquet")


def _check(scores, whole_path: Path) -> None:
    """The reduce's scores against the whole step's: non-float columns equal, floats within 1e-6 of their
    column's scale; prints the largest float difference relative to that scale (summation order)."""
    import polars as pl

    whole = pl.read_parquet(whole_path)
    columns = [c for c in whole.columns if c not in ("model_run_id", "attributed_clv")]
    left, right = whole.select(columns).sort("touchpoint"), scores.select(columns).sort("touchpoint")
    worst, where = 0.0, ""
    for column in columns:
        a, b = left[column], right[column]
        if a.dtype != pl.Float64:
            assert a.to_list() == b.to_list(), column
            continue
        assert a.is_null().to_list() == b.is_null().to_list(), column
        difference = ((a - b).abs().max() or 0.0) / max(1.0, a.abs().max() or 0.0)
        if difference > worst:
            worst, where = difference, column
    assert worst <= 1e-6, (where, worst)
    print(f"reduce == whole step: largest float difference {worst:.1e} of its column's scale ({where})")


def _save(path: Path, value) -> None:
    path.write_bytes(pickle.dumps(value))


def _load(path: Path):
    return pickle.loads(path.read_bytes())


if __name__ == "__main__":
    main()
