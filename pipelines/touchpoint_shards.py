"""The touchpoint asset in customer shards: `cxdata.touchpoints.sharded`'s passes as the steps of one graph.

Used instead of `pipelines.touchpoints.touchpoint_assets` when ``scale.shards`` > 1 (`pipelines.sharding`):
``touchpoint_decide`` (compute on the cadence, or keep the last computation's figures), per shard a
``touchpoint_summary_s<k>`` step, ``touchpoint_plan`` (the small global fits), per shard a
``touchpoint_partial_s<k>`` step, then ``touchpoint_publish``, which adds the partials up, publishes and
reports what the single-step asset does. On a day that keeps the figures every shard step returns at once.
"""

# No postponed annotations here: Dagster reads the `context` and resource annotations when it defines the ops.
import dagster as dg

from cxdata import handoffs
from cxdata.config import ProjectConfig
from cxdata.shards import Shard
from cxdata.touchpoints.sharded import (
    Plan,
    ShardPartial,
    ShardSummary,
    plan,
    reduce_partials,
    shard_partial,
    summarise_shard,
)
from cxdata.touchpoints.step import TouchpointReport, publish_computation, touchpoint_decision
from pipelines import checks
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
from pipelines.touchpoints import GROUP, OUTPUTS, STEP, touchpoint_results, touchpoint_specs

# what `touchpoint_decide` hands on: the report of a run that does not compute, or why it computes
Decided = TouchpointReport | str


def _decide_op(ins: dict[str, dg.AssetIn]) -> dg.OpDefinition:
    @dg.op(
        name="touchpoint_decide",
        ins=after(ins),
        out=dg.Out(io_manager_key=HANDOFF),
        description="Compute on the models' cadence, or keep the last computation's figures.",
    )
    def _decide(context: dg.OpExecutionContext, project: ProjectResource, warehouse: WarehouseResource):
        config = project.load()
        with warehouse.get() as wh:
            return touchpoint_decision(wh, config, run_context(context, wh, config))

    return _decide


def _summary_op(shard: Shard) -> dg.OpDefinition:
    @dg.op(
        name=f"touchpoint_summary_{shard_suffix(shard)}",
        ins={"decided": dg.In(dg.Any)},
        out=dg.Out(io_manager_key=HANDOFF),
        tags=shard_tags(shard),
        description="The shard's first order, touches, distinct histories and retention summary.",
    )
    def _summary(
        context: dg.OpExecutionContext, project: ProjectResource, warehouse: WarehouseResource, decided: Decided
    ):
        if isinstance(decided, TouchpointReport):
            return None
        config = project.load()
        with warehouse.get() as wh, cores_share(config):
            return summarise_shard(wh, config, run_context(context, wh, config).as_of, shard)

    return _summary


@dg.op(
    ins={"summaries": dg.In(dg.List[dg.Any])},
    out=dg.Out(io_manager_key=HANDOFF),
    description="The global plan: touchpoints scored, the survivor correction's fit, the propensity models.",
)
def touchpoint_plan(
    context: dg.OpExecutionContext,
    project: ProjectResource,
    warehouse: WarehouseResource,
    summaries: list[ShardSummary | None],
):
    if any(summary is None for summary in summaries):  # a day that keeps the figures
        return None
    config = project.load()
    with warehouse.get() as wh:
        return plan(wh, config, run_context(context, wh, config).as_of, summaries)


def _partial_op(shard: Shard) -> dg.OpDefinition:
    @dg.op(
        name=f"touchpoint_partial_{shard_suffix(shard)}",
        ins={"planned": dg.In(dg.Any)},
        out=dg.Out(io_manager_key=HANDOFF),
        tags=shard_tags(shard),
        description="The shard's journeys, attribution, lift, retention and bootstrap sums under the plan.",
    )
    def _partial(
        context: dg.OpExecutionContext,
        project: ProjectResource,
        warehouse: WarehouseResource,
        planned: Plan | None,
    ):
        if planned is None:
            return None
        config = project.load()
        with warehouse.get() as wh, cores_share(config):
            return shard_partial(wh, config, run_context(context, wh, config).as_of, planned, shard)

    return _partial


def _publish_op(config: ProjectConfig, kinds: set[str]) -> dg.OpDefinition:
    @dg.op(
        name="touchpoint_publish",
        ins={"decided": dg.In(dg.Any), "planned": dg.In(dg.Any), "partials": dg.In(dg.List[dg.Any])},
        out=publish_outs(touchpoint_specs(config, kinds), _check_specs(config)),
        description="The partials added up, every touchpoint scored, published and checked.",
    )
    def _publish(
        context: dg.OpExecutionContext,
        project: ProjectResource,
        warehouse: WarehouseResource,
        decided: Decided,
        planned: Plan | None,
        partials: list[ShardPartial | None],
    ):
        config = project.load()
        with warehouse.get() as wh:
            run = run_context(context, wh, config)
            report = decided
            if not isinstance(decided, TouchpointReport):
                assert planned is not None and all(p is not None for p in partials)
                found = reduce_partials(config, run.as_of, planned, partials)
                report = publish_computation(wh, config, run, decided, found)
            handoffs.drop_finished(wh, context.run_id, run.now)
            tables, results = touchpoint_results(context, wh, config, report)
        yield from materialised(tables, results)

    return _publish


def _check_specs(config: ProjectConfig) -> list[dg.AssetCheckSpec]:
    return checks.quality_specs(config, OUTPUTS)  # the single-step asset's checks


def sharded_touchpoint_assets(config: ProjectConfig, kinds: set[str]) -> dg.AssetsDefinition:
    """The touchpoint asset (`pipelines.touchpoints`) as a graph over ``scale.shards`` customer shards."""
    outs, ins = graph_outs(touchpoint_specs(config, kinds))
    pieces = every_shard(config.scale.shards)
    decide = _decide_op(ins)
    summaries = {shard: _summary_op(shard) for shard in pieces}
    partials = {shard: _partial_op(shard) for shard in pieces}
    publish = _publish_op(config, kinds)

    @dg.graph_multi_asset(name=STEP, group_name=GROUP, outs=outs, ins=ins, check_specs=_check_specs(config))
    def _graph(**upstream):
        decided = decide(**upstream)
        planned = touchpoint_plan(summaries=[summaries[shard](decided=decided) for shard in pieces])
        found = [partials[shard](planned=planned) for shard in pieces]
        return publish(decided=decided, planned=planned, partials=found)._asdict()

    return _graph
