"""Attribution models: which touchpoints earn the conversions, revenue and acquired CLV of the journeys.

Every model reads the journeys of ``cxdata.touchpoints.journeys.build_journeys``
and credits three values of converting journeys: conversions, revenue and clv
(the CLV of customers acquired by a first order). Heuristic baselines split each
journey's value over its own touches (first touch, last touch, linear, time
decay). The Markov model (``cxdata.touchpoints.markov``) shares the totals by
removal effects of a first-order chain over all journeys, converting or not:
one share vector, from the journey counts, is applied to each of the three
totals (the standard removal-effect attribution; a value-weighted chain would
need one chain per value). The Shapley model (``cxdata.touchpoints.shapley``)
credits each value by the Shapley value of the game v(S) = value of the
converting journeys whose touchpoint set lies within S, solved per value.

Converting journeys without any touch (an order with nothing in its lookback)
earn credit for no touchpoint: ``attribute`` reports them in one row per model
whose touchpoint is null, so every model's rows add up to the totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from cxdata.errors import CxdataError
from cxdata.touchpoints.markov import (
    PathIncidence,
    conversion_probabilities,
    markov_removal_effects,
    removal_shares,
)
from cxdata.touchpoints.shapley import MAX_EXACT_PLAYERS, set_game_shapley, shapley_values

__all__ = ["MODELS", "attribute", "bootstrap_attribution", "markov_removal_effects", "shapley_values"]

MODELS = ("first_touch", "last_touch", "linear", "time_decay", "markov", "shapley")
VALUES = ("conversions", "revenue", "clv")
_REQUIRED = ("journey_id", "step", "touchpoint", "converted", *VALUES)
_RESULT_SCHEMA = {
    "model": pl.String,
    "touchpoint": pl.String,
    "conversions": pl.Float64,
    "revenue": pl.Float64,
    "clv": pl.Float64,
    "removal_effect": pl.Float64,
    "share": pl.Float64,
}


def attribute(
    journeys: pl.LazyFrame | pl.DataFrame,
    *,
    models: Sequence[str] = MODELS,
    half_life_days: float = 7.0,
    shapley_exact_max: int = 12,
) -> pl.DataFrame:
    """Credit of every touchpoint under each model: one row per model and touchpoint, plus an unattributed row.

    Columns: model, touchpoint, conversions, revenue, clv (credited sums),
    removal_effect (markov rows only, else null) and share (the touchpoint's share
    of the attributed conversions; for markov its share of the removal effects).
    Each model has a row for every touchpoint of the journeys (0 when it earns
    nothing) and one row with a null touchpoint holding the converting journeys
    without touches, so each model's rows sum to the totals of all conversions.

    Models: first_touch / last_touch (all to the first / last touch), linear
    (equal parts per touch), time_decay (touch weight 2^(-days before the order /
    half_life_days), normalised per journey: only the times between touches
    matter, so the order time is not needed), markov (removal effects;
    consecutive repeats of a touchpoint are one state visit, which leaves
    first-order removal effects unchanged), shapley (exact enumeration of the 2^n
    coalitions up to ``shapley_exact_max`` touchpoints, the equal-split closed
    form of the same game above it).
    """
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise CxdataError(f"unknown attribution model(s) {unknown}; known: {list(MODELS)}")
    data = _Journeys(journeys)
    unattributed = data.totals(touched=False)
    parts = []
    for model in models:
        removal = None
        if model == "markov":
            credit, removal = _markov_credit(data)
        elif model == "shapley" and data.size <= min(shapley_exact_max, MAX_EXACT_PLAYERS):
            credit = _exact_shapley_credit(data)
        else:
            rows, weight = data.touch_weights(model, half_life_days)
            credit = np.column_stack(
                [
                    np.bincount(data.code[rows], weights=weight * data.values[rows, i], minlength=data.size)
                    for i in range(len(VALUES))
                ]
            ).reshape(data.size, len(VALUES))
        parts.append(data.result(model, credit, removal, unattributed))
    if not parts:
        return pl.DataFrame(schema=_RESULT_SCHEMA)
    return pl.concat(parts, how="vertical")


def bootstrap_attribution(
    journeys: pl.LazyFrame | pl.DataFrame,
    *,
    model: str = "markov",
    replicates: int = 200,
    seed: int = 0,
    half_life_days: float = 7.0,
) -> pl.DataFrame:
    """One model's credits on bootstrap resamples of journeys: replicate, touchpoint, conversions, revenue, clv.

    The classical bootstrap over every journey: each replicate draws n of the n
    journeys with replacement, as one vector of n random integers counted by
    journey (no loop over journeys), and recomputes the model with those counts
    as weights: per-path converting and null counts for markov, per-journey
    weights on each journey's credit split for the other models. Shapley uses
    its equal-split closed form (identical to the enumeration). Only touchpoints
    are returned, not the unattributed row.
    Reproducible for a given ``seed``.
    """
    if model not in MODELS:
        raise CxdataError(f"unknown attribution model {model!r}; known: {list(MODELS)}")
    if replicates < 1:
        raise CxdataError(f"replicates must be at least 1, got {replicates}")
    data = _Journeys(journeys)
    rng = np.random.default_rng(seed)
    n = data.journey_ids.size
    rows = np.flatnonzero(data.converted)
    starts, lengths = _runs(data.journey[rows])
    values = data.values[rows[starts]]  # one row per converting journey with touches, by journey_id
    converting = np.searchsorted(data.journey_ids, data.journey[rows[starts]])
    credits = np.empty((replicates, data.size, len(VALUES)))
    if model == "markov":
        paths = _paths(data)
        incidence = PathIncidence.from_codes(paths.codes, data.size)
        on_path = np.searchsorted(data.journey_ids, paths.journeys)
        for b in range(replicates):
            drawn = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
            w = drawn[on_path]
            conversions = np.bincount(paths.path_of, weights=w * paths.converted, minlength=paths.codes.len())
            nulls = np.bincount(paths.path_of, weights=w * ~paths.converted, minlength=paths.codes.len())
            _, share = removal_shares(*conversion_probabilities(incidence, conversions, nulls))
            credits[b] = share[:, None] * (drawn[converting] @ values)[None, :]
    else:
        weighted, weight = data.touch_weights("shapley_split" if model == "shapley" else model, half_life_days)
        # weighted rows are a subset of the converting rows, in order: find each one's journey
        journey_of_row = np.repeat(np.arange(starts.size), lengths)[np.searchsorted(rows, weighted)]
        matrix = sp.csr_matrix((weight, (data.code[weighted], journey_of_row)), shape=(data.size, starts.size))
        for b in range(replicates):
            drawn = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
            credits[b] = matrix @ (values * drawn[converting][:, None])
    return pl.DataFrame(
        {
            "replicate": np.repeat(np.arange(replicates, dtype=np.int64), data.size),
            "touchpoint": pl.Series(np.tile(data.labels.to_numpy(), replicates), dtype=pl.String),
            **{v: credits[:, :, i].ravel() for i, v in enumerate(VALUES)},
        }
    )


def _runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start index and length of each run of equal values in ``keys``."""
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return starts, np.diff(np.r_[starts, keys.size])


