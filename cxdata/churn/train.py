"""Train and evaluate the churn model on stacked cutoffs (no warehouse: frames in, results out).

Evaluation first (cutoffs in cxdata/churn/labels.py): the calibrated boosting
model and the RFM logit are trained on the evaluation cutoffs and tested on
the holdout cutoff, beside the BTYD baseline P(no purchase in the horizon)
fitted on data up to the holdout cutoff. The candidate with the better holdout
ROC AUC (boosting unless the logit beats it) is then refitted on the final
cutoffs, whose labels end by as_of, and scores customers at as_of.

Feature frames are cached per cutoff (evaluation and final stacks share
cutoffs when the step divides the horizon). When the customers times the
cutoffs (holdout included) exceed ``max_train_rows``, the features are built
for a seeded sample of the customers only (`sampled_inputs`); the scores at
as_of are every customer's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from cxdata.churn.evaluate import calibration_png, churn_metrics, importances
from cxdata.churn.features import (
    RFM_FEATURES,
    ChurnInputs,
    build_features,
    feature_names,
    touch_channels,
)
from cxdata.churn.labels import Cutoffs, churn_labels, plan_cutoffs
from cxdata.churn.model import ChurnClassifier
from cxdata.churn.reads import sampled_inputs
from cxdata.config import ChurnConfig

MODEL_NAMES = {"hgb": "churn_hgb", "logit": "churn_rfm_logit"}


@dataclass
class Training:
    """The run's cutoffs, holdout metrics of every model, the chosen fitted model and what it needs to score."""

    cutoffs: Cutoffs
    metrics: dict[str, dict[str, Any]]
    chosen: str
    model: ChurnClassifier
    features: list[str]
    reference: dict[str, float]  # `retained_reference`: what churn reasons are measured against
    channels: list[str]
    importances: list[dict[str, Any]]
    training_rows: int
    calibration: dict[str, Any] = field(default_factory=dict)  # the method and, for "auto", why
    plots: dict[str, bytes] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class NotEnoughHistory(ValueError):
    """The order history is too short for a holdout cutoff and at least one training cutoff before it."""


def labelled(inputs: ChurnInputs, cutoff: dt.datetime, config: ChurnConfig, channels: list[str]) -> pl.DataFrame:
    """Features at ``cutoff`` with the ``churned`` label of the horizon after it."""
    labels = churn_labels(inputs.orders, cutoff, config.horizon_days).select("customer_key", "churned")
    return build_features(inputs, cutoff, config, channels).join(labels.collect(), on="customer_key", how="left")


def matrix(frame: pl.DataFrame, names: list[str]) -> np.ndarray:
    """The float feature matrix of ``names`` (nulls as NaN), columns absent from the frame as NaN."""
    present = [
        pl.col(c).cast(pl.Float64) if c in frame.columns else pl.lit(None, pl.Float64).alias(c) for c in names
    ]
    # row-major: a tree walks one row's features, so a row in one cache line predicts faster than columns
    return frame.select(present).to_numpy(order="c").astype(float, copy=False)


def retained_reference(frame: pl.DataFrame, names: list[str]) -> dict[str, float]:
    """Each feature's median over the rows of ``frame`` labelled retained (``churned`` 0): the typical customer
    who stayed, against whom churn reasons are measured (cxdata/churn/score.py). Nulls and NaN are left out;
    a feature without a value on any retained row (or a frame without retained rows) takes all rows' median,
    and NaN when no row has one."""

    def medians(rows: pl.DataFrame) -> dict[str, float | None]:
        present = [n for n in names if n in rows.columns]
        found = rows.select(pl.col(n).cast(pl.Float64).fill_nan(None).median() for n in present)
        return found.row(0, named=True) if present else {}

    retained = medians(frame.filter(pl.col("churned").cast(pl.Int8) == 0))
    everyone = medians(frame)
    picked = {n: retained.get(n) if retained.get(n) is not None else everyone.get(n) for n in names}
    return {n: float("nan") if v is None else float(v) for n, v in picked.items()}


def _stack(frames: list[pl.DataFrame], config: ChurnConfig) -> pl.DataFrame:
    # sample each cutoff by the same fraction before stacking, so memory never holds every row twice
    share = min(1.0, config.max_train_rows / max(1, sum(f.height for f in frames)))
    if share < 1.0:  # by position: sorted first, so the sample does not depend on the frames' row order
        frames = [f.sort("customer_key").sample(fraction=share, seed=config.seed) for f in frames]
    return pl.concat(frames, how="diagonal_relaxed")


# Features whose effect on churn has a known direction: P(no purchase) updated by the signs of life is the
# structural answer itself; left free, the trees bent it with noise (+0.0004 to +0.0025 truth AUC
# with the constraint on dev seeds 5, 11, 23; seed 17 -0.0005)
MONOTONE = {"btyd_p_no_purchase_seen": 1}


def _classifier(kind: str, config: ChurnConfig, calibration: str, names: list[str]) -> ChurnClassifier:
    return ChurnClassifier(
        kind, calibration=calibration, max_iter=config.max_iter, learning_rate=config.learning_rate,
        min_samples_leaf=config.min_samples_leaf, l2_regularization=config.l2_regularization, seed=config.seed,
        monotonic_cst=[MONOTONE.get(n, 0) for n in names],
    )  # fmt: skip


