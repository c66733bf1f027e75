"""Expected purchases from Poisson gradient boosting on stacked cutoffs, extended in time by a BTYD model.

Target: each customer's repeat purchases in the ``window`` after a cutoff, counted as the holdout counts
them (distinct periods with a kept order). Features: the churn features at the cutoff
(`cxdata.churn.features.build_features`: RFM, the BTYD columns of a BG/NBD fitted on the orders up to
the cutoff, and service, web and marketing features when the project has those tables), with the
features' horizon set to the window. Every training row is a genuine forecast: features from the data
up to its cutoff, the target after it. Model: scikit-learn's HistGradientBoostingRegressor(loss="poisson"),
log link, early stopping on a seeded tenth of the *customers*: a customer's rows at neighbouring cutoffs
are near copies (the same history a month apart, overlapping windows), so a tenth of the rows would
validate on the training data and never stop.

BTYD is a feature, not a Poisson offset. An offset from the BG/NBD fitted at each cutoff carried the bias
of the early, short-history fits forward to later cutoffs that no longer had it; an offset from the BTYD
model fitted at the prediction moment has seen every training window, so the ratio learnt is about 1 by
construction and cannot learn that model's forecasting bias (the commit has the comparison).

Window and cutoffs (`plan`): the evaluation may train only on cutoffs whose windows end by the
calibration end. The window is the holdout's length (or ``window_days`` when shorter), shortened when
needed so that ``min_cutoffs`` cutoffs, ``cutoff_step_days`` apart, each with ``min_history_days`` of
orders before it, fit before the calibration end. The final model uses the same window, with cutoffs
whose windows end by as_of: so the procedure the holdout measured is the one that scores.

Extension: a window shorter than what is predicted (the holdout in the evaluation, ``horizon_days`` in
scoring) is extended with the BTYD model the boosted one sits on (its "base": the BTYD candidate the
holdout rule chooses), per customer: expected purchases by day t are the boosted window's times the
base's own expected purchases by t over those by the end of the window
(`cxdata.clv.score.time_profile`). The boosted model sets the level, the base the shape in time and
P(alive); the discounting of `cxdata.clv.score` works on that cumulative curve unchanged.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import polars as pl
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from cxdata.churn.features import ChurnInputs, Population, build_features, feature_names
from cxdata.churn.reads import sampled_inputs
from cxdata.churn.train import matrix
from cxdata.clv.rfm import period_expr
from cxdata.config import ChurnConfig, ClvConfig

MODEL_NAME = "boosted_poisson"
SETTINGS = ("loss", "max_iter", "learning_rate", "min_samples_leaf", "l2_regularization", "random_state")
# a window shorter than four weeks holds too few repeat purchases to learn from
MIN_WINDOW_DAYS = 28


class NoPlan(ValueError):
    """The order history is too short for training cutoffs whose windows end by the calibration end."""


@dataclass(frozen=True)
class Plan:
    """The window and the training cutoffs of the evaluation (windows end by its calibration end) and of the
    final model (windows end by as_of)."""

    window_days: int
    evaluation: list[dt.datetime]
    final: list[dt.datetime]


def plan(first_order: dt.datetime, calibration_end: dt.datetime, as_of: dt.datetime, config: ClvConfig) -> Plan:
    """The window and cutoffs (see the module doc); raises `NoPlan` when not even the shortest window fits."""
    boost = config.boosted
    step = boost.cutoff_step_days
    earliest = first_order + dt.timedelta(days=boost.min_history_days)
    room = (calibration_end - earliest).days - (boost.min_cutoffs - 1) * step
    window = min(config.holdout_days, boost.window_days or config.holdout_days, room)
    if window < MIN_WINDOW_DAYS:
        raise NoPlan(
            f"orders start {first_order:%Y-%m-%d}: {boost.min_cutoffs} cutoffs {step} days apart with "
            f"{boost.min_history_days} days of history and a window of {MIN_WINDOW_DAYS}+ days do not fit "
            f"before the calibration end {calibration_end:%Y-%m-%d}"
        )

    def stack(end: dt.datetime) -> list[dt.datetime]:
        latest = end - dt.timedelta(days=window)
        cutoffs = (latest - dt.timedelta(days=k * step) for k in range(boost.cutoffs))
        return [c for c in cutoffs if c >= earliest]

    return Plan(window, stack(calibration_end), stack(as_of))


def feature_config(config: ClvConfig, window_days: int) -> ChurnConfig:
    """The churn feature settings of a boosted fit: horizon = the window, the CLV seed, churn's defaults else."""
    return ChurnConfig(horizon_days=window_days, seed=config.seed)


