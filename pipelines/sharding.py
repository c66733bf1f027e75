"""The shape shared by the assets that run in customer shards: a graph of steps around a small global one.

With ``scale.shards`` N > 1, the value and touchpoint assets are graph-backed (`pipelines.value_shards`,
`pipelines.touchpoint_shards`): per-shard steps (one op each, named ``<stage>_s<k>``), a global step that
combines what the shards found, per-shard steps again, and one step that publishes and reports. The executor
(`pipelines.executors`) runs the shard steps side by side in processes or on celery workers; their outputs
pass through the warehouse (`pipelines.handoff`). The shard set is static: N is read from the config when the
definitions load, so the UI shows every shard's step and a failed shard is re-executed alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import dagster as dg
from threadpoolctl import threadpool_limits

from cxdata.config import ProjectConfig
from cxdata.shards import Shard, shards

# on every shard step: `pipelines.executors` limits how many run at once by it (scale.max_concurrent_shards)
SHARD_TAG = "cxdata/shard_step"


def shard_suffix(shard: Shard) -> str:
    """The suffix of a shard's step names, ``s<index>`` zero-padded to the width of the largest index."""
    return f"s{shard.index:0{len(str(shard.count - 1))}d}"


def shard_tags(shard: Shard) -> dict[str, str]:
    """The tags of a shard's steps: the shard (index/count) under `SHARD_TAG`."""
    return {SHARD_TAG: f"{shard.index}/{shard.count}"}


@contextmanager
def cores_share(config: ProjectConfig) -> Iterator[None]:
    """A shard step's share of this machine's cores for the native thread pools (OpenMP of scikit-learn's
    boosted trees, BLAS): the cores over ``scale.max_concurrent_shards``, at least one thread."""
    # OpenMP threads spin-wait: two steps side by side, each with a thread per core, crawl
    threads = max(1, len(os.sched_getaffinity(0)) // config.scale.max_concurrent_shards)
    with threadpool_limits(limits=threads):
        yield


def every_shard(count: int) -> list[Shard]:
    """The ``count`` shards a sharded asset's graph runs (`cxdata.shards.shards`)."""
    return shards(count)


def graph_outs(specs: Iterable[dg.AssetSpec]) -> tuple[dict[str, dg.AssetOut], dict[str, dg.AssetIn]]:
    """The outputs of a graph-backed asset publishing ``specs`` (written by the publishing step, so no value:
    Nothing; a skippable spec is not required), and its inputs: the specs' deps, none carrying a value."""
    outs, ins = {}, {}
    for spec in specs:
        outs[spec.key.to_python_identifier()] = dg.AssetOut.from_spec(
            spec.replace_attributes(deps=[]), dagster_type=dg.Nothing, is_required=not spec.skippable
        )
        for dep in spec.deps:
            ins[dep.asset_key.to_python_identifier()] = dg.AssetIn(key=dep.asset_key, dagster_type=dg.Nothing)
    return outs, ins


def after(ins: dict[str, dg.AssetIn]) -> dict[str, dg.In]:
    """The inputs of a graph's first op: one Nothing input per upstream asset of the graph (``ins``), each wired
    to the graph input of the same name (Dagster cannot fan graph inputs into one op input)."""
    return {name: dg.In(dg.Nothing) for name in ins}


def publish_outs(specs: Iterable[dg.AssetSpec], checks: Iterable[dg.AssetCheckSpec]) -> dict[str, dg.Out]:
    """The outputs of the publishing op: each table (Nothing, optional) and each check result, by the names
    the graph maps them to."""
    tables = {spec.key.to_python_identifier(): dg.Out(dg.Nothing, is_required=False) for spec in specs}
    verdicts = {check.get_python_identifier(): dg.Out(dg.Nothing, is_required=False) for check in checks}
    return tables | verdicts


def materialised(
    tables: dict[str, dict[str, dg.MetadataValue]], results: Iterable[dg.AssetCheckResult]
) -> Iterable[dg.Output | dg.AssetCheckResult]:
    """What the publishing op yields: an output with its metadata per table written, then the check results."""
    for name, metadata in tables.items():
        yield dg.Output(None, output_name=dg.AssetKey(name).to_python_identifier(), metadata=metadata)
    yield from results
