"""The access log's outbox reaches `pii_access_log` whole and once (both backends): entries recorded from many
threads all arrive; a flush interrupted after its append is not counted twice when retried; a line cut short
by a crash is dropped, not the outbox; every run's asset flushes it."""

from __future__ import annotations

import json
import threading

import polars as pl

from cxdata.privacy.access_log import ACCESS_LOG, OUTBOX, AccessEntry, flush_access_log, os_actor, record_access
from cxdata.warehouse import Warehouse


def _entry(rows: int) -> AccessEntry:
    return AccessEntry.now(
        actor=os_actor(), via="cli", action="segment_export", segment="lost", purpose="email", contacts="raw",
        rows=rows,
    )  # fmt: skip


def test_every_recorded_access_reaches_the_table_once(warehouse_target, tmp_path):
    url, schema = warehouse_target
    folder = tmp_path / "pii_access"
    threads = [threading.Thread(target=lambda n=n: [record_access(folder, _entry(n)) for _ in range(25)])
               for n in range(8)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Warehouse(url, schema) as wh:
        assert flush_access_log(wh, folder) == 200
        logged = wh.read(ACCESS_LOG)
        assert logged.height == 200 and logged["access_id"].n_unique() == 200
        assert sorted(logged.group_by("rows").len()["len"].unique()) == [25]
        assert logged["accessed_at"].dtype == pl.Datetime("us", "UTC")

        # a flush that appended entry 99, then died before deleting the file it read: the retry adds it once
        record_access(folder, _entry(99))
        crashed = folder / "crashed.flushing"
        (folder / OUTBOX).rename(crashed)
        line = json.loads(crashed.read_text(encoding="utf-8"))
        wh.append(ACCESS_LOG, pl.DataFrame([line]).with_columns(
            pl.col("accessed_at").str.to_datetime(time_unit="us", time_zone="UTC")
        ).cast({"rows": pl.Int64}).select(logged.columns))  # fmt: skip
        # and a crash while recording another access left half a line: that access was never answered
        crashed.write_text(crashed.read_text(encoding="utf-8") + '{"access_id": "cut sh', encoding="utf-8")
        record_access(folder, _entry(7))
        assert flush_access_log(wh, folder) == 1  # entry 7 only
        assert not list(folder.iterdir())
        assert wh.row_count(ACCESS_LOG) == 202 and wh.read(ACCESS_LOG)["access_id"].n_unique() == 202
