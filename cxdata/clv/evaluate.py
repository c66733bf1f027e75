"""Time-holdout evaluation: fit on the calibration window, predict the holdout, choose the model.

The split is at ``as_of - holdout_days``: every candidate (each model of the
config, each penalizer whose fit converged) is fitted on the orders up to the
split and predicts the repeat purchases of the calibration customers in the
holdout. Metrics per candidate:

- aggregate error: (predicted - actual) / actual holdout repeat purchases;
- per-customer MAE and RMSE of purchases, beside a naive baseline in which
  each customer repeats at their calibration rate (frequency / T);
- Spearman's rho of predicted and actual holdout spend (scipy);
- the mean Poisson deviance of purchases, beside MAE: MAE is smallest at a
  count's median, which for most customers is 0, so it favours predictions
  biased low; the deviance is smallest at the expectation, which is what the
  scores are.

With ``model: auto`` and ``boosted.enabled``, the boosted candidate
(cxdata/clv/boosted.py) joins them: trained only on cutoffs whose windows end
by the split, it predicts the same customers' holdout purchases on top of the
BTYD candidate this rule would choose among the BTYD ones (its "base", whose
time profile extends a shorter window and whose P(alive) it keeps).

Choice: candidates whose |aggregate error| is within ``max_holdout_error``
are ranked by mean Poisson deviance, since the scores are used per customer
(who to target) and are expectations (CLV sums them), so the ranking metric
must be smallest at the expectation; the aggregate only gates bias. When none
is within the bound, the smallest |aggregate error| wins (then deviance) and
the result carries a warning. Ties keep
the config order (BG/NBD, Pareto/NBD, MBG/NBD; lower penalizer first; the
boosted candidate last).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import spearmanr
from sklearn.metrics import mean_poisson_deviance

from cxdata.churn.features import ChurnInputs, touch_channels
from cxdata.clv import boosted
from cxdata.clv.btyd import CONTINUOUS_MODELS, Attempt, BtydModel, FitFailed, SpendModel, fit_ladder
from cxdata.clv.plots import calibration_holdout_png, tracking_png
from cxdata.clv.rfm import PERIOD_DAYS, Freq, calibration_holdout, period_number, period_purchases
from cxdata.clv.score import HISTORY, predict_rows, time_profile
from cxdata.config import ClvConfig

CAL_COLUMNS = {c + "_cal": c for c in ("frequency", "recency", "T", "monetary_value")}


class EvaluationImpossible(ValueError):
    """The data cannot be split into a calibration and a holdout window with purchases in both."""


@dataclass
class SpendFit:
    """The Gamma-Gamma fit (or why there is none), the attempts, and the independence check."""

    model: SpendModel | None
    attempts: list[Attempt]
    correlation: float | None
    warning: str | None
    reason: str | None  # why there is no model


def fit_spend(rfm: pl.DataFrame, config: ClvConfig) -> SpendFit:
    """Gamma-Gamma on the repeat buyers with the penalizer ladder; below ``min_repeat_buyers`` it is not fitted.
    ``rfm`` is per customer, or distinct rows with a ``weight`` (`cxdata.clv.btyd.unique_rows`)."""
    counted = pl.col("weight").sum() if "weight" in rfm.columns else pl.len()  # distinct rows with counts
    repeat = int(rfm.filter((pl.col("frequency") > 0) & (pl.col("monetary_value") > 0)).select(counted).item())
    if repeat < config.min_repeat_buyers:
        reason = f"{repeat} repeat buyers < min_repeat_buyers={config.min_repeat_buyers}"
        return SpendFit(None, [], None, None, reason)
    attempts: list[Attempt] = []
    for penalizer in config.penalizers:
        model = SpendModel(penalizer=penalizer, seed=config.seed)
        try:
            model.fit(rfm)
            return SpendFit(model, attempts + model.attempts_, model.correlation_, model.warning_, None)
        except FitFailed as failed:
            attempts += failed.attempts
    return SpendFit(None, attempts, None, None, "Gamma-Gamma did not converge with any penalizer")


@dataclass
class Evaluation:
    """What the holdout said: candidates' metrics, the chosen fit, every attempt, plots and warnings.

    ``chosen`` is the BTYD fit the scores sit on; ``boost`` is the boosted candidate's plan when that
    candidate was chosen (``chosen`` is then its base), else None."""

    calibration_end: dt.datetime
    holdout_end: dt.datetime
    candidates: list[dict[str, Any]]
    chosen: BtydModel | None
    attempts: list[Attempt]
    plots: dict[str, bytes] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    failed: str | None = None
    boost: boosted.Plan | None = None

    @property
    def metrics(self) -> dict[str, Any]:
        """The chosen candidate's metrics (empty when nothing was chosen)."""
        chosen = [c for c in self.candidates if c.get("chosen")]
        return chosen[0] if chosen else {}


