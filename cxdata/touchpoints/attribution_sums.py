"""Attribution split by customer: what a shard's journeys contribute to every model, and the credit from the
summed contributions (`cxdata.touchpoints.attribution.attribute` is the one-shard case).

A journey belongs to one customer, and every model's credit is a function of sums over journeys keyed by
touchpoint labels, never by a shard's own numbering: the heuristic models' credit per touchpoint, the
converting journeys' values per set of touchpoints (Shapley's game), the converting and null journeys per
path (Markov's chain) and the value totals. Shards' partials add up (``+``) to the partial of all journeys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from cxdata.touchpoints.journey_arrays import MODELS, RESULT_SCHEMA, VALUES, Journeys, journey_paths, runs
from cxdata.touchpoints.markov import PathIncidence, conversion_probabilities, removal_shares
from cxdata.touchpoints.shapley import MAX_EXACT_PLAYERS, set_game_shapley

RULES = ("first_touch", "last_touch", "linear", "time_decay")
_SUMS = [pl.col(v).sum() for v in VALUES]


@dataclass
class AttributionPartial:
    """The sums of some customers' journeys: touchpoint labels (sorted), heuristic credit (model, touchpoint,
    values), converting values per touchpoint set (touchpoints: sorted list), journeys per path (path: list,
    conversions, nulls) and value totals of converting journeys with and without touches."""

    labels: list[str]
    rules: pl.DataFrame
    sets: pl.DataFrame
    paths: pl.DataFrame
    touched: np.ndarray
    untouched: np.ndarray

    def __add__(self, other: AttributionPartial) -> AttributionPartial:
        return AttributionPartial(
            labels=sorted(set(self.labels) | set(other.labels)),
            rules=pl.concat([self.rules, other.rules]).group_by("model", "touchpoint").agg(_SUMS),
            sets=pl.concat([self.sets, other.sets]).group_by("touchpoints").agg(_SUMS),
            paths=pl.concat([self.paths, other.paths]).group_by("path").agg(pl.col("conversions", "nulls").sum()),
            touched=self.touched + other.touched,
            untouched=self.untouched + other.untouched,
        )


def attribution_partial(
    journeys: pl.LazyFrame | pl.DataFrame, *, models: Sequence[str] = MODELS, half_life_days: float = 7.0
) -> AttributionPartial:
    """The sums of ``journeys`` (`cxdata.touchpoints.journeys.build_journeys`) that ``models`` need."""
    data = Journeys(journeys)
    labels = data.labels
    rules = []
    for model in (m for m in models if m in RULES):
        rows, weight = data.touch_weights(model, half_life_days)
        credit = {
            v: np.bincount(data.code[rows], weights=weight * data.values[rows, i], minlength=data.size)
            for i, v in enumerate(VALUES)
        }
        rules.append(pl.DataFrame({"model": model, "touchpoint": labels, **credit}))
    rows = np.flatnonzero(data.converted)
    starts, _ = runs(data.journey[rows])
    values = data.values[rows[starts]]
    sets = (
        pl.DataFrame({"journey": data.journey[rows], "touchpoint": labels.gather(data.code[rows])})
        .group_by("journey", maintain_order=True)
        .agg(pl.col("touchpoint").unique().sort().alias("touchpoints"))
        .with_columns(pl.Series(v, values[:, i], dtype=pl.Float64) for i, v in enumerate(VALUES))
        .group_by("touchpoints")
        .agg(_SUMS)
    )
    path_schema = {"path": pl.List(pl.String), "conversions": pl.Float64, "nulls": pl.Float64}
    paths = pl.DataFrame(schema=path_schema)
    if data.code.size:
        found = journey_paths(data)
        named = found.codes.list.eval(
            pl.element().replace_strict(list(range(data.size)), labels.to_list(), return_dtype=pl.String)
        )
        paths = pl.DataFrame({"path": named, "conversions": found.conversions, "nulls": found.nulls})
    totals = [np.array([t[v] for v in VALUES]) for t in (data.totals(touched=True), data.totals(touched=False))]
    rule_schema = {"model": pl.String, "touchpoint": pl.String, **dict.fromkeys(VALUES, pl.Float64)}
    return AttributionPartial(
        labels=labels.to_list(),
        rules=pl.concat([pl.DataFrame(schema=rule_schema), *(r.cast(rule_schema) for r in rules)]),
        sets=sets,
        paths=paths,
        touched=totals[0],
        untouched=totals[1],
    )


def attribute_partial(
    partial: AttributionPartial, *, models: Sequence[str] = MODELS, shapley_exact_max: int = 12
) -> pl.DataFrame:
    """Every model's credit from the summed partial of all journeys (`cxdata.touchpoints.attribution.attribute`
    says what the models and rows are)."""
    labels, size = partial.labels, len(partial.labels)
    unattributed = dict(zip(VALUES, partial.untouched.tolist(), strict=True))
    parts = []
    for model in models:
        removal = None
        if model == "markov":
            credit, removal = _markov(partial)
        elif model == "shapley":
            credit = _shapley(partial, exact=size <= min(shapley_exact_max, MAX_EXACT_PLAYERS))
        else:
            credit = (
                pl.DataFrame({"touchpoint": labels}, schema={"touchpoint": pl.String})
                .join(partial.rules.filter(pl.col("model") == model), on="touchpoint", how="left")
                .select(pl.col(v).fill_null(0.0) for v in VALUES)
                .to_numpy()
                .reshape(size, len(VALUES))
            )
        parts.append(model_rows(model, labels, credit, removal, unattributed))
    if not parts:
        return pl.DataFrame(schema=RESULT_SCHEMA)
    return pl.concat(parts, how="vertical")


def _codes(lists: pl.Series, labels: list[str]) -> pl.Series:
    return lists.list.eval(pl.element().replace_strict(labels, range(len(labels)), return_dtype=pl.Int64))


def _markov(partial: AttributionPartial) -> tuple[np.ndarray, np.ndarray]:
    """Credit (size x values) and removal effects of the first-order chain over all journeys with touches."""
    size = len(partial.labels)
    if partial.paths.height == 0:
        return np.zeros((size, len(VALUES))), np.zeros(size)
    # one order of the paths whatever the shards
    paths = partial.paths.sort(pl.col("path").list.join("\x1f"))
    incidence = PathIncidence.from_codes(_codes(paths["path"], partial.labels), size)
    counts = paths["conversions"].to_numpy(), paths["nulls"].to_numpy()
    baseline, without = conversion_probabilities(incidence, *counts)
    effect, share = removal_shares(baseline, without)
    return share[:, None] * partial.touched[None, :], effect


def _shapley(partial: AttributionPartial, exact: bool) -> np.ndarray:
    """Shapley credit (size x values): by enumerating every coalition, or by its equal-split closed form."""
    size = len(partial.labels)
    sets = partial.sets.sort(pl.col("touchpoints").list.join("\x1f"))
    values = sets.select(VALUES).to_numpy()
    codes = _codes(sets["touchpoints"], partial.labels)
    lengths = codes.list.len().to_numpy().astype(np.int64)
    flat = codes.explode().to_numpy()
    if exact:
        bits = np.left_shift(np.int64(1), flat.astype(np.int64))
        masks = np.add.reduceat(bits, np.cumsum(lengths) - lengths) if flat.size else np.zeros(0, np.int64)
        set_values = np.zeros((1 << size, len(VALUES)))
        for i in range(len(VALUES)):
            set_values[:, i] = np.bincount(masks, weights=values[:, i], minlength=1 << size)
        return set_game_shapley(set_values, size)
    # each converting journey's value split equally over its distinct touchpoints
    share = np.repeat(values / np.maximum(lengths, 1)[:, None], lengths, axis=0)
    credit = np.column_stack([np.bincount(flat, weights=share[:, i], minlength=size) for i in range(len(VALUES))])
    return credit.reshape(size, len(VALUES))


def model_rows(
    model: str, labels: list[str], credit: np.ndarray, removal: np.ndarray | None, unattributed: dict[str, float]
) -> pl.DataFrame:
    """The model's rows: every touchpoint's credit (size x values), then the unattributed row."""
    size = len(labels)
    if removal is not None:
        share = removal / removal.sum() if removal.sum() > 0 else np.zeros(size)
    else:
        total = credit[:, 0].sum()
        share = credit[:, 0] / total if total > 0 else np.zeros(size)
    rows = pl.DataFrame(
        {
            "model": [model] * size,
            "touchpoint": labels,
            **{v: credit[:, i] for i, v in enumerate(VALUES)},
            "removal_effect": removal if removal is not None else [None] * size,
            "share": share,
        },
        schema=RESULT_SCHEMA,
    )
    rest = pl.DataFrame(
        {"model": [model], "touchpoint": [None], **{v: [unattributed[v]] for v in VALUES}},
        schema={k: RESULT_SCHEMA[k] for k in ("model", "touchpoint", *VALUES)},
    )
    return pl.concat([rows, rest], how="diagonal")
