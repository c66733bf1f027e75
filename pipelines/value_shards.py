"""The value asset in customer shards: `cxdata.churn.sharded`'s four stages as the steps of one graph.

Used instead of `pipelines.value.value_assets` when ``scale.shards`` > 1 (`pipelines.sharding`): per shard a
``value_partial_s<k>`` step, one ``value_global`` step (the fits, or the stored ones on a scoring day), per
shard a ``value_scores_s<k>`` step, and ``value_publish``, which ranks among all customers, publishes what
the single-step asset publishes and reports the same metadata and checks.
"""

# No postponed annotations here: Dagster reads the `context` and resource annotations when it defines the ops.
import dagster as dg

from cxdata import handoffs
from cxdata.churn.sharded import ShardScores, ValueGlobal, value_assemble, value_global, value_partial, value_shard
from cxdata.churn.step import publish_value
from cxdata.clv.partials import Partial
from cxdata.config import ProjectConfig
from cxdata.shards import Shard
from pipelines.handoff import KEY as HANDOFF
from pipelines.resources import ProjectResource, WarehouseResource
from pipelines.run import run_context
from pipelines.sharding import (
    after,
    cores_share,
    every_shard,
    graph_outs,
    materialised,
    publish_outs,
    shard_suffix,
    shard_tags,
)
from pipelines.value import GROUP, STEP, value_check_specs, value_results, value_specs


def _partial_op(shard: Shard, ins: dict[str, dg.AssetIn]) -> dg.OpDefinition:
    @dg.op(
        name=f"value_partial_{shard_suffix(shard)}",
        ins=after(ins),
        out=dg.Out(io_manager_key=HANDOFF),
        tags=shard_tags(shard),
        description="The shard's customers summed for the global fits: histories, spend rows, channels.",
    )
    def _partial(context: dg.OpExecutionContext, project: ProjectResource, warehouse: WarehouseResource):
        config = project.load()
        with warehouse.get() as wh, cores_share(config):
            return value_partial(wh, config, run_context(context, wh, config), shard)

    return _partial


@dg.op(
    name="value_global",
    ins={"parts": dg.In(list)},
    out=dg.Out(io_manager_key=HANDOFF),
    description="All shards' sums; the CLV and churn fits (on the cadence) or the stored ones.",
)
def value_global_op(
    context: dg.OpExecutionContext, project: ProjectResource, warehouse: WarehouseResource, parts: list[Partial]
):
    config = project.load()
    with warehouse.get() as wh:
        return value_global(wh, config, run_context(context, wh, config), parts)


def _scores_op(shard: Shard) -> dg.OpDefinition:
    @dg.op(
        name=f"value_scores_{shard_suffix(shard)}",
        out=dg.Out(io_manager_key=HANDOFF),
        tags=shard_tags(shard),
        description="The shard's customers scored with the global fits.",
    )
    def _scores(
        context: dg.OpExecutionContext, project: ProjectResource, warehouse: WarehouseResource, fits: ValueGlobal
    ):
        config = project.load()
        with warehouse.get() as wh, cores_share(config):
            return value_shard(wh, config, run_context(context, wh, config), shard, fits)

    return _scores


def _publish_op(config: ProjectConfig, kinds: set[str]) -> dg.OpDefinition:
    @dg.op(
        name="value_publish",
        ins={"fits": dg.In(), "scores": dg.In(list)},
        out=publish_outs(value_specs(kinds), value_check_specs(config)),
        description="Percentiles, value at risk and segments among all customers; publish and check.",
    )
    def _publish(
        context: dg.OpExecutionContext,
        project: ProjectResource,
        warehouse: WarehouseResource,
        fits: ValueGlobal,
        scores: list[ShardScores],
    ):
        config = project.load()
        with warehouse.get() as wh:
            run = run_context(context, wh, config)
            clv, churn = value_assemble(config, run, fits, scores)
            assert clv is not None  # value_global fits CLV in the value step
            publish_value(wh, clv, churn)
            handoffs.drop_finished(wh, context.run_id, run.now)
            tables, results = value_results(context, wh, config, clv.report, churn.report if churn else None)
        yield from materialised(tables, results)

    return _publish


def sharded_value_assets(config: ProjectConfig, kinds: set[str]) -> dg.AssetsDefinition:
    """The value asset (`pipelines.value`) as a graph over ``scale.shards`` customer shards."""
    outs, ins = graph_outs(value_specs(kinds))
    pieces = every_shard(config.scale.shards)
    partials = {shard: _partial_op(shard, ins) for shard in pieces}
    scorers = {shard: _scores_op(shard) for shard in pieces}
    publish = _publish_op(config, kinds)

    @dg.graph_multi_asset(name=STEP, group_name=GROUP, outs=outs, ins=ins, check_specs=value_check_specs(config))
    def _graph(**upstream):
        fits = value_global_op(parts=[partials[shard](**upstream) for shard in pieces])
        return publish(fits=fits, scores=[scorers[shard](fits=fits) for shard in pieces])._asdict()

    return _graph
