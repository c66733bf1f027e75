"""Journeys as numpy arrays for the attribution models (`cxdata.touchpoints.attribution`): touch rows by
journey and step, one row per journey, and the unique paths with their counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from cxdata.errors import CxdataError

MODELS = ("first_touch", "last_touch", "linear", "time_decay", "markov", "shapley")
VALUES = ("conversions", "revenue", "clv")
REQUIRED = ("journey_id", "step", "touchpoint", "converted", *VALUES)
RESULT_SCHEMA = {
    "model": pl.String,
    "touchpoint": pl.String,
    "conversions": pl.Float64,
    "revenue": pl.Float64,
    "clv": pl.Float64,
    "removal_effect": pl.Float64,
    "share": pl.Float64,
}


def runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start index and length of each run of equal values in ``keys``."""
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return starts, np.diff(np.r_[starts, keys.size])


class Journeys:
    """The journeys collected once as numpy arrays: touch rows (by journey and step) and one row per journey."""

    def __init__(self, journeys: pl.LazyFrame | pl.DataFrame) -> None:
        lazy = journeys.lazy()
        present = lazy.collect_schema().names()
        missing = [c for c in REQUIRED if c not in present]
        if missing:
            raise CxdataError(f"journeys: missing column(s) {missing}; the frame has {present}")
        timed = "occurred_at" in present
        frame = lazy.select(*REQUIRED, *(["occurred_at"] if timed else [])).collect()
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
        starts, _ = runs(frame["journey_id"].to_numpy())
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
        starts, lengths = runs(self.journey[rows])
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


@dataclass(frozen=True)
class Paths:
    """Unique paths (consecutive repeats merged) with their converting and null journey counts."""

    codes: pl.Series  # list of touchpoint codes per unique path
    conversions: np.ndarray
    nulls: np.ndarray
    journeys: np.ndarray  # ids of the journeys with touches, ascending
    path_of: np.ndarray  # each one's path index
    converted: np.ndarray  # whether it converted


def journey_paths(data: Journeys) -> Paths:
    """The unique paths of the journeys with touches (consecutive repeats merged) and their counts."""
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
    return Paths(
        codes=paths["path"],
        conversions=paths["conversions"].to_numpy(),
        nulls=paths["nulls"].to_numpy(),
        journeys=per_journey["journey"].to_numpy(),
        path_of=members["path_id"].to_numpy(),
        converted=per_journey["converted"].to_numpy(),
    )