def holdout_metrics(
    model: BtydModel, calhold: pl.DataFrame, spend: SpendModel | None, fallback_spend: float
) -> dict[str, Any]:
    """Aggregate error, MAE/RMSE against the naive baseline, spend Spearman, for one fitted candidate."""
    duration = float(calhold["duration_holdout"][0])
    predicted = predict_rows(model, calhold.rename(CAL_COLUMNS), duration)["expected_purchases"].to_numpy()
    fit_seconds = sum(a.seconds for a in model.attempts_)
    return {
        "model": model.model,
        "penalizer": model.penalizer,
        **prediction_metrics(predicted, calhold, spend, fallback_spend),
        "log_likelihood": model.log_likelihood_,
        "params": model.params_,
        "fit_seconds": round(fit_seconds, 4),
    }


def prediction_metrics(
    predicted: np.ndarray, calhold: pl.DataFrame, spend: SpendModel | None, fallback_spend: float
) -> dict[str, Any]:
    """The metrics of `holdout_metrics` for holdout purchases ``predicted`` in ``calhold``'s row order."""
    rfm = calhold.rename(CAL_COLUMNS)
    actual = rfm["frequency_holdout"].to_numpy()
    duration = float(calhold["duration_holdout"][0])
    f, t = rfm["frequency"].to_numpy(), rfm["T"].to_numpy()
    naive = np.divide(f, t, out=np.zeros_like(f), where=t > 0) * duration
    if spend is not None:
        per_purchase = spend.expected_spend(f, rfm["monetary_value"].to_numpy())
    else:
        per_purchase = np.full(f.shape, fallback_spend)
    rho = spearmanr(predicted * per_purchase, rfm["holdout_revenue"].to_numpy()).statistic
    # scikit-learn refuses a prediction of 0: where something may be bought it is infinitely wrong
    positive = bool(np.isfinite(predicted).all() and (predicted > 0).all())
    deviance = mean_poisson_deviance(actual, predicted) if positive else float("inf")
    total = float(actual.sum())
    return {
        "customers": int(rfm.height),
        "actual_purchases": total,
        "predicted_purchases": float(predicted.sum()),
        "aggregate_error": float(predicted.sum() - total) / total,
        "mae": float(np.abs(predicted - actual).mean()),
        "rmse": float(np.sqrt(((predicted - actual) ** 2).mean())),
        "naive_mae": float(np.abs(naive - actual).mean()),
        "naive_rmse": float(np.sqrt(((naive - actual) ** 2).mean())),
        "spend_spearman": float(rho),
        "poisson_deviance": deviance,
    }


def boosted_holdout(
    inputs: ChurnInputs,
    config: ClvConfig,
    calhold: pl.DataFrame,
    calibration_end: dt.datetime,
    as_of: dt.datetime,
    base: BtydModel,
) -> tuple[boosted.Plan, boosted.BoostedFit, np.ndarray]:
    """The boosted candidate fitted on cutoffs whose windows end by ``calibration_end``, and its predicted
    holdout purchases of ``calhold``'s customers in its row order (its window extended with ``base``'s
    time profile). Raises `boosted.NoPlan` when the history is too short."""
    first = inputs.orders.select(pl.col("ordered_at").min()).collect().item()
    plan = boosted.plan(first, calibration_end, as_of, config)
    channels = touch_channels(inputs.touches, calibration_end)
    fit = boosted.fit_boosted(inputs, config, plan.evaluation, plan.window_days, channels)
    rows = calhold.rename(CAL_COLUMNS).join(
        fit.predict(inputs, calibration_end, config), on="customer_key", how="left"
    )
    duration = np.array([float(calhold["duration_holdout"][0])])
    histories = rows.select(HISTORY).unique()
    profile = time_profile(base, histories, plan.window_days / PERIOD_DAYS[config.period], duration)[0]
    rows = rows.join(histories.with_columns(pl.Series("_profile", profile)), on=list(HISTORY), how="left")
    return plan, fit, (rows["boosted_purchases"] * rows["_profile"]).to_numpy()