def _fit(kind: str, stacked: pl.DataFrame, names: list[str], config: ChurnConfig, calibration: str):
    latest = (stacked["cutoff"] == stacked["cutoff"].max()).to_numpy()
    model = _classifier(kind, config, calibration, names)
    return model.fit(matrix(stacked, names), stacked["churned"].to_numpy(), calibrate_on=latest)


def _calibration(stacked: pl.DataFrame, names: list[str], config: ChurnConfig) -> dict[str, Any]:
    """The configured calibration, or for "auto" the one `ChurnClassifier.choose_calibration` picks on the
    evaluation cutoffs (sigmoid when fewer than three cutoffs leave nothing to judge it on)."""
    if config.calibration != "auto":
        return {"method": config.calibration}
    period = stacked["cutoff"].rank("dense").cast(pl.Int64).to_numpy()
    if period.max() < 3:
        return {"method": "sigmoid", "note": "not checked: it needs three training cutoffs"}
    try:
        method, scores = _classifier("hgb", config, "none", names).choose_calibration(
            matrix(stacked, names), stacked["churned"].to_numpy(), period
        )
    except ValueError as exc:
        return {"method": "sigmoid", "note": f"not checked: {exc}"}
    return {"method": method, "brier_one_cutoff_later": scores}


def train(
    inputs: ChurnInputs,
    config: ChurnConfig,
    as_of: dt.datetime,
    first: dt.datetime | None = None,
    channels: list[str] | None = None,
) -> Training:
    """Evaluate on the holdout, then fit the chosen model on the final cutoffs (see the module doc).

    ``first`` (the first order) and ``channels`` (`touch_channels` up to as_of) are those of ``inputs`` unless
    given: those of all customers when ``inputs`` holds a sample of them."""
    if first is None:
        first = inputs.orders.select(pl.col("ordered_at").min()).collect().item()
    if first is None:
        raise NotEnoughHistory("no orders")
    cutoffs = plan_cutoffs(as_of, first, config)
    if not cutoffs.evaluation:
        raise NotEnoughHistory(
            f"orders start {first:%Y-%m-%d}: a holdout at {cutoffs.holdout:%Y-%m-%d} needs training cutoffs "
            f"{config.horizon_days} days earlier with {config.min_history_days} days of history before them"
        )
    channels = touch_channels(inputs.touches, as_of) if channels is None else channels
    stacked_cutoffs = {cutoffs.holdout, *cutoffs.evaluation, *cutoffs.final}
    inputs = sampled_inputs(inputs, config.max_train_rows // len(stacked_cutoffs), config.seed)
    cache: dict[dt.datetime, pl.DataFrame] = {}

    def at(cutoff: dt.datetime) -> pl.DataFrame:
        if cutoff not in cache:
            cache[cutoff] = labelled(inputs, cutoff, config, channels)
        return cache[cutoff]

    holdout = at(cutoffs.holdout)
    names = feature_names(holdout.drop("churned"))
    rfm_names = RFM_FEATURES
    train_eval = _stack([at(c) for c in cutoffs.evaluation], config)
    for cutoff in set(cutoffs.evaluation) - set(cutoffs.final):
        del cache[cutoff]  # only the final stack needs them again
    y = holdout["churned"].to_numpy().astype(int)
    X = matrix(holdout, names)
    calibration = _calibration(train_eval, names, config)
    hgb = _fit("hgb", train_eval, names, config, calibration["method"])
    logit = _fit("logit", train_eval, rfm_names, config, "none")
    probabilities = {
        "churn_hgb": hgb.predict_proba(X)[:, 1],
        "churn_hgb_uncalibrated": hgb.predict_proba_uncalibrated(X)[:, 1],
        "churn_rfm_logit": logit.predict_proba(matrix(holdout, rfm_names))[:, 1],
        "btyd_baseline": holdout["btyd_p_no_purchase"].fill_null(float(np.mean(y))).to_numpy(),
    }
    metrics = {name: churn_metrics(y, p) for name, p in probabilities.items()}
    chosen = "logit" if metrics["churn_rfm_logit"]["auc"] > metrics["churn_hgb"]["auc"] else "hgb"
    used = rfm_names if chosen == "logit" else names
    ranked = importances(
        hgb if chosen == "hgb" else logit, matrix(holdout, used), y, used, config.importance_rows,
        config.importance_repeats, config.seed,
    )  # fmt: skip
    plots = {"calibration": calibration_png(y, {k: v for k, v in probabilities.items() if k != "btyd_baseline"})}
    final_frames = [at(c) for c in cutoffs.final] or [holdout]
    stacked = _stack(final_frames, config)
    model = _fit(chosen, stacked, used, config, calibration["method"])
    reference = retained_reference(stacked, used)
    warnings = []
    if len(cutoffs.final) < config.cutoffs:
        warnings.append(f"history allows {len(cutoffs.final)} of {config.cutoffs} training cutoffs")
    return Training(
        cutoffs=cutoffs,
        metrics=metrics,
        chosen=MODEL_NAMES[chosen],
        model=model,
        features=used,
        reference=reference,
        channels=channels,
        importances=ranked,
        training_rows=stacked.height,
        calibration=calibration,
        plots=plots,
        warnings=warnings,
    )
