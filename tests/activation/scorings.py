"""Scorings with known membership: segment members, summary and scores history of three moments, written as the
value step writes them (rows of an as_of replaced by a rerun)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.warehouse import Warehouse

T1 = dt.datetime(2026, 3, 1, 23, 0, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 3, 2, 23, 0, tzinfo=dt.UTC)
T3 = dt.datetime(2026, 3, 3, 23, 0, tzinfo=dt.UTC)


def key(i: int) -> str:
    return f"K{i:07d}"


# segment -> customer numbers, per scoring. Between T1 and T2: 5-9 move from high_value_at_risk to loyal, 20
# leaves (no longer scored), 30-31 are new in high_value_at_risk. Between T2 and T3: 5-6 come back to
# high_value_at_risk (a second spell), 0 moves to lost, 40 is new in loyal.
SCORINGS = {
    T1: {"high_value_at_risk": [*range(0, 10), 20], "loyal": list(range(10, 15))},
    T2: {"high_value_at_risk": [*range(0, 5), 30, 31], "loyal": list(range(5, 15))},
    T3: {"high_value_at_risk": [1, 2, 3, 4, 5, 6, 30, 31], "loyal": [*range(7, 15), 40], "lost": [0]},
}


MEMBER_SCHEMA = {
    "segment": pl.String,
    "customer_key": pl.String,
    "as_of": pl.Datetime("us", "UTC"),
    "run_id": pl.String,
}


def members_frame(segments: dict[str, list[int]], as_of: dt.datetime, run_id: str) -> pl.DataFrame:
    rows = [(name, key(i)) for name, numbers in segments.items() for i in numbers]
    return pl.DataFrame(
        {
            "segment": [name for name, _ in rows],
            "customer_key": [k for _, k in rows],
            "as_of": [as_of] * len(rows),
            "run_id": [run_id] * len(rows),
        },
        schema=MEMBER_SCHEMA,
    )


def clv_of(i: int, as_of: dt.datetime) -> float:
    """A CLV that differs by customer and by scoring, so the one at entry is told from the one now."""
    return 100.0 + i + as_of.day / 10


def write_scoring(wh: Warehouse, as_of: dt.datetime, run_id: str, segments: dict[str, list[int]]) -> None:
    """Publish one scoring as the value step does: members, summary and scores history of ``as_of``."""
    members = members_frame(segments, as_of, run_id)
    summary = members.group_by("segment", "as_of", "run_id").agg(pl.len().cast(pl.Int64).alias("customers"))
    numbers = sorted({i for listed in segments.values() for i in listed})
    history = pl.DataFrame(
        {
            "customer_key": [key(i) for i in numbers],
            "as_of": [as_of] * len(numbers),
            "clv": [clv_of(i, as_of) for i in numbers],
        },
        schema={"customer_key": pl.String, "as_of": pl.Datetime("us", "UTC"), "clv": pl.Float64},
    )
    with wh.transaction() as tx:
        tx.append("segment_members", members, replace={"as_of": as_of})
        tx.append("segment_summary", summary, replace={"as_of": as_of})
        tx.append("customer_scores_history", history, replace={"as_of": as_of})