def choose(candidates: list[dict[str, Any]], max_error: float) -> tuple[int, str | None]:
    """Index of the chosen candidate (see the module doc) and a warning when its bias is over the bound."""
    valid = [
        i
        for i, c in enumerate(candidates)
        if np.isfinite(c["aggregate_error"]) and np.isfinite(c["poisson_deviance"])
    ]
    if not valid:
        return -1, "no candidate gave finite, positive holdout predictions"
    within = [i for i in valid if abs(candidates[i]["aggregate_error"]) <= max_error]
    if within:
        return min(within, key=lambda i: candidates[i]["poisson_deviance"]), None
    best = min(valid, key=lambda i: (abs(candidates[i]["aggregate_error"]), candidates[i]["poisson_deviance"]))
    error = candidates[best]["aggregate_error"]
    return best, f"holdout aggregate error {error:+.1%} is beyond max_holdout_error={max_error:.0%}"


def split(orders: pl.LazyFrame, config: ClvConfig, as_of: dt.datetime) -> tuple[pl.DataFrame, dt.datetime]:
    """The calibration/holdout summary with each customer's holdout revenue, and the calibration end."""
    calibration_end = as_of - dt.timedelta(days=config.holdout_days)
    calhold = calibration_holdout(orders, calibration_end, as_of, config.period)
    names = orders.collect_schema()
    zone = getattr(names["ordered_at"], "time_zone", None)

    def literal(moment: dt.datetime) -> pl.Expr:
        return pl.lit(moment).dt.convert_time_zone(zone) if zone else pl.lit(moment.replace(tzinfo=None))

    revenue = (
        orders.filter((pl.col("ordered_at") > literal(calibration_end)) & (pl.col("ordered_at") <= literal(as_of)))
        .group_by("customer_key")
        .agg(pl.col("amount").sum().alias("holdout_revenue"))
    )
    frame = (
        calhold.join(revenue, on="customer_key", how="left")
        .with_columns(pl.col("holdout_revenue").fill_null(0.0))
        .collect()
    )
    if frame.height == 0:
        raise EvaluationImpossible(f"no customer bought before the calibration end {calibration_end:%Y-%m-%d}")
    if frame["frequency_holdout"].sum() == 0:
        raise EvaluationImpossible(
            f"no repeat purchase in the holdout {calibration_end:%Y-%m-%d} to {as_of:%Y-%m-%d}"
        )
    return frame, calibration_end


def tracking(
    model: BtydModel, orders: pl.LazyFrame, calhold: pl.DataFrame, calibration_end: dt.datetime, freq: Freq
) -> pl.DataFrame:
    """Weekly cumulative repeat purchases of the calibration customers: actual and as the model expects."""
    cal_period = period_number(calibration_end, freq)
    step = 7 // PERIOD_DAYS[freq]
    cohorts = calhold.select((cal_period - pl.col("T_cal")).cast(pl.Int64).alias("first")).group_by("first").len()
    first = int(cohorts["first"].min())
    end = cal_period + int(calhold["duration_holdout"][0])
    grid = np.append(np.arange(first + step, end, step), end)
    elapsed = np.clip(grid[None, :] - cohorts["first"].to_numpy()[:, None], 0, None).astype(float)
    curve = model.expected_repeat_purchases(elapsed.ravel()).reshape(elapsed.shape)
    expected = cohorts["len"].to_numpy() @ np.where(elapsed > 0, curve, 0.0)
    repeats = (
        period_purchases(orders, freq)
        .filter(~pl.col("is_first") & (pl.col("period") <= end))
        .join(calhold.lazy().select("customer_key"), on="customer_key", how="semi")
        .group_by("period")
        .len()
        .collect()
    )
    counts = np.zeros(end - first + 1)
    np.add.at(counts, repeats["period"].to_numpy() - first, repeats["len"].to_numpy())
    actual = np.cumsum(counts)[grid - first]
    return pl.DataFrame(
        {"period": (grid - first).astype(np.int64), "actual": actual, "expected": expected}
    ).with_columns(pl.lit(cal_period - first).alias("calibration_end_period"))


