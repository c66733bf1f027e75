"""Membership history on DuckDB and PostgreSQL: three scorings with known changes give exactly the expected
entered/exited events and spells; a rerun at an earlier as_of and a backfilled scoring rewind and replay to
the same history as replaying every scoring in order once."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.activation.membership import EVENTS, MEMBERSHIP, SCORINGS, pending_from, update_membership
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse
from tests.activation.scorings import SCORINGS as PLANNED
from tests.activation.scorings import T1, T2, T3, clv_of, key, write_scoring

NOW = dt.datetime(2026, 3, 4, 8, 0, tzinfo=dt.UTC)


def run(n: int) -> RunContext:
    return RunContext(run_id=f"membership-{n}", as_of=T3, now=NOW)


def expected_events(scorings: dict[dt.datetime, dict[str, list[int]]]) -> set[tuple[str, str, str, dt.datetime]]:
    """The events the scorings imply, worked out from sets of (segment, customer) per scoring."""
    events, before = set(), set()
    for as_of in sorted(scorings):
        now = {(name, key(i)) for name, numbers in scorings[as_of].items() for i in numbers}
        events |= {(s, k, "entered", as_of) for s, k in now - before}
        events |= {(s, k, "exited", as_of) for s, k in before - now}
        before = now
    return events


def events_of(wh: Warehouse) -> set[tuple[str, str, str, dt.datetime]]:
    rows = wh.read(EVENTS, columns=["segment", "customer_key", "event", "as_of"])
    return set(rows.iter_rows())


def spells_of(wh: Warehouse) -> pl.DataFrame:
    columns = ["segment", "customer_key", "entered_at", "exited_at", "clv_at_entry", "entered_run_id"]
    return wh.read(MEMBERSHIP, columns=[*columns, "exited_run_id"]).sort("segment", "customer_key", "entered_at")


def test_three_scorings_give_the_known_entries_exits_and_spells(warehouse_target):
    with Warehouse(*warehouse_target) as wh:
        for n, as_of in enumerate(sorted(PLANNED), start=1):
            write_scoring(wh, as_of, f"r{n}", PLANNED[as_of])
            report = update_membership(wh, run(n))
            assert (report.replayed, report.rewound_to) == (1, as_of)
        assert events_of(wh) == expected_events(PLANNED)
        assert update_membership(wh, run(9)).replayed == 0  # nothing new: nothing replayed
        spells = spells_of(wh)
        scorings = wh.read(SCORINGS).sort("as_of")
    # by hand, for the customers the scorings move: 5 left high_value_at_risk at T2, came back at T3 (two spells)
    five = spells.filter(pl.col("customer_key") == key(5))
    assert five.select("segment", "entered_at", "exited_at").rows() == [
        ("high_value_at_risk", T1, T2),
        ("high_value_at_risk", T3, None),
        ("loyal", T2, T3),
    ]
    assert five.filter(pl.col("entered_at") == T3)["clv_at_entry"].item() == clv_of(5, T3)
    assert five.filter(pl.col("entered_at") == T1)["exited_run_id"].item() == "r2"
    twenty = spells.filter(pl.col("customer_key") == key(20))
    assert twenty.select("segment", "entered_at", "exited_at").rows() == [("high_value_at_risk", T1, T2)]
    zero = spells.filter(pl.col("customer_key") == key(0))
    assert zero.select("segment", "entered_at", "exited_at").rows() == [
        ("high_value_at_risk", T1, T3),
        ("lost", T3, None),
    ]
    # every member of the last scoring has exactly one open spell, in their segment
    current = {(s, key(i)) for s, numbers in PLANNED[T3].items() for i in numbers}
    open_spells = spells.filter(pl.col("exited_at").is_null())
    assert set(open_spells.select("segment", "customer_key").iter_rows()) == current
    assert open_spells.height == len(current)
    assert scorings.select("as_of", "run_id", "members", "entered", "exited").rows() == [
        (T1, "r1", 16, 16, 0),
        (T2, "r2", 17, 7, 6),
        (T3, "r3", 18, 4, 3),
    ]


def test_a_rerun_and_a_backfill_rewind_to_the_same_history_as_one_replay(warehouse_target, tmp_path):
    changed_t2 = {"high_value_at_risk": [0, 1, 2, 30], "loyal": list(range(3, 15))}
    backfill = dt.datetime(2026, 3, 2, 11, 0, tzinfo=dt.UTC)  # between T1 and T2, scored after T3
    backfilled = {"high_value_at_risk": list(range(0, 8)), "loyal": list(range(8, 15)), "lost": [20]}
    final = {T1: PLANNED[T1], backfill: backfilled, T2: changed_t2, T3: PLANNED[T3]}
    with Warehouse(*warehouse_target) as wh:
        for n, as_of in enumerate(sorted(PLANNED), start=1):
            write_scoring(wh, as_of, f"r{n}", PLANNED[as_of])
            update_membership(wh, run(n))
        write_scoring(wh, T2, "r2-again", changed_t2)  # a rerun at T2 after T3 was replayed
        assert update_membership(wh, run(4)).rewound_to == T2
        write_scoring(wh, backfill, "r-backfill", backfilled)
        report = update_membership(wh, run(5))
        assert (report.rewound_to, report.replayed) == (backfill, 3)
        assert events_of(wh) == expected_events(final)
        incremental = spells_of(wh)
    with Warehouse(f"duckdb:///{tmp_path / 'once.duckdb'}") as once:
        for as_of, run_id in ((T1, "r1"), (backfill, "r-backfill"), (T2, "r2-again"), (T3, "r3")):
            write_scoring(once, as_of, run_id, final[as_of])
        assert update_membership(once, run(1)).replayed == 4
        assert events_of(once) == expected_events(final)
        replayed_once = spells_of(once)
    assert incremental.equals(replayed_once)


def test_pending_from_is_the_earliest_scoring_not_replayed_as_it_is():
    scorings = pl.DataFrame({"as_of": [T1, T2, T3], "run_id": ["a", "b", "c"]})
    assert pending_from(scorings, scorings) is None
    assert pending_from(scorings, scorings.head(1)) == T2
    assert pending_from(scorings, scorings.with_columns(pl.when(pl.col("as_of") == T2).then(pl.lit("x"))
                                                        .otherwise("run_id").alias("run_id"))) == T2  # fmt: skip
    # a replayed scoring that is no longer in the members (its rows replaced by an earlier as_of's) rewinds too
    assert pending_from(scorings.slice(1), scorings) == T1
