"""What automation observes of a file source (cxdata.io.arrivals): the days whose files differ from what was
staged, with the stamp their staging then records; known files are not opened."""

from __future__ import annotations

import datetime as dt
import os
import time

from cxdata.io import arrivals, partitions
from cxdata.io.step import stage_step
from cxdata.warehouse import Warehouse
from tests.io.test_partitions import NOW, project

D = dt.date


def age(folder) -> None:
    """Files written an hour ago, each at its own second: past the racy window, so a known file stays known."""
    for n, path in enumerate(sorted((folder / "orders").glob("*.csv"))):
        moment = time.time_ns() - 3600 * 10**9 + n * 10**9
        os.utime(path, ns=(moment, moment))


def staged(wh: Warehouse) -> dict[dt.date, str]:
    """The stamps of the versions the staged days were staged from."""
    return {day: arrivals._short(version) for day, version in partitions.staged_days(wh, "orders").iter_rows()}


def test_a_day_stamp_is_what_its_staging_recorded_and_moves_with_its_files_only(
    tmp_path, monkeypatch, warehouse_target
):
    files = {
        "a.csv": ["1,2024-02-01T10:00:00Z,5", "2,2024-02-02T10:00:00Z,6"],
        "b.csv": ["3,2024-02-02T11:00:00Z,7"],
    }
    config = project(tmp_path, files)
    age(tmp_path)
    url, db_schema = warehouse_target
    with Warehouse(url, schema=db_schema) as wh:
        before = arrivals.day_stamps(wh, config, "orders")  # never staged: every file is read
        assert set(before) == {D(2024, 2, 1), D(2024, 2, 2)}
        stage_step(wh, config, "orders", "r1", NOW)
        # staged from these very files: nothing to report, and the staging recorded what was observed
        assert arrivals.day_stamps(wh, config, "orders") == {}
        assert staged(wh) == before

        def unread(*args, **kwargs):
            raise AssertionError("a known, unchanged file was read")

        with monkeypatch.context() as patched:  # nothing changed: no file is opened
            patched.setattr(partitions, "read_labelled", unread)
            patched.setattr(partitions, "_md5", unread)
            assert arrivals.day_stamps(wh, config, "orders") == {}

        # a new file on the first day reports that day alone; the manifest is not written
        config = project(tmp_path, {**files, "c.csv": ["4,2024-02-01T12:00:00Z,8"]})
        age(tmp_path)
        stored = partitions.manifest(wh, "orders")
        after = arrivals.day_stamps(wh, config, "orders")
        assert set(after) == {D(2024, 2, 1)} and after[D(2024, 2, 1)] != before[D(2024, 2, 1)]
        assert partitions.manifest(wh, "orders").equals(stored)
        stage_step(wh, config, "orders", "r2", NOW, days=(D(2024, 2, 1),))
        # the day's staging recorded the version observed: it is not reported again
        assert staged(wh)[D(2024, 2, 1)] == after[D(2024, 2, 1)]
        assert arrivals.day_stamps(wh, config, "orders") == {}

        # a.csv and c.csv go: the day they alone held is reported too (its staging clears it), and the day
        # a.csv shared with b.csv
        config = project(tmp_path, {"b.csv": files["b.csv"]})
        assert set(arrivals.day_stamps(wh, config, "orders")) == {D(2024, 2, 1), D(2024, 2, 2)}


def test_snapshot_stamp_follows_names_times_and_sizes_and_settling_waits_for_a_copy(tmp_path):
    config = project(tmp_path, {"a.csv": ["1,2024-02-01T10:00:00Z,5"]})
    path = tmp_path / "orders" / "a.csv"
    first = arrivals.snapshot_stamp(config, "orders")
    assert arrivals.snapshot_stamp(config, "orders") == first
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
    assert arrivals.snapshot_stamp(config, "orders") != first
    written = path.stat().st_mtime_ns
    assert not arrivals.settled(config, "orders", seconds=60, now_ns=written + 30 * 10**9)
    assert arrivals.settled(config, "orders", seconds=60, now_ns=written + 61 * 10**9)
    assert arrivals.settled(config, "orders", seconds=60) == (time.time_ns() - written >= 60 * 10**9)
