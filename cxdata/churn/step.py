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
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cxdata import model_store
from cxdata.churn.features import ChurnInputs
from cxdata.churn.runs import churn_run_record
from cxdata.churn.score import CHURN_SCHEMA, REASONS, score_churn
from cxdata.churn.segments import (
    assign_segments,
    definitions,
    segment_members,
    segment_summary,
    summary_png,
)
from cxdata.churn.train import NotEnoughHistory, train
from cxdata.clv.rfm import purchases
from cxdata.clv.step import ClvReport, clv_outputs
from cxdata.config import ProjectConfig
from cxdata.model_runs import scored_with
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse
from cxdata.warehouse.transaction import Transaction

READS = {
    "fct_orders": ["customer_key", "ordered_at", "amount", "is_refund"],
    "fct_tickets": ["customer_key", "opened_at", "first_response_at", "resolved_at"],
    "fct_surveys": ["customer_key", "responded_at", "kind", "score", "nps_class"],
    "fct_web_sessions": ["customer_key", "started_at", "page_views", "converted"],
    "fct_touches": ["customer_key", "occurred_at", "channel", "kind"],
}
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


def read_inputs(wh: Warehouse) -> ChurnInputs:
    """The fact tables churn uses, only the needed columns, each in one order of its values; absent optional
    tables are None."""
    # A table's rows come back in the order they were written, which an updated fact changes
    # (`cxdata.marts.incremental`); sums and ties in a customer's rows follow that order, so without one order
    # of the values a float's last digit, and through a tree's split a score, would depend on the update.
    frames = {
        name: wh.read(name, columns=cols).sort(cols, nulls_last=True).lazy() if wh.exists(name) else None
        for name, cols in READS.items()
    }
    orders = purchases(frames["fct_orders"]).select("customer_key", "ordered_at", "amount")
    return ChurnInputs(
        orders=orders,
        tickets=frames["fct_tickets"],
        surveys=frames["fct_surveys"],
        sessions=frames["fct_web_sessions"],
        touches=frames["fct_touches"],
    )


def _merge(scores: pl.DataFrame, churn: pl.DataFrame, config: ProjectConfig) -> pl.DataFrame:
    extra = ["days_since_last_order", "tenure_days"]
    base = scores.drop([c for c in CHURN_COLUMNS if c in scores.columns])
    merged = base.join(churn.select("customer_key", *CHURN_COLUMNS[:3], *REASONS, *extra), on="customer_key",
                       how="left")  # fmt: skip
    merged = merged.with_columns((pl.col("clv") * pl.col("churn_probability")).alias("value_at_risk"))
    return assign_segments(merged, config.models.churn.segments)


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
    published = wh.read("customer_scores") if wh.exists("customer_scores") else None
    outputs = churn_outputs(wh, config, run, published, refit)
    with wh.transaction() as tx:
        if outputs.scores is not None:
            tx.publish("customer_scores", outputs.scores)
            tx.append("customer_scores_history", outputs.scores, replace={"as_of": outputs.as_of})
        outputs.stage_segments(tx)
        model_store.stage(tx, outputs.artifacts)
        tx.append("model_runs", outputs.record)
    return outputs.report


def value_step(
    wh: Warehouse, config: ProjectConfig, run: RunContext, refit: bool = False
) -> tuple[ClvReport, ChurnReport | None]:
    """CLV then churn, published as one consistent set in one transaction: customer_rfm, customer_scores with
    every column (churn null when churn fails), its history, the segments, the models fitted and both model
    runs. Churn is not run when CLV fails (its report is then None), and nothing but the RFM summary and the
    failed run is written. Each model fits on its cadence (`cxdata.model_store.decide`) or when ``refit`` forces
    it, and otherwise scores with its last fit.
    """
    clv = clv_outputs(wh, config, run, refit)
    churn = churn_outputs(wh, config, run, clv.scores, refit) if clv.report.failed is None else None
    with wh.transaction() as tx:
        clv.stage(tx, scores=churn.scores if churn is not None else None)
        model_store.stage(tx, clv.artifacts, churn.artifacts if churn is not None else None)
        records = [clv.record]
        if churn is not None:
            churn.stage_segments(tx)
            records.append(churn.record)
        tx.append("model_runs", pl.concat(records, how="diagonal_relaxed"))
    return clv.report, None if churn is None else churn.report


def churn_outputs(
    wh: Warehouse, config: ProjectConfig, run: RunContext, clv_scores: pl.DataFrame | None, refit: bool = False
) -> ChurnOutputs:
    """Train, evaluate and score churn from the facts and merge it into ``clv_scores`` (the CLV scores of the
    same run): what `churn_step` publishes, without writing anything.

    Scores as of ``run.as_of``, as `cxdata.clv.step.clv_outputs` does. Without CLV scores there is nothing to
    merge into: the run fails (value at risk needs a CLV). When the cadence allows (`cxdata.model_store.decide`;
    ``refit`` forces a fit) nothing is trained: the features at as_of are built for everyone as on a fit and
    the stored classifier predicts; the report carries the fit's metrics and plots.
    """
    churn = config.models.churn
    run_id, as_of = run.run_id, run.as_of
    inputs = read_inputs(wh)
    inputs = ChurnInputs(**{**inputs.__dict__, "orders": inputs.orders.filter(pl.col("ordered_at") <= as_of)})
    stats = inputs.orders.select(
        pl.col("ordered_at").min().alias("first"), pl.col("ordered_at").max().alias("last"), pl.len().alias("n")
    ).collect()
    model_run_id = f"{run_id}/churn"
    failed, training, scored = None, None, None
    warnings: list[str] = []
    decision = model_store.decide(wh, "churn", run, config.models.refit_every_days, churn, refit)
    if clv_scores is None:
        failed = "customer_scores does not exist: run clv_step first (value at risk needs CLV)"
    elif not decision.refit:
        training = decision.model
    else:
        try:
            training = train(inputs, churn, as_of)
            warnings += training.warnings
        except NotEnoughHistory as exc:
            failed = f"not enough history: {exc}"
    if training is not None:
        scores = clv_scores
        if scores.height and set(scores["as_of"].to_list()) != {as_of}:
            warnings.append(f"customer_scores is as of {scores['as_of'].max()}, churn as of {as_of}")
        churn_scores = score_churn(training, inputs, as_of, churn, model_run_id)
        scored = _merge(scores, churn_scores, config)
        missing = churn_scores.join(scores, on="customer_key", how="anti").height
        if missing:
            warnings.append(f"{missing} churn-scored customers have no CLV row and are left out")
    window, n_orders = (stats["first"][0], stats["last"][0]), int(stats["n"][0])
    scoring = scored is not None and not decision.refit
    artifacts = None
    if scoring:
        record = scored_with(
            decision.fit, run, model_run_id=model_run_id, window=window, n_customers=scored.height,
            n_orders=n_orders, warnings=warnings, reason=decision.reason,
        )  # fmt: skip
    else:
        record = churn_run_record(
            run, model_run_id=model_run_id, config=churn, window=window, training=training,
            n_customers=0 if scored is None else scored.height, n_orders=n_orders, warnings=warnings,
            failed=failed, reason=decision.reason,
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
        failed=failed,
        mode="score" if scoring else "fit",
        fitted_run_id=decision.fit["model_run_id"] if scoring else (None if scored is None else model_run_id),
        mode_reason=decision.reason,
    )
    return ChurnOutputs(report, as_of, published, members, summary, record, artifacts)
