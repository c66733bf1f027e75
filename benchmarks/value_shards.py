"""Benchmark: peak RSS of the value step (CLV then churn) unsharded against its sharded steps.

    uv run python benchmarks/value_shards.py [--customers 20000] [--shards 4] [--dir D]

Generates a project (cxdata.synth) in ``--dir`` or a temporary folder, publishes its facts keyed by true person
(`cxdata.synth.facts.person_facts`) into a DuckDB file, then runs each step in a child process of its own, so
each peak RSS (VmHWM) is that step's alone, on a fit day (``refit``) and on a score-only day:

- ``whole``: `cxdata.churn.step.value_step` with one shard, publishing;
- ``partial k``, ``global``, ``shard k``, ``assemble``: the four steps of `cxdata.churn.sharded` for
  ``--shards`` shards, handing their results on through pickles, the assemble publishing as value_step
  does (the fits are lighter than the defaults, as printed);
- ``base``: a child that imports the same modules and opens the warehouse: what every step pays anyway.

Prints one line per step: wall seconds and peak RSS in GB. The machine is shared: compare the lines with each
other, not with another machine's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import peak_rss_gb

from cxdata.churn import sharded
from cxdata.churn.step import publish_value, value_step
from cxdata.run_context import RunContext
from cxdata.shards import Shard
from cxdata.warehouse import Warehouse


def _load(path: Path):
    return pickle.loads(path.read_bytes())


def _save(path: Path, value) -> None:
    path.write_bytes(pickle.dumps(value))


def child(state: Path, step: str, day: str, index: int, count: int) -> None:
    """One step in this process; prints its seconds and peak RSS as JSON."""
    config, as_of = _load(state / "config.pickle")
    refit = day == "fit"
    run = RunContext(f"{day}-{step}", as_of, dt.datetime.now(dt.UTC))
    began = time.perf_counter()
    with Warehouse(f"duckdb:///{state / 'warehouse.duckdb'}") as wh:
        if step == "whole":
            value_step(wh, config, run, refit=refit)
        elif step == "partial":
            _save(state / f"partial{index}.pickle", sharded.value_partial(wh, config, run, Shard(index, count)))
        elif step == "global":
            partials = [_load(state / f"partial{k}.pickle") for k in range(count)]
            _save(state / "global.pickle", sharded.value_global(wh, config, run, partials, refit))
        elif step == "shard":
            fits = _load(state / "global.pickle")
            _save(state / f"shard{index}.pickle", sharded.value_shard(wh, config, run, Shard(index, count), fits))
        elif step == "assemble":
            fits = _load(state / "global.pickle")
            parts = [_load(state / f"shard{k}.pickle") for k in range(count)]
            clv, churn = sharded.value_assemble(config, run, fits, parts)
            publish_value(wh, clv, churn)
    print(json.dumps({"seconds": time.perf_counter() - began, "peak_gb": peak_rss_gb()}))


def _run(state: Path, step: str, day: str, index: int = 0, count: int = 1) -> dict[str, float]:
    args = [sys.executable, __file__, "--child", step, "--day", day, "--index", str(index), "--count", str(count)]
    done = subprocess.run([*args, "--dir", str(state)], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{step} {index} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Generate, publish, and measure every step (see the module doc)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--child", choices=["base", "whole", "partial", "global", "shard", "assemble"])
    parser.add_argument("--day", default="fit")
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--count", type=int, default=1)
    args = parser.parse_args()
    if args.child:
        child(args.dir, args.child, args.day, args.index, args.count)
        return
    state = args.dir or Path(tempfile.mkdtemp(prefix="value-shards-"))
    if not (state / "config.pickle").exists():
        from cxdata.synth import SynthParams, generate_project
        from cxdata.synth.facts import person_facts

        generate_project(state / "project", SynthParams(customers=args.customers, seed=7))
        config, facts = person_facts(state / "project")
        # lighter fits than the defaults (one penalizer, fewer trees): the fit's time, not its memory, shrinks
        clv = config.models.clv.model_copy(update={"penalizers": [0.01]})
        churn = config.models.churn.model_copy(update={"max_iter": 60, "importance_repeats": 1})
        config = config.model_copy(
            update={"models": config.models.model_copy(update={"clv": clv, "churn": churn})}
        )
        with Warehouse(f"duckdb:///{state / 'warehouse.duckdb'}") as wh:
            for name, frame in facts.items():
                wh.publish(name, frame)
            as_of = wh.read("fct_orders", columns=["ordered_at"])["ordered_at"].max()
        _save(state / "config.pickle", (config, as_of))
    print(f"{args.customers} customers, {args.shards} shards, DuckDB file in {state}; machine shared")
    print("CLV penalizers [0.01], churn max_iter 60 and importance_repeats 1, other settings the defaults")
    print(f"base (imports, warehouse open): {_run(state, 'base', 'fit')['peak_gb']:.2f} GB")
    n = args.shards
    for day in ("fit", "score"):
        steps = [("whole", 0, 1)] + [("partial", k, n) for k in range(n)] + [("global", 0, n)]
        steps += [("shard", k, n) for k in range(n)] + [("assemble", 0, n)]
        for step, index, count in steps:
            found = _run(state, step, day, index, count)
            label = f"{step} {index}" if step in ("partial", "shard") else step
            print(f"{day:5} {label:10} {found['seconds']:7.1f} s  {found['peak_gb']:.2f} GB", flush=True)


if __name__ == "__main__":
    main()
