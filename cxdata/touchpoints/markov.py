"""First-order Markov-chain attribution: removal effects solved exactly on the absorbing chain.

The chain's transient states are ``start`` and the touchpoints; ``conversion``
and ``null`` absorb. Transition probabilities are the counts of consecutive
pairs over all journeys (identical paths aggregated first), and the probability
of reaching ``conversion`` from ``start`` solves (I - Q) x = r with a sparse LU
(scipy.sparse.linalg.spsolve), no simulation. Removing a touchpoint sends every
transition into it to ``null``, which is zeroing its column of Q; the same
factorisation answers every removal (see ``conversion_probabilities``). The
right-hand side holds Q densely: size squared floats, fine up to thousands of
touchpoints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from cxdata.errors import CxdataError

START = 0  # state index of start; touchpoint k is state k + 1


@dataclass(frozen=True)
class PathIncidence:
    """Unique paths as the transitions they make, so any weighting of the paths yields transition counts.

    ``pair_from`` and ``pair_to`` list the distinct transitions between transient
    states (start -> first touch, touch -> next touch); ``transitions`` (sparse,
    pairs x paths) counts how often each path makes each of them, so the
    transition counts of a weighting w of the paths are ``transitions @ w``.
    ``last`` is each path's final state, the one that moves into ``conversion``
    or ``null``.
    """

    n_touchpoints: int
    pair_from: np.ndarray
    pair_to: np.ndarray
    transitions: sp.csr_matrix
    last: np.ndarray

    @property
    def n_states(self) -> int:
        return self.n_touchpoints + 1

    @staticmethod
    def from_codes(codes: pl.Series, n_touchpoints: int) -> PathIncidence:
        """Incidence of paths given as a list column of touchpoint codes 0..n_touchpoints-1 (none empty)."""
        lengths = codes.list.len().to_numpy().astype(np.int64)
        to = codes.explode().cast(pl.Int64).to_numpy() + 1
        path = np.repeat(np.arange(lengths.size), lengths)
        starts = np.cumsum(lengths) - lengths
        came_from = np.r_[START, to[:-1]] if to.size else to
        came_from[starts] = START
        size = n_touchpoints + 1
        pairs, pair_index = np.unique(came_from * size + to, return_inverse=True)
        transitions = sp.csr_matrix(
            (np.ones(to.size), (pair_index.ravel(), path)), shape=(pairs.size, lengths.size)
        )
        return PathIncidence(
            n_touchpoints=n_touchpoints,
            pair_from=pairs // size,
            pair_to=pairs % size,
            transitions=transitions,
            last=to[starts + lengths - 1],
        )


def conversion_probabilities(
    incidence: PathIncidence, conversions: np.ndarray, nulls: np.ndarray
) -> tuple[float, np.ndarray]:
    """P(conversion) of the chain and, per touchpoint, P(conversion) with that touchpoint removed.

    ``conversions`` and ``nulls`` are per path (weights of converting and
    non-converting journeys following it); a path's transitions count
    conversions + nulls times. One sparse LU solve gives both: removing state s
    zeroes column q_s of Q, a rank-one change of A = I - Q, so by
    Sherman-Morrison P(without s) = x0 - y[0, s] x[s] / (1 + y[s, s]) with
    x = A^-1 r and y = A^-1 Q (y >= 0, so the denominator is at least 1).
    """
    size = incidence.n_states
    counts = incidence.transitions @ (conversions + nulls)
    to_conversion = np.bincount(incidence.last, weights=conversions, minlength=size)
    to_null = np.bincount(incidence.last, weights=nulls, minlength=size)
    leaving = np.bincount(incidence.pair_from, weights=counts, minlength=size) + to_conversion + to_null
    inverse = np.divide(1.0, leaving, out=np.zeros(size), where=leaving > 0)
    q = sp.csc_matrix(
        (counts * inverse[incidence.pair_from], (incidence.pair_from, incidence.pair_to)), (size, size)
    )
    a = (sp.identity(size, format="csc") - q).tocsc()
    solved = spsolve(a, np.column_stack([to_conversion * inverse, q.toarray()]))
    x, y = solved[:, 0], solved[:, 1:]
    states = np.arange(1, size)
    without = x[START] - y[START, states] * x[states] / (1.0 + y[states, states])
    return float(x[START]), without


def removal_shares(baseline: float, without: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Removal effects 1 - P(without)/P and their shares of the summed effects (zeros when nothing converts)."""
    if baseline <= 0:
        return np.zeros_like(without), np.zeros_like(without)
    effect = np.clip(1.0 - without / baseline, 0.0, None)  # solver noise can dip a hair below 0
    total = effect.sum()
    share = effect / total if total > 0 else np.zeros_like(effect)
    return effect, share


def markov_removal_effects(paths: pl.DataFrame) -> pl.DataFrame:
    """Removal effect and share of each touchpoint of a first-order absorbing Markov chain over ``paths``.

    ``paths`` has ``path`` (list of touchpoint labels, in order), ``conversions``
    (number of converting journeys with that path) and ``nulls`` (number of
    non-converting ones); empty paths are ignored. Returns one row per touchpoint
    (sorted) with removal_effect = 1 - P(conversion without it) / P(conversion),
    share = removal_effect / sum of removal effects, and the chain's baseline
    ``p_conversion`` (the same on every row) beside ``p_without``, P(conversion)
    with the touchpoint removed. Credit a total with ``share * total``.
    """
    missing = [c for c in ("path", "conversions", "nulls") if c not in paths.columns]
    if missing:
        raise CxdataError(f"markov paths: missing column(s) {missing}; the frame has {paths.columns}")
    paths = paths.filter(pl.col("path").list.len() > 0)
    labels = paths["path"].explode().drop_nulls().unique().sort()
    if labels.len() == 0:
        return pl.DataFrame(
            schema={
                "touchpoint": pl.String,
                "removal_effect": pl.Float64,
                "share": pl.Float64,
                "p_conversion": pl.Float64,
                "p_without": pl.Float64,
            }
        )
    lookup = pl.DataFrame({"__label": labels, "__code": pl.int_range(labels.len(), eager=True, dtype=pl.UInt32)})
    codes = (
        paths.select(pl.col("path").alias("__label"))
        .with_row_index("__path")
        .explode("__label")
        .join(lookup, on="__label", how="left", maintain_order="left")
        .group_by("__path", maintain_order=True)
        .agg("__code")
    )["__code"]
    incidence = PathIncidence.from_codes(codes, labels.len())
    baseline, without = conversion_probabilities(
        incidence,
        paths["conversions"].cast(pl.Float64).to_numpy(),
        paths["nulls"].cast(pl.Float64).to_numpy(),
    )
    effect, share = removal_shares(baseline, without)
    return pl.DataFrame(
        {
            "touchpoint": labels,
            "removal_effect": effect,
            "share": share,
            "p_conversion": np.full(labels.len(), baseline),
            "p_without": without,
        }
    )
