"""The warehouse step of lifetime value: read fct_orders, evaluate on the holdout, refit, score and publish.

Fits happen on the cadence of cxdata/model_store.py: a run that fits stores a
`ClvFit` (everything scoring needs) with its model run; the runs in between
score every customer with the stored fit through the same `_score`, evaluate
nothing and write a model run of mode score that carries the fit's columns.

Only customers with at least one kept (non-refund) order up to ``as_of`` are
scored: a BTYD model says nothing about someone who never bought (their
"birth" is the first purchase), so dim_customer rows without orders get no
score rather than a made-up one.

When the holdout chooses the boosted candidate (cxdata/clv/boosted.py), its
base BTYD model is refitted as any chosen model is, the boosted model is
refitted on cutoffs whose windows end by as_of, and the scores have the same
columns: expected purchases (and so CLV) from the boosted model extended by the
base's time profile, P(alive) from the base.

The step runs in customer shards (cxdata/churn/sharded.py): `clv_global` fits (on
the shards' summed `Partial` counts and on samples), `ClvGlobal.scores` scores a
shard's customers and `clv_assemble` puts the shards together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cxdata import model_store
from cxdata.churn.features import ChurnInputs, Population
from cxdata.churn.features import population as population_of
from cxdata.churn.reads import Samples
from cxdata.churn.score import without_churn
from cxdata.clv import boosted
from cxdata.clv.btyd import Attempt, BtydModel, SpendModel, fit_ladder
from cxdata.clv.evaluate import evaluate, fit_spend
from cxdata.clv.partials import Partial
from cxdata.clv.rfm import rfm_summary
from cxdata.clv.runs import model_run_record
from cxdata.clv.score import clv_percentile, score_customers
from cxdata.config import ProjectConfig
from cxdata.model_runs import scored_with
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse
from cxdata.warehouse.transaction import Transaction


@dataclass
class ClvReport:
    """What `clv_step` did: chosen model and parameters, holdout metrics, plots (PNG bytes), attempts, and why
    it failed if so."""

    model_run_id: str
    model: str | None
    params: dict[str, float] | None
    metrics: dict[str, Any]
    candidates: list[dict[str, Any]]
    attempts: list[Attempt]
    plots: dict[str, bytes] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    scored_customers: int = 0
    failed: str | None = None
    mode: str = "fit"  # or "score": scored with the stored fit fitted_run_id, whose metrics and plots these are
    fitted_run_id: str | None = None
    mode_reason: str | None = None  # why it fitted or only scored (`cxdata.model_store.decide`)


@dataclass
class ClvFit:
    """What scoring needs of a CLV fit, stored as its model run's artifact (cxdata/model_store.py): the purchase
    and spend models (or the mean order value without one), the boosted model when chosen, and the holdout
    metrics, candidates and plots that score-only runs report."""

    model: str | None
    purchase: BtydModel
    spend: SpendModel | None
    fallback_spend: float | None
    boosted: boosted.BoostedFit | None
    metrics: dict[str, Any]
    candidates: list[dict[str, Any]]
    plots: dict[str, bytes]


@dataclass
class ClvOutputs:
    """What a CLV run writes, not yet written: the RFM summary, the scores (None when it failed), its model run."""

    report: ClvReport
    as_of: dt.datetime
    rfm: pl.DataFrame
    scores: pl.DataFrame | None
    record: pl.DataFrame
    artifacts: pl.DataFrame | None = None  # the fitted models, on a run that fitted

    def stage(self, tx: Transaction, scores: pl.DataFrame | None = None) -> None:
        """Publish the RFM summary and the scores (``scores``, e.g. with churn merged in, else this run's with
        null churn columns) and append their history rows (this as_of's replaced) in ``tx``; not the model run
        or a fit's models, which the caller stores with any others of the same transaction."""
        tx.publish("customer_rfm", self.rfm)
        if scores is None and self.scores is not None:
            scores = without_churn(self.scores)
        if scores is not None:
            tx.publish("customer_scores", scores)
            # a rerun at the same moment replaces that moment's rows instead of adding a copy
            tx.append("customer_scores_history", scores, replace={"as_of": self.as_of})


def clv_step(wh: Warehouse, config: ProjectConfig, run: RunContext, refit: bool = False) -> ClvReport:
    """Evaluate, fit and score CLV from ``fct_orders`` (or score with the stored fit); publish customer_rfm and
    customer_scores (churn columns null), history, a fit's models and the model run in one transaction. See
    `clv_outputs` for ``run``, ``refit`` and failures."""
    outputs = clv_outputs(wh, config, run, refit)
    with wh.transaction() as tx:
        outputs.stage(tx)
        model_store.stage(tx, outputs.artifacts)
        tx.append("model_runs", outputs.record)
    return outputs.report


def clv_outputs(wh: Warehouse, config: ProjectConfig, run: RunContext, refit: bool = False) -> ClvOutputs:
    """Evaluate, fit and score CLV from ``fct_orders``, or score with the stored fit when the cadence allows
    (`cxdata.model_store.decide`; ``refit`` forces a fit): what `clv_step` publishes, without writing anything.

    Scores as of ``run.as_of`` (orders after it are ignored); the model run carries ``run``'s id and start. A
    failure (no holdout data, nothing converged) has no scores, a ``failed`` model run and the reason in
    ``report.failed``. A score-only run evaluates nothing: its report carries the fit's metrics and plots.
    The steps of `cxdata.churn.sharded` with one shard.
    """
    # imported here: cxdata.churn.sharded imports this module
    from cxdata.churn.sharded import value_outputs

    return value_outputs(wh, config, run, refit, churn=False)[0]


def shard_rfm(orders: pl.LazyFrame, config: ProjectConfig, as_of: dt.datetime) -> pl.DataFrame:
    """The RFM summary at ``as_of`` of the customers of ``orders`` (purchases up to as_of): customer_rfm's
    rows without its constant columns, and what they are scored on."""
    return rfm_summary(orders, as_of, config.models.clv.period).collect()


@dataclass
class ClvGlobal:
    """CLV's part of a run that sees all customers at once: the decision, the fit to score with (None when it
    failed), the report and model run (scored_customers counted from the partials), a fit's artifact, and
    the population of the boosted model's features at as_of."""

    fit: ClvFit | None
    report: ClvReport
    record: pl.DataFrame
    artifacts: pl.DataFrame | None
    population: Population | None = None

    def scores(
        self, rfm: pl.DataFrame, inputs: ChurnInputs | None, config: ProjectConfig, run: RunContext
    ) -> pl.DataFrame | None:
        """The scores of a shard's customers (``rfm``, ``inputs`` their facts when the fit is boosted): their
        clv_percentile is among the shard's only, `assemble` ranks them among all."""
        if self.fit is None:
            return None
        return _score(self.fit, rfm, inputs, config, run.as_of, self.report.model_run_id, self.population)


def clv_global(
    wh: Warehouse, config: ProjectConfig, run: RunContext, total: Partial, samples: Samples, refit: bool = False
) -> ClvGlobal:
    """Decide on the cadence, and on a fit day evaluate (on a sample of ``models.clv.evaluation_customers``) and
    fit (on all customers' `Partial` counts); otherwise load the stored fit. See `clv_outputs`."""
    clv = config.models.clv
    decision = model_store.decide(wh, "clv", run, config.models.refit_every_days, clv, refit)
    model_run_id = f"{run.run_id}/clv"
    if decision.refit:
        report, fit, record, artifacts = _fit(total, samples, config, run, decision.reason)
    else:
        fit = decision.model
        record = scored_with(
            decision.fit, run, model_run_id=model_run_id, window=(total.first, total.last),
            n_customers=total.customers, n_orders=total.orders, warnings=[], reason=decision.reason,
        )  # fmt: skip
        report = ClvReport(
            model_run_id=model_run_id, model=fit.model, params=dict(fit.purchase.params_), metrics=fit.metrics,
            candidates=fit.candidates, attempts=[], plots=fit.plots, scored_customers=total.customers,
            mode="score", fitted_run_id=decision.fit["model_run_id"], mode_reason=decision.reason,
        )  # fmt: skip
        artifacts = None
    population = None
    if fit is not None and fit.boosted is not None:
        features = boosted.feature_config(clv, fit.boosted.window_days)
        sample = samples.inputs(features.btyd_fit_customers)
        population = population_of(sample, run.as_of, features, fit.boosted.channels)
    return ClvGlobal(fit, report, record, artifacts, population)


def clv_assemble(
    part: ClvGlobal, rfms: list[pl.DataFrame], scores: list[pl.DataFrame | None], config: ProjectConfig,
    as_of: dt.datetime,
) -> ClvOutputs:  # fmt: skip
    """The shards' RFM rows and scores as one `ClvOutputs`: in customer order, clv_percentile among all."""
    clv = config.models.clv
    # the summary is data, not a model: published whether or not a model converged
    rfm = (
        pl.concat(rfms)
        .sort("customer_key")
        .with_columns(
            pl.lit(clv.period).alias("period"),
            pl.lit(as_of).alias("as_of"),
            pl.lit(config.currency).alias("currency"),
        )
    )
    scored = None
    if part.fit is not None:
        scored = pl.concat([s for s in scores if s is not None]).sort("customer_key")
        scored = scored.with_columns(clv_percentile(pl.col("clv")).alias("clv_percentile"))
    return ClvOutputs(part.report, as_of, rfm, scored, part.record, part.artifacts)


def _score(
    fit: ClvFit, rfm: pl.DataFrame, inputs: ChurnInputs | None, config: ProjectConfig, as_of: dt.datetime,
    model_run_id: str, population: Population | None,
) -> pl.DataFrame:  # fmt: skip
    """Every customer of ``rfm`` scored with ``fit``: the one scoring path of fit and score-only runs."""
    clv = config.models.clv
    boost = None
    if fit.boosted is not None:
        assert inputs is not None, "a boosted fit predicts from the churn inputs"
        boost = fit.boosted.predict(inputs, as_of, clv, population)
    return score_customers(
        rfm,
        fit.purchase,
        fit.spend,
        as_of=as_of,
        model_run_id=model_run_id,
        horizon_days=clv.horizon_days,
        period=clv.period,
        annual_discount_rate=clv.annual_discount_rate,
        fallback_spend=fit.fallback_spend,
        boosted=boost,
        window_days=fit.boosted.window_days if fit.boosted else None,
    ).with_columns(pl.lit(config.currency).alias("currency"))  # of monetary_value, expected_spend, clv


def _fit(
    total: Partial, samples: Samples, config: ProjectConfig, run: RunContext, reason: str
) -> tuple[ClvReport, ClvFit | None, pl.DataFrame, pl.DataFrame | None]:
    """Evaluate on the holdout (of a sample of customers), refit on all customers' counts: the report, the fit
    (None when it failed), the model run and the artifact."""
    clv, as_of = config.models.clv, run.as_of
    boosting = clv.model == "auto" and clv.boosted.enabled
    sample = samples.inputs(clv.evaluation_customers, facts=boosting)
    evaluation = evaluate(sample.orders, clv, as_of, inputs=sample if boosting else None)
    warnings = list(evaluation.warnings)
    failed = evaluation.failed
    final, spend_fit, fallback = None, None, None
    attempts = list(evaluation.attempts)
    if failed is None and evaluation.chosen is not None:
        chosen = evaluation.chosen
        # the chosen penalizer first, climbing the ladder if it no longer converges on all data
        higher = [p for p in clv.penalizers if p >= chosen.penalizer]
        refit = fit_ladder(chosen.model, total.histories, higher, clv.seed, clv.fit_budget_seconds, first=True)
        final = refit.fits[0] if refit.fits else None
        attempts += refit.attempts
        if final is None:
            failed = f"{chosen.model} converged on the calibration window but not on all data"
    if final is not None:
        spend_fit = fit_spend(total.spend, clv)
        attempts += spend_fit.attempts
        if spend_fit.model is None:
            fallback = total.mean_amount
            warnings.append(f"spend: {spend_fit.reason}; every customer gets the mean order value {fallback:.2f}")
        elif spend_fit.warning:
            warnings.append(spend_fit.warning)
    model_run_id = f"{run.run_id}/clv"
    fitted, params = None, final.params_ if final else None
    if final is not None and evaluation.boost is not None:
        plan = evaluation.boost
        training = samples.inputs(clv.boosted.max_train_rows // clv.boosted.cutoffs)
        fitted = boosted.fit_boosted(training, clv, plan.final, plan.window_days, list(total.channels))
        params = {"base_model": final.model, "base_params": final.params_, **fitted.params()}
    model = boosted.MODEL_NAME if evaluation.boost else (evaluation.chosen.model if evaluation.chosen else None)
    artifacts, fit = None, None
    if final is not None:
        fit = ClvFit(
            model=model, purchase=final, spend=spend_fit.model, fallback_spend=fallback, boosted=fitted,
            metrics=evaluation.metrics, candidates=evaluation.candidates, plots=evaluation.plots,
        )  # fmt: skip
        artifacts = model_store.artifact(model_run_id, "clv", fit)
    spend_info: dict[str, Any] = {}
    if spend_fit is not None:
        spend_info = {
            "model": "gamma_gamma" if spend_fit.model else "observed_mean",
            "params": spend_fit.model.params_ if spend_fit.model else None,
            "correlation": spend_fit.correlation,
        }
    record = model_run_record(
        run,
        model_run_id=model_run_id,
        config=clv,
        window=(total.first, total.last),
        calibration_end=evaluation.calibration_end,
        holdout_end=evaluation.holdout_end,
        model=model,
        params=params,
        log_likelihood=final.log_likelihood_ if final else None,
        penalizer=final.penalizer if final else None,
        spend=spend_info,
        metrics=evaluation.metrics,
        candidates=evaluation.candidates,
        attempts=attempts,
        n_customers=total.customers,
        n_orders=total.orders,
        warnings=warnings,
        failed=failed,
        reason=reason,
    )
    report = ClvReport(
        model_run_id=model_run_id,
        model=model if final else None,
        params=dict(final.params_) if final else None,
        metrics=evaluation.metrics,
        candidates=evaluation.candidates,
        attempts=attempts,
        plots=evaluation.plots,
        warnings=warnings,
        scored_customers=0 if final is None else total.customers,
        failed=failed,
        fitted_run_id=None if final is None else model_run_id,
        mode_reason=reason,
    )
    return report, fit, record, artifacts