def window_purchases(orders: pl.LazyFrame, cutoff: dt.datetime, window_days: int, period: str) -> pl.LazyFrame:
    """Per customer with a purchase in ``(cutoff, cutoff + window_days]``: distinct periods with one."""
    at = pl.col("ordered_at")
    end = cutoff + dt.timedelta(days=window_days)
    return (
        orders.filter((at > pl.lit(cutoff)) & (at <= pl.lit(end)))
        .group_by("customer_key")
        .agg(period_expr("ordered_at", period).n_unique().cast(pl.Float64).alias("window_purchases"))
    )


def labelled(
    inputs: ChurnInputs,
    cutoff: dt.datetime,
    window_days: int,
    config: ClvConfig,
    channels: list[str],
) -> pl.DataFrame:
    """Features at ``cutoff`` with ``window_purchases``, the target of the window after it (0 when none)."""
    target = window_purchases(inputs.orders, cutoff, window_days, config.period).collect()
    features = build_features(inputs, cutoff, feature_config(config, window_days), channels)
    return features.join(target, on="customer_key", how="left").with_columns(
        pl.col("window_purchases").fill_null(0.0)
    )


@dataclass
class BoostedFit:
    """A fitted boosted model and what it needs to predict: its features, channels, window and cutoffs."""

    model: HistGradientBoostingRegressor
    features: list[str]
    channels: list[str]
    window_days: int
    cutoffs: list[dt.datetime]
    training_rows: int
    seconds: float

    def predict(
        self, inputs: ChurnInputs, at: dt.datetime, config: ClvConfig, population: Population | None = None
    ) -> pl.DataFrame:
        """customer_key and ``boosted_purchases``: expected purchases in the window after ``at``, for every
        customer with a kept order at or before it (features with ``population``, `build_features`)."""
        features = feature_config(config, self.window_days)
        frame = build_features(inputs, at, features, self.channels, population)
        with threadpool_limits(1, user_api="openmp"):
            expected = self.model.predict(matrix(frame, self.features))
        return frame.select("customer_key").with_columns(pl.Series("boosted_purchases", expected))

    def params(self) -> dict[str, Any]:
        """What the model run records: settings, trees grown, window, cutoffs, rows, features and fit time."""
        return {
            **{k: v for k, v in self.model.get_params().items() if k in SETTINGS},
            "n_iter": int(self.model.n_iter_),
            "window_days": self.window_days,
            "cutoffs": [c.isoformat() for c in self.cutoffs],
            "training_rows": self.training_rows,
            "features": self.features,
            "fit_seconds": round(self.seconds, 3),
        }


def fit_boosted(
    inputs: ChurnInputs,
    config: ClvConfig,
    cutoffs: list[dt.datetime],
    window_days: int,
    channels: list[str],
) -> BoostedFit:
    """Fit on the stacked cutoffs (see the module doc), on a seeded sample of the customers when all of them
    would stack beyond ``boosted.max_train_rows`` rows (`cxdata.churn.features.sampled_inputs`)."""
    began = time.perf_counter()
    boost = config.boosted
    inputs = sampled_inputs(inputs, boost.max_train_rows // len(cutoffs), config.seed)
    frames = [labelled(inputs, c, window_days, config, channels) for c in cutoffs]
    stacked = pl.concat(frames, how="diagonal_relaxed")
    names = feature_names(stacked.drop("window_purchases"))
    X, y = matrix(stacked, names), stacked["window_purchases"].to_numpy()
    held = stacked["customer_key"].unique().sort().sample(fraction=0.1, seed=config.seed)
    val = stacked["customer_key"].is_in(held.implode()).to_numpy()
    model = HistGradientBoostingRegressor(
        loss="poisson",
        max_iter=boost.max_iter,
        learning_rate=boost.learning_rate,
        min_samples_leaf=boost.min_samples_leaf,
        l2_regularization=boost.l2_regularization,
        early_stopping=bool(val.any() and not val.all()),
        random_state=config.seed,
    )
    # one thread: OpenMP workers spin-wait, and beside other work on two cores a 70,000-row fit took
    # 23 times longer on two threads than on one (see the commit)
    with threadpool_limits(1, user_api="openmp"):
        if model.early_stopping:
            model.fit(X[~val], y[~val], X_val=X[val], y_val=y[val])
        else:
            model.fit(X, y)
    seconds = time.perf_counter() - began
    return BoostedFit(model, names, channels, window_days, cutoffs, stacked.height, seconds)
