"""The warehouse step of touchpoint scoring: journeys, attribution, incrementality, retention, cost, ROI.

Touchpoints are computed on the models' refit cadence (`cxdata.model_store.decide`,
kind touchpoints, models.touchpoints as its config). A computing run reads, by
customer shard (`cxdata.touchpoints.sharded`; one shard unless asked), the
fact marts, stg_touchpoint_costs and customer_scores (CLV, for the CLV credited
to acquiring touchpoints; optional: without this moment's CLV the attributed
CLV is null and model_runs says why, every other credit is still published),
scores every touchpoint as of ``as_of`` and publishes ``touchpoint_scores``,
appends it to ``touchpoint_scores_history`` (a history of computations; a rerun
for the same as_of replaces its rows), stores the report without its scores in
model_artifacts and appends one ``model_runs`` row (kind touchpoints, mode fit).
The chosen attribution model's credit is published; every model's credit is
kept in the report for metadata. Without orders the step publishes nothing but
a failed model run.

A run between computations reads no fact (only the model tables and
touchpoint_scores) and writes nothing but its model_runs row: the last
computation's touchpoint_scores stay (their as_of says which moment they
describe), the history gains nothing, and its model_runs row (mode kept) points
to the computation in fitted_run_id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from cxdata import model_store
from cxdata.config import ProjectConfig, TouchpointConfig
from cxdata.model_runs import model_run, scored_with
from cxdata.run_context import RunContext
from cxdata.touchpoints.plots import removal_effects_png, roi_png
from cxdata.touchpoints.roi import period_costs, score_touchpoints
from cxdata.touchpoints.sharded import READS as SHARD_READS
from cxdata.touchpoints.sharded import Reduced, run_shards
from cxdata.warehouse import Warehouse

KIND = "touchpoints"
# how the reason of a run between computations opens (model_runs.mode_reason, the asset's "mode")
KEEP = "the figures of"
# stg_touchpoint_costs has no customer: the reduce reads it whole
READS = {**SHARD_READS, "stg_touchpoint_costs": ["period_start", "channel", "campaign", "cost"]}


@dataclass
class TouchpointReport:
    """What `touchpoint_step` did: the published scores, every model's credit, retention diagnostics, plots."""

    model_run_id: str
    as_of: dt.datetime
    scores: pl.DataFrame
    attribution: pl.DataFrame
    retention: pl.DataFrame
    late_share: float | None = None
    calibration: pl.DataFrame = field(default_factory=pl.DataFrame)
    experiments: pl.DataFrame = field(default_factory=pl.DataFrame)
    plots: dict[str, bytes] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    failed: str | None = None
    clv_missing: str | None = None  # why attributed CLV is null, when it is
    mode: str = "fit"  # or "kept": the figures (scores, credit, plots) are those of the computation fitted_run_id
    fitted_run_id: str | None = None
    mode_reason: str | None = None  # why it computed or kept (`cxdata.model_store.decide`)


def read_inputs(wh: Warehouse, names: list[str] | None = None) -> dict[str, pl.LazyFrame | None]:
    """The tables the step uses (or ``names`` of them) whole, only the columns it needs that exist; absent
    tables are None."""
    frames: dict[str, pl.LazyFrame | None] = {}
    for name in names or list(READS):
        if not wh.exists(name):
            frames[name] = None
            continue
        present = set(wh.columns(name))
        frames[name] = wh.read(name, columns=[c for c in READS[name] if c in present]).lazy()
    return frames


def touchpoint_step(
    wh: Warehouse, config: ProjectConfig, run: RunContext, refit: bool = False, shards: int = 1
) -> TouchpointReport:
    """Score every touchpoint as of ``run.as_of`` and publish the tables, or keep the last computation's when
    the cadence allows (see the module doc; ``refit`` forces a computation). A computation runs the
    ``shards`` customer shards one after another in this process (`cxdata.touchpoints.sharded`)."""
    decided = touchpoint_decision(wh, config, run, refit)
    if isinstance(decided, TouchpointReport):
        return decided
    return publish_computation(wh, config, run, decided, run_shards(wh, config, run.as_of, shards))