def calibration_vs_holdout(
    model: BtydModel, calhold: pl.DataFrame, top: int = 6, predicted: np.ndarray | None = None
) -> pl.DataFrame:
    """Mean actual and predicted holdout purchases by calibration frequency (``top`` and more pooled);
    ``predicted`` (in ``calhold``'s row order) replaces the model's predictions."""
    duration = float(calhold["duration_holdout"][0])
    rows = predict_rows(model, calhold.rename(CAL_COLUMNS), duration)
    if predicted is not None:
        rows = calhold.rename(CAL_COLUMNS).with_columns(pl.Series("expected_purchases", predicted))
    return (
        rows.group_by(pl.col("frequency").clip(upper_bound=top).alias("frequency_cal"))
        .agg(
            pl.col("frequency_holdout").mean().alias("actual"),
            pl.col("expected_purchases").mean().alias("predicted"),
            pl.len().alias("customers"),
        )
        .sort("frequency_cal")
    )


def evaluate(
    orders: pl.LazyFrame,
    config: ClvConfig,
    as_of: dt.datetime,
    *,
    plots: bool = True,
    inputs: ChurnInputs | None = None,
) -> Evaluation:
    """Fit every candidate on the calibration window, score it on the holdout and choose; see the module doc.

    ``orders``: purchases only (customer_key, ordered_at, amount), see `cxdata.clv.rfm.purchases`.
    ``inputs``: the boosted candidate's facts (their orders the same purchases); default orders only.
    A failure (no data to split, nothing converged) is returned in ``failed``, never raised.
    """
    holdout_end = as_of
    try:
        calhold, calibration_end = split(orders, config, as_of)
    except EvaluationImpossible as exc:
        cut = as_of - dt.timedelta(days=config.holdout_days)
        return Evaluation(cut, holdout_end, [], None, [], failed=str(exc))
    rfm = calhold.rename(CAL_COLUMNS)
    models = list(CONTINUOUS_MODELS) if config.model == "auto" else [config.model]
    ladders = [fit_ladder(name, rfm, config.penalizers, config.seed, config.fit_budget_seconds) for name in models]
    attempts = [a for ladder in ladders for a in ladder.attempts]
    fits = [fit for ladder in ladders for fit in ladder.fits]
    spend = fit_spend(rfm, config)
    warnings = [w for w in (spend.warning,) if w]
    if spend.model is None:
        warnings.append(f"calibration spend: {spend.reason}; observed mean order value used instead")
    fallback = float(orders.select(pl.col("amount").mean()).collect().item())
    if not fits:
        reason = f"no purchase model converged on the calibration window ({len(attempts)} attempts)"
        return Evaluation(calibration_end, holdout_end, [], None, attempts, warnings=warnings, failed=reason)
    candidates = [holdout_metrics(fit, calhold, spend.model, fallback) for fit in fits]
    best, warning = choose(candidates, config.max_holdout_error)
    if best < 0:
        failed = warning
        return Evaluation(
            calibration_end, holdout_end, candidates, None, attempts, warnings=warnings, failed=failed
        )
    base, plan, predicted = fits[best], None, None
    if config.model == "auto" and config.boosted.enabled:
        try:
            plan, fit, predicted = boosted_holdout(
                inputs or ChurnInputs(orders=orders), config, calhold, calibration_end, as_of, base
            )
        except (boosted.NoPlan, ValueError) as exc:  # ValueError: e.g. no purchase in any training window
            warnings.append(f"{boosted.MODEL_NAME} not evaluated: {exc}")
        else:
            candidates.append(
                {
                    "model": boosted.MODEL_NAME,
                    "penalizer": base.penalizer,
                    "base_model": base.model,
                    **prediction_metrics(predicted, calhold, spend.model, fallback),
                    "log_likelihood": None,
                    "params": fit.params(),
                    "fit_seconds": round(fit.seconds, 4),
                }
            )
            best, warning = choose(candidates, config.max_holdout_error)
    boost = plan if best == len(fits) else None
    chosen = base if boost else fits[best]
    candidates[best]["chosen"] = True
    if warning:
        warnings.append(warning)
    result = Evaluation(calibration_end, holdout_end, candidates, chosen, attempts, warnings=warnings, boost=boost)
    if plots:
        by_frequency = calibration_vs_holdout(chosen, calhold, predicted=predicted if boost else None)
        result.plots["calibration_vs_holdout"] = calibration_holdout_png(by_frequency)
        if chosen.model != "bgbb":  # the population curve: the base's when the boosted model was chosen
            track = tracking(chosen, orders, calhold, calibration_end, config.period)
            result.plots["tracking"] = tracking_png(track, config.period)
    return result
