"""Features at a cutoff do not move when anything after the cutoff changes."""

from __future__ import annotations

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

from cxdata.churn.features import ChurnInputs, build_features
from cxdata.config import ChurnConfig
from cxdata.synth.facts import churn_inputs

TIMES = {
    "orders": "ordered_at",
    "tickets": "opened_at",
    "surveys": "responded_at",
    "sessions": "started_at",
    "touches": "occurred_at",
}


def _mutate(frame: pl.LazyFrame, time: str, cutoff: dt.datetime, end: dt.datetime) -> pl.LazyFrame:
    """Rows after the cutoff: times shifted (kept after it), numbers scaled, and a copy of them added again."""
    after = pl.col(time) > pl.lit(cutoff)
    numeric = [c for c, t in frame.collect_schema().items() if t.is_float() and c != time]
    later = frame.filter(after).with_columns(
        (pl.col(time) + (pl.lit(end) - pl.col(time)) / 2).alias(time), *[(pl.col(c) * 7 + 1) for c in numeric]
    )
    # the other timestamps of a late row (first response, resolution) move with it
    stamps = [c for c, t in frame.collect_schema().items() if isinstance(t, pl.Datetime) and c != time]
    extra = frame.filter(after).with_columns(pl.col(time) + dt.timedelta(days=1), *[pl.col(c) for c in stamps])
    return pl.concat([frame.filter(~after), later, extra])


def test_features_ignore_everything_after_the_cutoff(churn_project):
    _root, config, facts = churn_project
    inputs = churn_inputs(facts)
    end = dt.datetime.combine(config.as_of, dt.time(), tzinfo=dt.UTC)
    cutoff = end - dt.timedelta(days=200)
    churn = ChurnConfig(penalizers=[0.01])
    # late answers and resolutions of early tickets are after-cutoff facts too: push them later still
    tickets = inputs.tickets.with_columns(
        pl.when(pl.col(c) > pl.lit(cutoff)).then(pl.col(c) + dt.timedelta(days=3)).otherwise(pl.col(c)).alias(c)
        for c in ("first_response_at", "resolved_at")
    )
    mutated = ChurnInputs(
        **{name: _mutate(getattr(inputs, name), time, cutoff, end) for name, time in TIMES.items()}
        | {"tickets": _mutate(tickets, "opened_at", cutoff, end)}
    )
    channels = ["email", "social", "paid_search", "display", "affiliate"]
    before = build_features(inputs, cutoff, churn, channels)
    after = build_features(mutated, cutoff, churn, channels)
    assert before.height > 1000
    assert_frame_equal(before, after)
