"""Simulation time: the cutoff, local wall-clock offsets and chronological order."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import polars as pl

from cxdata.synth import SynthParams
from cxdata.synth.timeline import Timeline


def test_cutoff_is_the_local_midnight_ending_as_of():
    timeline = Timeline.of(SynthParams(as_of=date(2026, 6, 30), timezone="Europe/Madrid"))
    assert timeline.cutoff_utc == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
    winter = Timeline.of(SynthParams(as_of=date(2026, 1, 31), timezone="Europe/Madrid"))
    assert winter.cutoff_utc == datetime(2026, 1, 31, 23, 0, tzinfo=UTC)
    assert timeline.to_us(np.array([timeline.cutoff]))[0] == timeline.cutoff_us


def test_local_offsets_match_polars_time_zone_conversion():
    timeline = Timeline.of(SynthParams())
    instants, offsets = timeline.utc_offsets("Europe/Madrid")
    probe = np.r_[np.linspace(0, timeline.end, 5000), (instants - timeline.origin_us) / 86_400e6]
    utc_us = timeline.to_us(probe)
    ours = utc_us + offsets[np.searchsorted(instants, utc_us, side="right")]
    theirs = (
        pl.Series(utc_us)
        .cast(pl.Datetime("us", "UTC"))
        .dt.convert_time_zone("Europe/Madrid")
        .dt.replace_time_zone(None)
        .cast(pl.Int64)
    )
    assert (ours == theirs.to_numpy()).all()


def test_chronological_order_is_stable_by_second():
    timeline = Timeline.of(SynthParams())
    days = np.array([3.5, 1.0, 3.5, 0.25, 1.0])
    assert timeline.chronological(days).tolist() == [3, 1, 4, 0, 2]