class _Journeys:
    """The journeys collected once as numpy arrays: touch rows (by journey and step) and one row per journey."""

    def __init__(self, journeys: pl.LazyFrame | pl.DataFrame) -> None:
        lazy = journeys.lazy()
        present = lazy.collect_schema().names()
        missing = [c for c in _REQUIRED if c not in present]
        if missing:
            raise CxdataError(f"journeys: missing column(s) {missing}; the frame has {present}")
        timed = "occurred_at" in present
        frame = lazy.select(*_REQUIRED, *(["occurred_at"] if timed else [])).collect()
        # build_journeys returns journeys in order; checking is linear, sorting is not
        step_back = (pl.col("journey_id").diff() < 0) | (
            (pl.col("journey_id").diff() == 0) & (pl.col("step").diff() <= 0)
        )
        if frame.select(step_back.fill_null(False).any()).item():
            frame = frame.sort("journey_id", "step")
        self.labels = frame["touchpoint"].drop_nulls().unique().sort()
        self.size = self.labels.len()
        values = frame.select(pl.col(v).cast(pl.Float64).fill_null(0.0) for v in VALUES).to_numpy()
        converted = frame["converted"].fill_null(False).to_numpy()
        touched = frame["touchpoint"].is_not_null().to_numpy()
        starts, _ = _runs(frame["journey_id"].to_numpy())
        self.journey_ids = frame["journey_id"].to_numpy()[starts]
        self.journey_converted = converted[starts]
        self.journey_values = values[starts]
        self.journey_touched = np.logical_or.reduceat(touched, starts) if starts.size else np.zeros(0, bool)
        # touch rows: the ones models credit and chains walk
        self.journey = frame["journey_id"].to_numpy()[touched]
        self.code = (
            frame["touchpoint"].filter(touched).cast(pl.Enum(self.labels)).to_physical().cast(pl.Int64).to_numpy()
        )
        self.converted = converted[touched]
        self.values = values[touched]
        self.days = (
            frame["occurred_at"].filter(touched).dt.epoch("us").cast(pl.Float64).to_numpy() / 86_400e6
            if timed
            else None
        )

    def totals(self, *, touched: bool) -> dict[str, float]:
        """Value totals of converting journeys with (``touched``) or without touches."""
        picked = self.journey_converted & (self.journey_touched == touched)
        sums = self.journey_values[picked].sum(axis=0)
        return {v: float(sums[i]) for i, v in enumerate(VALUES)}

    def touch_weights(self, model: str, half_life_days: float) -> tuple[np.ndarray, np.ndarray]:
        """Converting touch rows and their weights: each journey's credit split over its touches (summing to 1)."""
        rows = np.flatnonzero(self.converted)
        starts, lengths = _runs(self.journey[rows])
        if rows.size == 0:
            return rows, np.zeros(0)
        if model == "first_touch":
            weight = np.zeros(rows.size)
            weight[starts] = 1.0
        elif model == "last_touch":
            weight = np.zeros(rows.size)
            weight[starts + lengths - 1] = 1.0
        elif model == "linear":
            weight = np.repeat(1.0 / lengths, lengths)
        elif model == "time_decay":
            if half_life_days <= 0:
                raise CxdataError(f"half_life_days must be positive, got {half_life_days!r}")
            if self.days is None or np.isnan(self.days[rows]).any():
                raise CxdataError("time_decay needs occurred_at on every touch of the journeys")
            days = self.days[rows]
            # relative to the journey's last touch, so the largest weight is 1 and the sum cannot underflow
            latest = np.maximum.reduceat(days, starts)
            raw = np.exp2((days - np.repeat(latest, lengths)) / half_life_days)
            weight = raw / np.repeat(np.add.reduceat(raw, starts), lengths)
        elif model in ("shapley", "shapley_split"):
            # Shapley value of the subset game: each journey's value split equally over its distinct touchpoints
            _, first = np.unique(self.journey[rows] * max(self.size, 1) + self.code[rows], return_index=True)
            distinct = np.zeros(rows.size)
            distinct[first] = 1.0
            weight = distinct / np.repeat(np.add.reduceat(distinct, starts), lengths)
        else:
            raise CxdataError(f"no touch weights for model {model!r}")
        return rows, weight

    def result(
        self, model: str, credit: np.ndarray, removal: np.ndarray | None, unattributed: dict[str, float]
    ) -> pl.DataFrame:
        """The model's rows: every touchpoint's credit (size x values), then the unattributed row."""
        if removal is not None:
            share = removal / removal.sum() if removal.sum() > 0 else np.zeros(self.size)
        else:
            total = credit[:, 0].sum()
            share = credit[:, 0] / total if total > 0 else np.zeros(self.size)
        rows = pl.DataFrame(
            {
                "model": [model] * self.size,
                "touchpoint": self.labels,
                **{v: credit[:, i] for i, v in enumerate(VALUES)},
                "removal_effect": removal if removal is not None else [None] * self.size,
                "share": share,
            },
            schema=_RESULT_SCHEMA,
        )
        rest = pl.DataFrame(
            {"model": [model], "touchpoint": [None], **{v: [unattributed[v]] for v in VALUES}},
            schema={k: _RESULT_SCHEMA[k] for k in ("model", "touchpoint", *VALUES)},
        )
        return pl.concat([rows, rest], how="diagonal")


