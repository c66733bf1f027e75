"""The warehouse step of lifetime value: read fct_orders, evaluate on the holdout, refit, score and publish.

Only customers with at least one kept (non-refund) order up to ``as_of`` are
scored: a BTYD model says nothing about someone who never bought (their
"birth" is the first purchase), so dim_customer rows without orders get no
score rather than a made-up one.

When the holdout chooses the boosted candidate (cxdata/clv/boosted.py), its
base BTYD model is refitted as any chosen model is, the boosted model is
refitted on cutoffs whose windows end by as_of, and the scores have the same
columns: expected purchases (and so CLV) from the boosted model extended by the
base's time profile, P(alive) from the base.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cxdata.churn.features import ChurnInputs, touch_channels
from cxdata.churn.score import without_churn
from cxdata.clv import boosted
from cxdata.clv.btyd import Attempt, fit_ladder
from cxdata.clv.evaluate import evaluate, fit_spend
from cxdata.clv.rfm import purchases, rfm_summary
from cxdata.clv.runs import model_run_record
from cxdata.clv.score import score_customers
from cxdata.config import ProjectConfig
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse
from cxdata.warehouse.transaction import Transaction

ORDER_COLUMNS = ["customer_key", "ordered_at", "amount", "is_refund"]


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


@dataclass
class ClvOutputs:
    """What a CLV run writes, not yet written: the RFM summary, the scores (None when it failed), its model run."""

    report: ClvReport
    as_of: dt.datetime
    rfm: pl.DataFrame
    scores: pl.DataFrame | None
    record: pl.DataFrame

    def stage(self, tx: Transaction, scores: pl.DataFrame | None = None) -> None:
        """Publish the RFM summary and the scores (``scores``, e.g. with churn merged in, else this run's with
        null churn columns) and append their history rows (this as_of's replaced) in ``tx``; not the model run,
        which the caller appends with any others of the same transaction."""
        tx.publish("customer_rfm", self.rfm)
        if scores is None and self.scores is not None:
            scores = without_churn(self.scores)
        if scores is not None:
            tx.publish("customer_scores", scores)
            # a rerun at the same moment replaces that moment's rows instead of adding a copy
            tx.append("customer_scores_history", scores, replace={"as_of": self.as_of})


def clv_step(wh: Warehouse, config: ProjectConfig, run: RunContext) -> ClvReport:
    """Evaluate, fit and score CLV from ``fct_orders``; publish customer_rfm and customer_scores (churn columns
    null), history and the model run in one transaction. See `clv_outputs` for ``run`` and failures."""
    outputs = clv_outputs(wh, config, run)
    with wh.transaction() as tx:
        outputs.stage(tx)
        tx.append("model_runs", outputs.record)
    return outputs.report


def clv_outputs(wh: Warehouse, config: ProjectConfig, run: RunContext) -> ClvOutputs:
    """Evaluate, fit and score CLV from ``fct_orders``: what `clv_step` publishes, without writing anything.

    Scores as of ``run.as_of`` (orders after it are ignored); the model run carries ``run``'s id and start. A
    failure (no holdout data, nothing converged) has no scores, a ``failed`` model run and the reason in
    ``report.failed``.
    """
    run_id, as_of = run.run_id, run.as_of
    orders = purchases(wh.read("fct_orders", columns=ORDER_COLUMNS).lazy())
    clv = config.models.clv
    orders = orders.filter(pl.col("ordered_at") <= pl.lit(as_of)).select("customer_key", "ordered_at", "amount")
    stats = orders.select(
        pl.col("ordered_at").min().alias("first"), pl.col("ordered_at").max().alias("last"), pl.len().alias("n")
    ).collect()
    window = (stats["first"][0], stats["last"][0])
    inputs = None
    if clv.model == "auto" and clv.boosted.enabled:
        # imported here: cxdata.churn.step imports this module
        from cxdata.churn.step import read_inputs

        inputs = ChurnInputs(**{**read_inputs(wh).__dict__, "orders": orders})
    evaluation = evaluate(orders, clv, as_of, inputs=inputs)
    warnings = list(evaluation.warnings)
    failed = evaluation.failed
    final, spend_fit, scores = None, None, None
    attempts = list(evaluation.attempts)
    rfm = rfm_summary(orders, as_of, clv.period).collect()
    if failed is None and evaluation.chosen is not None:
        chosen = evaluation.chosen
        # the chosen penalizer first, climbing the ladder if it no longer converges on all data
        higher = [p for p in clv.penalizers if p >= chosen.penalizer]
        refit = fit_ladder(chosen.model, rfm, higher, clv.seed, clv.fit_budget_seconds, first=True)
        final = refit.fits[0] if refit.fits else None
        attempts += refit.attempts
        if final is None:
            failed = f"{chosen.model} converged on the calibration window but not on all data"
    if final is not None:
        spend_fit = fit_spend(rfm, clv)
        attempts += spend_fit.attempts
        fallback = None
        if spend_fit.model is None:
            fallback = float(orders.select(pl.col("amount").mean()).collect().item())
            warnings.append(f"spend: {spend_fit.reason}; every customer gets the mean order value {fallback:.2f}")
        elif spend_fit.warning:
            warnings.append(spend_fit.warning)
    model_run_id = f"{run_id}/clv"
    boost, params = None, final.params_ if final else None
    if final is not None and evaluation.boost is not None and inputs is not None:
        plan = evaluation.boost
        fitted = boosted.fit_boosted(
            inputs, clv, plan.final, plan.window_days, touch_channels(inputs.touches, as_of)
        )
        boost = fitted.predict(inputs, as_of, clv)
        params = {"base_model": final.model, "base_params": final.params_, **fitted.params()}
    model = boosted.MODEL_NAME if evaluation.boost else (evaluation.chosen.model if evaluation.chosen else None)
    if final is not None:
        scores = score_customers(
            rfm,
            final,
            spend_fit.model,
            as_of=as_of,
            model_run_id=model_run_id,
            horizon_days=clv.horizon_days,
            period=clv.period,
            annual_discount_rate=clv.annual_discount_rate,
            fallback_spend=fallback,
            boosted=boost,
            window_days=evaluation.boost.window_days if evaluation.boost else None,
        ).with_columns(pl.lit(config.currency).alias("currency"))  # of monetary_value, expected_spend, clv
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
        window=window,
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
        n_customers=rfm.height,
        n_orders=int(stats["n"][0]),
        warnings=warnings,
        failed=failed,
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
        scored_customers=0 if scores is None else scores.height,
        failed=failed,
    )
    # the summary is data, not a model: published whether or not a model converged
    rfm = rfm.with_columns(
        pl.lit(clv.period).alias("period"), pl.lit(as_of).alias("as_of"), pl.lit(config.currency).alias("currency")
    )
    return ClvOutputs(report, as_of, rfm, scores, record)