def touchpoint_decision(
    wh: Warehouse, config: ProjectConfig, run: RunContext, refit: bool = False
) -> TouchpointReport | str:
    """Whether this run computes: the report of a run that keeps the last computation's figures, or of one
    that cannot compute (no fct_orders), each with its model_runs row appended; else why it computes, for
    `publish_computation` after the shards ran (`cxdata.touchpoints.sharded`)."""
    tp = config.models.touchpoints
    decision = model_store.decide(wh, KIND, run, config.models.refit_every_days, tp, refit, keep=KEEP)
    reason = decision.reason
    if not decision.refit:
        kept = _keep(wh, run, decision)
        if isinstance(kept, TouchpointReport):
            return kept
        reason = kept
    if not wh.exists("fct_orders"):
        nothing = pl.DataFrame()
        report = TouchpointReport(
            f"{run.run_id}/{KIND}", run.as_of, nothing, nothing, nothing, failed="fct_orders does not exist",
            mode_reason=reason,
        )  # fmt: skip
        wh.append("model_runs", _run_record(report, run, tp, (None, None), 0, 0))
        return report
    return reason


def _keep(wh: Warehouse, run: RunContext, decision: model_store.Decision) -> TouchpointReport | str:
    """The report of a run that keeps the stored computation's figures, its model_runs row appended; or why
    it cannot keep them (touchpoint_scores no longer holds them)."""
    fit = decision.fit
    assert fit is not None
    name = fit["model_run_id"]
    scores = wh.read("touchpoint_scores") if wh.exists("touchpoint_scores") else pl.DataFrame()
    if not scores.height or scores["model_run_id"].unique().to_list() != [name]:
        return f"touchpoint_scores does not hold the figures of the last computation {name}"
    stored: TouchpointReport = decision.model
    report = replace(
        stored,
        model_run_id=f"{run.run_id}/{KIND}",
        scores=scores,
        mode="kept",
        fitted_run_id=name,
        mode_reason=decision.reason,
    )
    # nothing was read: the data window and counts are those of the figures, the computation's
    record = scored_with(
        fit, run, model_run_id=report.model_run_id, window=(fit["data_first_order"], fit["data_last_order"]),
        n_customers=fit["n_customers"], n_orders=fit["n_orders"], warnings=stored.warnings,
        reason=decision.reason, mode="kept",
    )  # fmt: skip
    wh.append("model_runs", record)
    return report


