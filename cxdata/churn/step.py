"""The warehouse step of churn: read the facts, train and evaluate, score at as_of, segment and publish.

Training happens on the cadence of cxdata/model_store.py: a run that trains
stores its `Training` (classifier, features, reason references) with its model
run; the runs in between build the features at as_of and predict with it.

Who is scored: customers with a kept order up to as_of, the same set CLV
scores. Churn columns and the segment are merged into the existing
``customer_scores`` (clv_step runs first in the same run); its rows are the
customers that get a segment. A customer with churn features but no CLV row
(only possible when the CLV run failed or skipped them) is left out: value at
risk needs a CLV. Without ``customer_scores`` the step fails and publishes nothing
but a failed model run.

customer_scores_history, segment_members and segment_summary: this as_of's
rows are replaced by this run's (a rerun at the same moment adds no copy); other
moments keep theirs. `value_step` publishes CLV and churn together, so
customer_scores changes once per run with all its columns.

In customer shards (cxdata/churn/sharded.py): `churn_global` trains (on a sample)
or loads the fit, `ChurnGlobal.scores` scores a shard's customers and
`churn_assemble` ranks, segments and records over all of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cxdata import model_store
from cxdata.churn.features import ChurnInputs, Population
from cxdata.churn.features import population as population_of
from cxdata.churn.labels import plan_cutoffs
from cxdata.churn.reads import Samples
from cxdata.churn.runs import churn_run_record
from cxdata.churn.score import CHURN_SCHEMA, REASONS, score_churn
from cxdata.churn.segments import (
    assign_segments,
    definitions,
    segment_members,
    segment_summary,
    summary_png,
)
from cxdata.churn.train import NotEnoughHistory, Training, train
from cxdata.clv.partials import Partial
from cxdata.clv.score import clv_percentile
from cxdata.clv.step import ClvOutputs, ClvReport
from cxdata.config import ProjectConfig
from cxdata.model_runs import scored_with
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse
from cxdata.warehouse.transaction import Transaction

CHURN_COLUMNS = list(CHURN_SCHEMA)


@dataclass
class ChurnReport:
    """What `churn_step` did: model, holdout metrics of every model and baseline, plots, segment sizes and
    definitions."""

    model_run_id: str
    model: str | None
    metrics: dict[str, dict[str, Any]]
    importances: list[dict[str, Any]]
    plots: dict[str, bytes] = field(default_factory=dict)
    segments: dict[str, int] = field(default_factory=dict)
    definitions: pl.DataFrame | None = None  # `cxdata.churn.segments.definitions` of this run's summary
    warnings: list[str] = field(default_factory=list)
    scored_customers: int = 0
    failed: str | None = None
    mode: str = "fit"  # or "score": scored with the stored fit fitted_run_id, whose metrics and plots these are
    fitted_run_id: str | None = None
    mode_reason: str | None = None  # why it fitted or only scored (`cxdata.model_store.decide`)


def merged(scores: pl.DataFrame, churn: pl.DataFrame) -> pl.DataFrame:
    """A shard's CLV ``scores`` with its ``churn`` scores (`score_churn`) and the feature columns segment rules
    may use; percentiles, value at risk and segments come in `churn_assemble`, among all customers."""
    extra = ["days_since_last_order", "tenure_days"]
    base = scores.drop([c for c in CHURN_COLUMNS if c in scores.columns])
    return base.join(churn.select("customer_key", *CHURN_COLUMNS[:3], *REASONS, *extra), on="customer_key",
                     how="left")  # fmt: skip


@dataclass
class ChurnOutputs:
    """What a churn run writes, not yet written: the scores with churn merged in (None when it failed), the
    segment tables and its model run."""

    report: ChurnReport
    as_of: dt.datetime
    scores: pl.DataFrame | None
    members: pl.DataFrame | None
    summary: pl.DataFrame | None
    record: pl.DataFrame
    artifacts: pl.DataFrame | None = None  # the trained classifier, on a run that fitted

    def stage_segments(self, tx: Transaction) -> None:
        """Append this as_of's segment members and summary in ``tx``, replacing a rerun's rows of that as_of."""
        if self.members is not None and self.summary is not None:
            tx.append("segment_members", self.members, replace={"as_of": self.as_of})
            tx.append("segment_summary", self.summary, replace={"as_of": self.as_of})


def churn_step(wh: Warehouse, config: ProjectConfig, run: RunContext, refit: bool = False) -> ChurnReport:
    """Train, evaluate and score churn (or score with the stored fit) over the published customer_scores; publish
    the merged scores, their history, the segments, a fit's classifier and the model run in one transaction
    (see `churn_outputs`)."""
    outputs = churn_outputs(wh, config, run, refit)
    with wh.transaction() as tx:
        if outputs.scores is not None:
            tx.publish("customer_scores", outputs.scores)
            tx.append("customer_scores_history", outputs.scores, replace={"as_of": outputs.as_of})
        outputs.stage_segments(tx)
        model_store.stage(tx, outputs.artifacts)
        tx.append("model_runs", outputs.record)
    return outputs.report


def value_step(
    wh: Warehouse, config: ProjectConfig, run: RunContext, refit: bool = False, shard_count: int = 1
) -> tuple[ClvReport, ChurnReport | None]:
    """CLV then churn, published as one consistent set in one transaction: customer_rfm, customer_scores with
    every column (churn null when churn fails), its history, the segments, the models fitted and both model
    runs. Churn is not run when CLV fails (its report is then None), and nothing but the RFM summary and the
    failed run is written. Each model fits on its cadence (`cxdata.model_store.decide`) or when ``refit`` forces
    it, and otherwise scores with its last fit. The customers are scored in ``shard_count`` shards
    (`cxdata.churn.sharded`), with the same result for any count.
    """
    # imported here: cxdata.churn.sharded imports this module
    from cxdata.churn.sharded import value_outputs

    clv, churn = value_outputs(wh, config, run, refit, churn=True, shard_count=shard_count)
    publish_value(wh, clv, churn)
    return clv.report, None if churn is None else churn.report


def publish_value(wh: Warehouse, clv: ClvOutputs, churn: ChurnOutputs | None) -> None:
    """Publish what `value_step` computed in one transaction (see there)."""
    with wh.transaction() as tx:
        clv.stage(tx, scores=churn.scores if churn is not None else None)
        model_store.stage(tx, clv.artifacts, churn.artifacts if churn is not None else None)
        records = [clv.record]
        if churn is not None:
            churn.stage_segments(tx)
            records.append(churn.record)
        tx.append("model_runs", pl.concat(records, how="diagonal_relaxed"))


def churn_outputs(wh: Warehouse, config: ProjectConfig, run: RunContext, refit: bool = False) -> ChurnOutputs:
    """Train, evaluate and score churn from the facts and merge it into the published customer_scores (the CLV
    scores of the same run): what `churn_step` publishes, without writing anything (`cxdata.churn.sharded`
    with one shard and CLV read, not computed).

    Scores as of ``run.as_of``, as `cxdata.clv.step.clv_outputs` does. Without CLV scores there is nothing to
    merge into: the run fails (value at risk needs a CLV). When the cadence allows (`cxdata.model_store.decide`;
    ``refit`` forces a fit) nothing is trained: the features at as_of are built for everyone as on a fit and
    the stored classifier predicts; the report carries the fit's metrics and plots.
    """
    from cxdata.churn.sharded import value_outputs

    churn = value_outputs(wh, config, run, refit, churn=True, clv=False)[1]
    assert churn is not None
    return churn


@dataclass
class ChurnGlobal:
    """Churn's part of a run that sees all customers at once: the decision, the training to score with (None
    when it failed or there is no CLV), why it failed, warnings, and the population of the features at as_of."""

    decision: model_store.Decision
    training: Training | None
    failed: str | None
    warnings: list[str]
    population: Population | None
    model_run_id: str

    def scores(
        self, clv: pl.DataFrame | None, inputs: ChurnInputs, config: ProjectConfig, run: RunContext
    ) -> tuple[pl.DataFrame | None, int]:
        """A shard's CLV scores with churn merged in (`merged`) and how many churn-scored customers of the
        shard have no CLV row; None when there is nothing to score."""
        if self.training is None or clv is None:
            return None, 0
        churn = score_churn(self.training, inputs, run.as_of, config.models.churn, self.model_run_id,
                            self.population)  # fmt: skip
        return merged(clv, churn), churn.join(clv, on="customer_key", how="anti").height


def churn_global(
    wh: Warehouse, config: ProjectConfig, run: RunContext, total: Partial, samples: Samples, has_clv: bool,
    refit: bool = False,
) -> ChurnGlobal:  # fmt: skip
    """Decide on the cadence; on a fit day train on a sample of the customers (`cxdata.churn.reads`, about
    ``max_train_rows`` stacked rows; first order and channels of all customers), else load the stored fit.
    ``has_clv``: whether there are CLV scores to merge into."""
    churn = config.models.churn
    decision = model_store.decide(wh, "churn", run, config.models.refit_every_days, churn, refit)
    failed, training, warnings = None, None, []
    if not has_clv:
        failed = "customer_scores does not exist: run clv_step first (value at risk needs CLV)"
    elif not decision.refit:
        training = decision.model
    elif total.first is None:
        failed = "not enough history: no orders"
    else:
        cutoffs = plan_cutoffs(run.as_of, total.first, churn)
        stacked = len({cutoffs.holdout, *cutoffs.evaluation, *cutoffs.final})
        try:
            sample = samples.inputs(churn.max_train_rows // stacked)
            training = train(sample, churn, run.as_of, first=total.first, channels=list(total.channels))
            warnings += training.warnings
        except NotEnoughHistory as exc:
            failed = f"not enough history: {exc}"
    population = None
    if training is not None:
        population = population_of(samples.inputs(churn.btyd_fit_customers), run.as_of, churn, training.channels)
    return ChurnGlobal(decision, training, failed, warnings, population, f"{run.run_id}/churn")


def churn_assemble(
    part: ChurnGlobal, shards: list[pl.DataFrame | None], missing: int, clv: pl.DataFrame | None,
    total: Partial, config: ProjectConfig, run: RunContext,
) -> ChurnOutputs:  # fmt: skip
    """The shards' merged scores as one `ChurnOutputs`: churn_percentile among all customers, value at risk,
    segments (their percentile bounds among all), the report and the model run. ``clv``: the assembled CLV
    scores, whose as_of is checked."""
    churn = config.models.churn
    run_id, as_of = run.run_id, run.as_of
    decision, training, warnings = part.decision, part.training, list(part.warnings)
    scored = None
    if training is not None and clv is not None:
        if clv.height and set(clv["as_of"].to_list()) != {as_of}:
            warnings.append(f"customer_scores is as of {clv['as_of'].max()}, churn as of {as_of}")
        scored = pl.concat([s for s in shards if s is not None]).sort("customer_key")
        probability = pl.col("churn_probability")
        percentile = pl.when(probability.is_not_null()).then(probability.rank("max") / probability.count() * 100)
        scored = scored.with_columns(
            clv_percentile(pl.col("clv")).alias("clv_percentile"), percentile.alias("churn_percentile")
        )
        scored = scored.with_columns((pl.col("clv") * pl.col("churn_probability")).alias("value_at_risk"))
        scored = assign_segments(scored, churn.segments)
        if missing:
            warnings.append(f"{missing} churn-scored customers have no CLV row and are left out")
    window, n_orders = (total.first, total.last), total.orders
    scoring = scored is not None and not decision.refit
    artifacts = None
    model_run_id = part.model_run_id
    if scoring:
        record = scored_with(
            decision.fit, run, model_run_id=model_run_id, window=window, n_customers=scored.height,
            n_orders=n_orders, warnings=warnings, reason=decision.reason,
        )  # fmt: skip
    else:
        record = churn_run_record(
            run, model_run_id=model_run_id, config=churn, window=window, training=training,
            n_customers=0 if scored is None else scored.height, n_orders=n_orders, warnings=warnings,
            failed=part.failed, reason=decision.reason,
        )  # fmt: skip
        if scored is not None:
            artifacts = model_store.artifact(model_run_id, "churn", training)
    plots: dict[str, bytes] = dict(training.plots) if training else {}
    sizes: dict[str, int] = {}
    published, members, summary = None, None, None
    if scored is not None:
        published = scored.drop("days_since_last_order", "tenure_days")
        members = segment_members(scored, as_of, run_id)
        summary = segment_summary(scored, churn.segments, as_of, run_id, config.currency)
        plots["segments"] = summary_png(summary)
        sizes = dict(zip(summary["segment"].to_list(), summary["customers"].to_list(), strict=True))
    report = ChurnReport(
        model_run_id=model_run_id,
        model=training.chosen if training else None,
        metrics=training.metrics if training else {},
        importances=training.importances if training else [],
        plots=plots,
        segments=sizes,
        definitions=None if summary is None else definitions(summary),
        warnings=warnings,
        scored_customers=0 if scored is None else scored.height,
        failed=part.failed,
        mode="score" if scoring else "fit",
        fitted_run_id=decision.fit["model_run_id"] if scoring else (None if scored is None else model_run_id),
        mode_reason=decision.reason,
    )
    return ChurnOutputs(report, as_of, published, members, summary, record, artifacts)