def _exact_shapley_credit(data: _Journeys) -> np.ndarray:
    """Shapley credit by enumerating every coalition of touchpoints (2**size of them)."""
    rows = np.flatnonzero(data.converted)
    starts, _ = _runs(data.journey[rows])
    set_values = np.zeros((1 << data.size, len(VALUES)))
    if rows.size:
        masks = np.bitwise_or.reduceat(np.left_shift(np.int64(1), data.code[rows]), starts)
        for i in range(len(VALUES)):
            set_values[:, i] = np.bincount(masks, weights=data.values[rows[starts], i], minlength=1 << data.size)
    return set_game_shapley(set_values, data.size)


@dataclass(frozen=True)
class _Paths:
    """Unique paths (consecutive repeats merged) with their converting and null journey counts."""

    codes: pl.Series  # list of touchpoint codes per unique path
    conversions: np.ndarray
    nulls: np.ndarray
    journeys: np.ndarray  # ids of the journeys with touches, ascending
    path_of: np.ndarray  # each one's path index
    converted: np.ndarray  # whether it converted


def _paths(data: _Journeys) -> _Paths:
    journey, code = data.journey, data.code
    new_state = np.r_[True, (journey[1:] != journey[:-1]) | (code[1:] != code[:-1])] if code.size else []
    per_journey = (
        pl.DataFrame({"journey": journey, "code": code, "converted": data.converted})
        .filter(pl.Series(new_state, dtype=pl.Boolean))
        .group_by("journey", maintain_order=True)
        .agg(pl.col("code").alias("path"), pl.col("converted").first())
    )
    paths = per_journey.group_by("path", maintain_order=True).agg(
        pl.col("converted").sum().cast(pl.Float64).alias("conversions"),
        (~pl.col("converted")).sum().cast(pl.Float64).alias("nulls"),
        pl.col("journey").alias("members"),
    )
    members = (
        paths.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("path_id"), "members")
        .explode("members")
        .sort("members")
    )
    return _Paths(
        codes=paths["path"],
        conversions=paths["conversions"].to_numpy(),
        nulls=paths["nulls"].to_numpy(),
        journeys=per_journey["journey"].to_numpy(),
        path_of=members["path_id"].to_numpy(),
        converted=per_journey["converted"].to_numpy(),
    )


def _markov_credit(data: _Journeys) -> tuple[np.ndarray, np.ndarray]:
    """Credit (size x values) and removal effects of the first-order chain over all journeys with touches."""
    if data.code.size == 0:
        return np.zeros((data.size, len(VALUES))), np.zeros(data.size)
    paths = _paths(data)
    incidence = PathIncidence.from_codes(paths.codes, data.size)
    baseline, without = conversion_probabilities(incidence, paths.conversions, paths.nulls)
    effect, share = removal_shares(baseline, without)
    totals = data.totals(touched=True)
    return share[:, None] * np.array([totals[v] for v in VALUES])[None, :], effect