def publish_computation(
    wh: Warehouse, config: ProjectConfig, run: RunContext, reason: str, found: Reduced
) -> TouchpointReport:
    """Score every touchpoint from the shards' reduced sums ``found`` and publish the tables, the artifact and
    the model run; ``reason``: why this run computes (`touchpoint_decision`)."""
    tp = config.models.touchpoints
    as_of = run.as_of
    model_run_id = f"{run.run_id}/{KIND}"
    warnings: list[str] = []
    if not wh.exists("fct_touches"):
        warnings.append("fct_touches does not exist: no marketing touchpoint is scored")
    if not wh.exists("stg_touchpoint_costs"):
        warnings.append("stg_touchpoint_costs does not exist: no return on spend")
    clv_missing = _clv_missing(wh, found.clv_found, as_of)
    if clv_missing:
        warnings.append(f"{clv_missing}: attributed CLV is null")
    attribution, lift, retention = found.attribution, found.lift, found.retention
    if clv_missing:
        attribution = attribution.with_columns(pl.lit(None, dtype=pl.Float64).alias("clv"))
    costs_table = read_inputs(wh, ["stg_touchpoint_costs"])["stg_touchpoint_costs"]
    costs = period_costs(costs_table, as_of, tp.granularity)
    scores = score_touchpoints(
        attribution,
        lift,
        retention,
        costs,
        as_of=as_of,
        model=tp.model,
        hurdle=tp.hurdle,
        interval=tp.interval,
        model_run_id=model_run_id,
        experiments=found.experiments,
        currency=config.currency,
    )
    if clv_missing:
        scores = scores.with_columns(pl.lit(None, dtype=pl.Float64).alias("attributed_clv"))
    report = TouchpointReport(
        model_run_id=model_run_id,
        as_of=as_of,
        scores=scores,
        attribution=attribution,
        retention=retention.table,
        late_share=lift.late_share,
        calibration=lift.table.select(
            "touchpoint",
            "contacts",
            "view_through_shrinkage",
            "placebo_bias_orders",
            "placebo_sd_orders",
            "bootstrap_sd_orders",
            pl.lit(lift.placebo_sets).alias("placebo_sets"),
        ),
        experiments=found.experiments if found.experiments is not None else pl.DataFrame(),
        plots={"removal_effects": removal_effects_png(scores), "roi": roi_png(scores, tp.hurdle, config.currency)},
        warnings=warnings,
        clv_missing=clv_missing,
        fitted_run_id=model_run_id,
        mode_reason=reason,
    )
    stats = found.stats
    record = _run_record(report, run, tp, (stats["first"], stats["last"]), stats["customers"], stats["n"])
    # the scores live in touchpoint_scores: the artifact holds what the runs keeping them show beside them
    artifact = model_store.artifact(model_run_id, KIND, replace(report, scores=pl.DataFrame()))
    with wh.transaction() as tx:
        tx.publish("touchpoint_scores", scores)
        tx.append("touchpoint_scores_history", scores, replace={"as_of": as_of})
        model_store.stage(tx, artifact)
        tx.append("model_runs", record)
    return report


def _clv_missing(wh: Warehouse, found: pl.DataFrame, as_of: dt.datetime) -> str | None:
    """Why attributed CLV is null (customer_scores hold no CLV scored at ``as_of``), or None when it is not;
    ``found`` holds whether any shard's scores hold a CLV and their latest as_of."""
    if not wh.exists("customer_scores"):
        return "customer_scores does not exist"
    if "clv" not in wh.columns("customer_scores"):
        return "customer_scores has no clv column"
    # a failed CLV run leaves the last good run's scores in place: another moment's CLV is not this one's
    if not found.height or not found["scored"].fill_null(False).item():
        return "customer_scores has no CLV (the CLV model did not fit)"
    if found["as_of"].item() not in (None, as_of):
        return f"customer_scores are as of {found['as_of'].item().isoformat()}, not {as_of.isoformat()}"
    return None


def _run_record(
    report: TouchpointReport,
    run: RunContext,
    config: TouchpointConfig,
    window: tuple[Any, Any],
    n_customers: int,
    n_orders: int,
) -> pl.DataFrame:
    """One ``model_runs`` row (kind touchpoints); estimates and diagnostics as JSON in params_json."""
    params = {
        "post_session_response_share": report.late_share,
        "retention": report.retention.to_dicts() if report.retention.height else [],
        "attribution": report.attribution.to_dicts() if report.attribution.height else [],
        "attributed_clv_null_because": report.clv_missing,
        # the lift estimator on placebo twins of the contacts: its bias and noise on this project
        "placebo_calibration": report.calibration.to_dicts() if report.calibration.height else [],
        "experiments": report.experiments.to_dicts() if report.experiments.height else [],
    }
    return model_run(
        run,
        model_run_id=report.model_run_id,
        kind=KIND,
        config=config,
        reason=report.mode_reason,
        model=config.model,
        failed=report.failed,
        window=window,
        n_customers=n_customers,
        n_orders=n_orders,
        warnings=report.warnings,
        params_json=params,
    )
