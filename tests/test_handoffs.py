"""Handoffs between the steps of a sharded run round-trip any picklable value through the warehouse, on DuckDB and
PostgreSQL: a retried step replaces its own row, a missing or corrupted one is named, and a publishing step drops
its run's handoffs and those older than KEEP_DAYS, not another run's recent ones."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cxdata import handoffs
from cxdata.warehouse import Warehouse

NOW = dt.datetime(2026, 12, 7, 6, 0, tzinfo=dt.UTC)
# bytes a text path would mangle, inside a frame and a nested value
TRICKY = b"\x00\\x41\\\\" + bytes(range(256)) + b"\r\n\x00"


@pytest.fixture
def wh(warehouse_target):
    url, schema = warehouse_target
    with Warehouse(url, schema=schema) as opened:
        yield opened


def test_values_round_trip_and_a_retry_replaces_its_row(wh):
    frame = pl.DataFrame({"customer_key": ["C1", None], "clv": [1.5, float("nan")], "raw": [TRICKY, b""]})
    key = ("run-1", "score_customer_value.value_scores_s0", "result")
    handoffs.put(wh, key, {"scores": frame, "missing": 0})
    size = handoffs.put(wh, key, {"scores": frame, "missing": 3})  # the step retried
    found = handoffs.get(wh, key)
    assert_frame_equal(found["scores"], frame)
    assert found["missing"] == 3
    assert wh.row_count(handoffs.TABLE) == 1
    assert size == wh.read(handoffs.TABLE)["bytes"].item() > len(TRICKY)


def test_a_missing_or_corrupted_handoff_is_named(wh):
    key = ("run-1", "score_touchpoints.touchpoint_plan", "result")
    with pytest.raises(handoffs.MissingHandoff, match=r"touchpoint_plan.*never stored"):
        handoffs.get(wh, key)
    handoffs.put(wh, key, [1, 2, 3])
    with pytest.raises(handoffs.MissingHandoff, match="0 rows stored"):
        handoffs.get(wh, ("run-2", *key[1:]))
    row = wh.read(handoffs.TABLE).with_columns(pl.lit(b"not the pickle").alias("payload"))
    wh.publish(handoffs.TABLE, row)
    with pytest.raises(handoffs.MissingHandoff, match="do not match their sha256"):
        handoffs.get(wh, key)


def test_a_publishing_step_drops_its_run_and_stale_runs_only(wh, monkeypatch):
    stamps = {"this": NOW, "other": NOW - dt.timedelta(days=1), "failed": NOW - dt.timedelta(days=8)}
    for run_id, stamp in stamps.items():
        monkeypatch.setattr(handoffs.dt, "datetime", _Frozen.at(stamp))
        for shard in range(2):
            handoffs.put(wh, (run_id, f"value_partial_s{shard}", "result"), shard)
    monkeypatch.undo()
    assert handoffs.drop_finished(wh, "this", NOW) == ["failed", "this"]
    assert sorted(wh.read(handoffs.TABLE)["run_id"].to_list()) == ["other", "other"]
    assert handoffs.get(wh, ("other", "value_partial_s1", "result")) == 1


class _Frozen(dt.datetime):
    """datetime whose now() is a fixed moment (the handoffs' written_at)."""

    moment = NOW

    @classmethod
    def at(cls, moment: dt.datetime) -> type[_Frozen]:
        return type("Frozen", (cls,), {"moment": moment})

    @classmethod
    def now(cls, tz=None):
        return cls.moment
