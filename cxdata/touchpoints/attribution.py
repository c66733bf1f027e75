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

import numpy as np
import polars as pl
import scipy.sparse as sp

from cxdata.errors import CxdataError
from cxdata.touchpoints.attribution_sums import attribute_partial, attribution_partial
from cxdata.touchpoints.journey_arrays import MODELS, VALUES, Journeys, journey_paths, runs
from cxdata.touchpoints.markov import (
    PathIncidence,
    conversion_probabilities,
    markov_removal_effects,
    removal_shares,
)
from cxdata.touchpoints.shapley import shapley_values

__all__ = ["MODELS", "attribute", "bootstrap_attribution", "markov_removal_effects", "shapley_values"]


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
    partial = attribution_partial(journeys, models=models, half_life_days=half_life_days)
    return attribute_partial(partial, models=models, shapley_exact_max=shapley_exact_max)


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
    data = Journeys(journeys)
    rng = np.random.default_rng(seed)
    n = data.journey_ids.size
    rows = np.flatnonzero(data.converted)
    starts, lengths = runs(data.journey[rows])
    values = data.values[rows[starts]]  # one row per converting journey with touches, by journey_id
    converting = np.searchsorted(data.journey_ids, data.journey[rows[starts]])
    credits = np.empty((replicates, data.size, len(VALUES)))
    if model == "markov":
        paths = journey_paths(data)
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
