"""Staging event tables by day (cxdata.io.partitions via stage_step) on DuckDB and PostgreSQL: a load of some
days leaves the warehouse exactly as a whole load of the same files would, late rows wait for a backfill."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from cxdata.config import load_config
from cxdata.io import partitions
from cxdata.io.step import stage_step
from cxdata.warehouse import Warehouse

NOW = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)
D = dt.date


def project(folder: Path, files: dict[str, list[str]], timezone: str = "Europe/Madrid"):
    """A project whose orders are the folder orders/ with ``files`` (name -> rows id,ordered_at,amount)."""
    data = folder / "orders"
    data.mkdir(parents=True, exist_ok=True)
    for old in data.glob("*.csv"):
        if old.name not in files:
            old.unlink()
    for name, rows in files.items():
        path = data / name
        text = "order_id,ordered_at,amount\n" + "".join(f"{row}\n" for row in rows)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            # a distinct time for every write, as a later export would have
            stamp = path.stat().st_mtime_ns + 1_000_000_000 * (1 + len(list(data.glob("*"))))
            os.utime(path, ns=(stamp, stamp))
    (folder / "cxdata.yaml").write_text(
        f"name: p\ntimezone: {timezone}\nvalidation: {{max_quarantine_share: 1.0}}\n"
        "sources:\n  orders: {path: orders}\n",
        encoding="utf-8",
    )
    return load_config(folder / "cxdata.yaml", environ={})


def tables(wh: Warehouse) -> dict[str, pl.DataFrame]:
    """Staged and quarantined orders in a stable order, without the load stamps that differ between runs."""
    stg = wh.read("stg_orders").drop("_loaded_at")
    held = wh.read("quarantine_orders").drop("_loaded_at")
    days = wh.read(partitions.STAGED).drop("run_id", "loaded_at")
    return {
        "stg": stg.sort("order_id", "_source").select(sorted(stg.columns)),
        "quarantine": held.sort("_source", "record").select(sorted(held.columns)),
        "days": days.sort("partition_day").select(sorted(days.columns)),
    }


def whole(url: str, db_schema: str | None, config) -> dict[str, pl.DataFrame]:
    with Warehouse(url, schema=db_schema) as wh:
        stage_step(wh, config, "orders", "whole", NOW)
        return tables(wh)


def assert_same(got: dict[str, pl.DataFrame], expected: dict[str, pl.DataFrame]) -> None:
    for name, frame in expected.items():
        assert_frame_equal(got[name], frame, check_dtypes=False, check_column_order=False), name


@pytest.fixture
def other(warehouse_target, tmp_path):
    """A second, empty warehouse on the same backend for the whole load: a DuckDB file beside the first, or a
    fresh PostgreSQL schema, dropped afterwards."""
    url, db_schema = warehouse_target
    if db_schema is None:
        yield f"duckdb:///{tmp_path / 'whole.duckdb'}", None
        return
    name = f"{db_schema}_whole"
    yield url, name
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'drop schema if exists "{name}" cascade'))
    engine.dispose()


FIRST = {
    "2024-01-01.csv": ["o1,2024-01-01 10:00,10", "o2,2024-01-01 23:30,20"],
    "2024-01-02.csv": ["o3,2024-01-02 09:00,30", "o4,not a time,40"],
}


def test_a_row_belongs_to_its_day_in_the_project_zone(warehouse_target, tmp_path):
    url, db_schema = warehouse_target
    config = project(tmp_path / "p", {"a.csv": ["o1,2024-01-01T23:30:00Z,1", "o2,2024-01-01T22:30:00Z,2"]})
    with Warehouse(url, schema=db_schema) as wh:
        stage_step(wh, config, "orders", "r1", NOW)
        staged = wh.read("stg_orders").sort("order_id")
        files = partitions.manifest(wh, "orders")
    # 23:30 UTC is 00:30 in Madrid (UTC+1 in January): the next day
    assert staged["partition_day"].to_list() == [D(2024, 1, 2), D(2024, 1, 1)]
    assert files.select("partition_day", "rows").sort("partition_day").rows() == [
        (D(2024, 1, 1), 1),
        (D(2024, 1, 2), 1),
    ]


def test_new_days_and_late_rows_restate_only_their_days_and_equal_a_whole_load(warehouse_target, other, tmp_path):
    url, db_schema = warehouse_target
    folder = tmp_path / "p"
    with Warehouse(url, schema=db_schema) as wh:
        stage_step(wh, project(folder, FIRST), "orders", "r1", NOW)
        # a new day's file, with a late row inside the lookback (Jan 2) and one before it (Dec 20)
        files = {
            **FIRST,
            "2024-01-06.csv": ["o5,2024-01-06 10:00,50", "o6,2024-01-04 08:00,60", "o7,2023-12-20 08:00,70"],
        }
        config = project(folder, files)
        plan = partitions.restate(wh, config, "orders", lookback_days=3)
        assert plan.days == (D(2024, 1, 4), D(2024, 1, 6))
        assert plan.late == {D(2023, 12, 20): 1}
        report = stage_step(wh, config, "orders", "r2", NOW, days=plan.days)
        audit = wh.read("load_audit").filter(pl.col("run_id") == "r2").row(0, named=True)
        before_backfill = tables(wh)
        # the backfill of the late day stages it
        stage_step(wh, config, "orders", "r3", NOW, days=[D(2023, 12, 20)])
        after = tables(wh)
        again = partitions.restate(wh, config, "orders", lookback_days=3)
    assert (audit["first_day"], audit["last_day"], audit["days_restated"]) == (D(2024, 1, 4), D(2024, 1, 6), 2)
    assert audit["rows_late"] == 1 and report.staged.facts["late_days"] == "2023-12-20"
    assert (audit["rows_in"], audit["rows_accepted"]) == (3, 2)  # o5, o6, and o4 (no day: read again) held back
    assert "o7" not in before_backfill["stg"]["order_id"].to_list()
    assert again.days == () and again.late == {}
    expected = whole(*other, config)
    assert_same(after, expected)
    # the row without a readable time is held back once, not once per load
    assert after["quarantine"].filter(pl.col("order_id") == "o4").height == 1


def test_a_changed_or_removed_file_restates_its_days(warehouse_target, other, tmp_path):
    url, db_schema = warehouse_target
    folder = tmp_path / "p"
    with Warehouse(url, schema=db_schema) as wh:
        stage_step(wh, project(folder, FIRST), "orders", "r1", NOW)
        # the Jan 1 export is corrected (o2 gone, o8 new) and the Jan 2 file is withdrawn
        config = project(folder, {"2024-01-01.csv": ["o1,2024-01-01 10:00,11", "o8,2024-01-01 12:00,80"]})
        plan = partitions.restate(wh, config, "orders", lookback_days=30)
        stage_step(wh, config, "orders", "r2", NOW, days=plan.days)
        got = tables(wh)
    assert plan.days == (D(2024, 1, 1), D(2024, 1, 2))
    assert sorted(got["stg"]["order_id"]) == ["o1", "o8"] and got["quarantine"].is_empty()
    assert_same(got, whole(*other, config))


def test_a_repeated_key_on_another_day_keeps_its_first_occurrence_in_file_order(warehouse_target, other, tmp_path):
    url, db_schema = warehouse_target
    folder = tmp_path / "p"
    with Warehouse(url, schema=db_schema) as wh:
        stage_step(wh, project(folder, FIRST), "orders", "r1", NOW)
        # o1 again in a later file: a duplicate; o3 again in an earlier-named file: that one comes first
        files = {
            **FIRST,
            "2024-01-05.csv": ["o1,2024-01-05 10:00,99"],
            "2023-extra.csv": ["o3,2024-01-05 11:00,77"],
        }
        config = project(folder, files)
        plan = partitions.restate(wh, config, "orders", lookback_days=3)
        stage_step(wh, config, "orders", "r2", NOW, days=plan.days)
        audit = wh.read("load_audit").filter(pl.col("run_id") == "r2").row(0, named=True)
        got = tables(wh)
    assert plan.days == (D(2024, 1, 5),)
    # both other days hold one of the keys, so both are restated with it
    assert audit["days_restated"] == 3
    held = got["quarantine"].select("order_id", "rule", "_source").sort("order_id").rows()
    assert ("o1", "duplicate_key", "orders/2024-01-05.csv") in held
    assert ("o3", "duplicate_key", "orders/2024-01-02.csv") in held
    assert_same(got, whole(*other, config))


def test_a_table_staged_without_days_is_laid_out_by_a_whole_load(warehouse_target, other, tmp_path):
    url, db_schema = warehouse_target
    config = project(tmp_path / "p", FIRST)
    with Warehouse(url, schema=db_schema) as wh:
        with wh.transaction() as tx:  # what an older version staged: no partition_day
            tx.publish("stg_orders", pl.DataFrame({"order_id": ["old"], "amount": [1.0]}))
        stage_step(wh, config, "orders", "r1", NOW, days=[D(2024, 1, 2)])
        got = tables(wh)
        audit = wh.read("load_audit").row(0, named=True)
    assert audit["days_restated"] is None  # a whole load
    assert_same(got, whole(*other, config))


# A random history of file drops, corrections and withdrawals: after each, staging the planned days (and
# backfilling the late ones) must leave the warehouse exactly as a whole load of the files then present.
_KEYS = [f"o{i}" for i in range(12)]
_TIMES = [
    "2024-01-01 10:00",
    "2024-01-01 23:30",
    "2024-01-02 09:00",
    "2024-01-04 12:00",
    "2024-01-09 08:00",
    "bad",
]
_ROW = st.tuples(st.sampled_from(_KEYS), st.sampled_from(_TIMES), st.integers(0, 99))
_FILES = st.dictionaries(
    st.sampled_from(["a.csv", "b.csv", "c.csv", "d.csv"]), st.lists(_ROW, min_size=1, max_size=5), max_size=4
)


@given(history=st.lists(_FILES, min_size=2, max_size=4), lookback=st.sampled_from([0, 2, 30]))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_staging_planned_days_equals_a_whole_load_over_any_history(history, lookback, tmp_path_factory):
    folder = tmp_path_factory.mktemp("history")
    url = f"duckdb:///{folder / 'days.duckdb'}"
    for step, drop in enumerate(history):
        files = {name: [f"{key},{time},{amount}" for key, time, amount in rows] for name, rows in drop.items()}
        config = project(folder / "p", files or {"empty.csv": []})
        with Warehouse(url) as wh:
            if step == 0:
                stage_step(wh, config, "orders", "r0", NOW)
                continue
            plan = partitions.restate(wh, config, "orders", lookback_days=lookback)
            stage_step(wh, config, "orders", f"r{step}", NOW, days=plan.days)
            if plan.late:
                stage_step(wh, config, "orders", f"b{step}", NOW, days=list(plan.late))
            got = tables(wh)
        whole_url = f"duckdb:///{folder / f'whole{step}.duckdb'}"
        assert_same(got, whole(whole_url, None, config))


def test_a_file_rewritten_with_the_same_time_and_size_is_caught_while_its_time_is_racy(warehouse_target, tmp_path):
    url, db_schema = warehouse_target
    folder = tmp_path / "p"
    config = project(folder, FIRST)
    path = folder / "orders" / "2024-01-01.csv"
    old = path.stat()
    with Warehouse(url, schema=db_schema) as wh:
        stage_step(wh, config, "orders", "r1", NOW)
        # the same bytes count, the same modification time: only the checksum can tell
        text = path.read_text(encoding="utf-8").replace("o2,", "o9,")
        path.write_text(text, encoding="utf-8")
        os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
        assert path.stat().st_size == old.st_size
        plan = partitions.restate(wh, config, "orders", lookback_days=30)
    assert plan.days == (D(2024, 1, 1),)


def test_a_settled_file_is_not_read_again(warehouse_target, tmp_path, monkeypatch):
    url, db_schema = warehouse_target
    folder = tmp_path / "p"
    config = project(folder, FIRST)
    hour_ago = NOW.timestamp() - 3600
    for path in (folder / "orders").glob("*.csv"):
        os.utime(path, (hour_ago, hour_ago))
    with Warehouse(url, schema=db_schema) as wh:
        stage_step(wh, config, "orders", "r1", NOW)
        read = []
        monkeypatch.setattr(partitions, "_days_of", lambda *args: read.append(args) or pl.DataFrame())
        plan = partitions.restate(wh, config, "orders", lookback_days=30)
    assert plan.days == () and read == []


def test_the_days_of_a_range_are_those_held_by_the_files_or_staged_before(warehouse_target, tmp_path):
    url, db_schema = warehouse_target
    folder = tmp_path / "p"
    files = {
        "a.csv": ["o1,2024-01-01 10:00,1", "o2,2024-01-05 10:00,2", "o3,,3"],
        "b.csv": ["o4,2024-01-09 10:00,4"],
    }
    with Warehouse(url, schema=db_schema) as wh:
        stage_step(wh, project(folder, files), "orders", "r1", NOW)
        config = project(folder, {"a.csv": files["a.csv"]})  # 2024-01-09 is gone from the files, not from staging
        assert partitions.days_between(wh, config, "orders", None, None) == (
            D(2024, 1, 1),
            D(2024, 1, 5),
            D(2024, 1, 9),
        )
        assert partitions.days_between(wh, config, "orders", D(2024, 1, 2), None) == (D(2024, 1, 5), D(2024, 1, 9))
        assert partitions.days_between(wh, config, "orders", D(2024, 1, 2), D(2024, 1, 8)) == (D(2024, 1, 5),)
        assert partitions.days_between(wh, config, "orders", D(2024, 1, 6), D(2024, 1, 8)) == ()


def test_days_past_retention_are_neither_restated_nor_late():
    day = dt.date(2026, 3, 1)
    files = pl.DataFrame(
        {"file": ["a.csv"] * 3, "size": [10] * 3, "md5": ["m2"] * 3, "rows": [4, 5, 6],
         "partition_day": [day, day + dt.timedelta(days=1), day + dt.timedelta(days=40)]},
    )  # fmt: skip
    staged = pl.DataFrame({"partition_day": [day, day + dt.timedelta(days=1)], "files_version": ["old", "old"]})
    everything = partitions.plan(files, staged, lookback_days=3)
    assert everything.late == {day: 4, day + dt.timedelta(days=1): 5}  # changed, but before the lookback
    kept = partitions.plan(files, staged, lookback_days=3, kept_from=day + dt.timedelta(days=1))
    assert kept.days == (day + dt.timedelta(days=40),) and kept.late == {day + dt.timedelta(days=1): 5}
    versions = partitions.partition_rows(files, None, "r", dt.datetime(2026, 5, 1, tzinfo=dt.UTC), "orders", day)
    assert versions["partition_day"].min() == day
    versions = partitions.partition_rows(
        files, None, "r", dt.datetime(2026, 5, 1, tzinfo=dt.UTC), "orders", day + dt.timedelta(days=2)
    )
    assert versions["partition_day"].to_list() == [day + dt.timedelta(days=40)]
