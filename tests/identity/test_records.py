"""Identifier extraction internals: the order that numbers the identity graph's nodes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from cxdata.config import IdentityConfig
from cxdata.identity.records import _canonical_order, _node_order, extract

EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
moments = st.one_of(st.none(), st.integers(-(10**12), 10**12))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(moments, st.integers(0, 5), st.integers(0, 2**64 - 1)),
        min_size=1,
        max_size=60,
        unique_by=lambda r: r[2],
    )
)
def test_node_order_is_polars_sort_by_first_seen_nulls_last_then_tier_then_hash(rows):
    frame = pl.DataFrame(
        {
            "first_seen": [None if us is None else EPOCH + dt.timedelta(microseconds=us) for us, _, _ in rows],
            "tier": [t for _, t, _ in rows],
            "h": pl.Series([h for _, _, h in rows], dtype=pl.UInt64),
        },
        schema_overrides={"first_seen": pl.Datetime("us", "UTC")},
    )
    expected = frame.with_row_index("i").sort("first_seen", "tier", "h", nulls_last=True)["i"].to_numpy()
    order = _node_order(frame["first_seen"], frame["tier"].to_numpy(), frame["h"].to_numpy())
    np.testing.assert_array_equal(order, expected)


def test_node_order_when_nothing_has_a_time():
    frame = pl.DataFrame(
        {"first_seen": [None, None, None], "tier": [2, 0, 2], "h": pl.Series([5, 9, 1], dtype=pl.UInt64)},
        schema_overrides={"first_seen": pl.Datetime("us", "UTC")},
    )
    order = _node_order(frame["first_seen"], frame["tier"].to_numpy(), frame["h"].to_numpy())
    assert order.tolist() == [1, 2, 0]


def test_record_numbering_is_canonical_whatever_the_row_order():
    times = [dt.datetime(2024, 1, d, tzinfo=dt.UTC) for d in (3, 1, 1, 2)] + [None]
    frame = pl.DataFrame(
        {"order_id": ["d", "c", "b", "a", "e"], "ordered_at": times, "email": ["x@y.com"] * 5},
        schema_overrides={"ordered_at": pl.Datetime("us", "UTC")},
    )
    config = IdentityConfig()
    for shuffled in (frame, frame.reverse(), frame.sample(fraction=1.0, shuffle=True, seed=3)):
        records = extract({"orders": shuffled}, config).records
        # event time first (a record without one last), then record id
        assert records["record_id"].to_list() == ["b", "c", "a", "d", "e"]
        assert records["rec"].to_list() == [0, 1, 2, 3, 4]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 4)), st.text("abc", max_size=3)), max_size=40))
def test_canonical_order_is_polars_sort_by_time_nulls_last_then_record_id(rows):
    base = pl.DataFrame(
        {
            "event_time": [None if t is None else EPOCH + dt.timedelta(hours=t) for t, _ in rows],
            "record_id": [r for _, r in rows],
        },
        schema={"event_time": pl.Datetime("us", "UTC"), "record_id": pl.String},
    )
    expected = base.sort("event_time", "record_id", nulls_last=True)
    assert_frame_equal(base[pl.Series(_canonical_order(base), dtype=pl.UInt32)], expected)
