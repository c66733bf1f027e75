"""Readers on their own connections never see a missing or half-loaded table while publishes swap it."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from cxdata.warehouse import Warehouse, WarehouseError, comments

SIZES = [10, 3_000, 7, 40_000, 1, 15_000]
READERS = 3


def test_readers_always_see_one_whole_version(wh, versioned_frame):
    wh.publish("orders", versioned_frame(SIZES[0], 0))
    stop = threading.Event()
    seen: list[tuple[int, int, int]] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            with wh.engine.connect() as conn:
                while not stop.is_set():
                    row = conn.execute(sa.text("select count(*), min(version), max(version) from orders")).one()
                    # End the read transaction, as an autocommit BI client does, so no lock outlives the query.
                    conn.rollback()
                    seen.append(tuple(row))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(READERS)]
    for thread in threads:
        thread.start()
    try:
        for version, size in enumerate(SIZES[1:], start=1):
            wh.publish("orders", versioned_frame(size, version))
            # Wait until some reader has seen this version, so reads really interleave with every swap.
            deadline = time.monotonic() + 20
            while (size, version, version) not in seen and not errors and time.monotonic() < deadline:
                time.sleep(0.005)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    assert errors == []
    published = {(size, version, version) for version, size in enumerate(SIZES)}
    assert set(seen) <= published, f"partial or mixed versions read: {set(seen) - published}"
    assert {row for row in seen if row[1] > 0} == published - {(SIZES[0], 0, 0)}


def test_postgres_reader_blocked_by_the_swap_gets_the_new_table(pg_schema, versioned_frame, monkeypatch):
    url, schema = pg_schema
    with Warehouse(url, schema) as wh:
        wh.publish("orders", versioned_frame(5, 0))
        in_swap, release = threading.Event(), threading.Event()
        original = comments.apply_comments

        def hold_swap_open(*args):
            original(*args)
            in_swap.set()
            assert release.wait(30)

        monkeypatch.setattr(comments, "apply_comments", hold_swap_open)
        outcomes: dict[str, object] = {}

        def publisher() -> None:
            try:
                outcomes["published"] = wh.publish("orders", versioned_frame(42, 1)).rows
            except BaseException as exc:
                outcomes["publish_error"] = exc

        def reader(conn: sa.Connection) -> None:
            try:
                outcomes["read"] = tuple(conn.execute(sa.text("select count(*), max(version) from orders")).one())
            except BaseException as exc:
                outcomes["read_error"] = exc

        with wh.engine.connect() as reader_conn, wh.engine.connect() as watcher:
            reader_pid = reader_conn.execute(sa.text("select pg_backend_pid()")).scalar_one()
            reader_conn.rollback()
            publishing = threading.Thread(target=publisher, daemon=True)
            publishing.start()
            assert in_swap.wait(30), "the publish never reached its swap"
            reading = threading.Thread(target=reader, args=(reader_conn,), daemon=True)
            reading.start()
            blocked = False
            deadline = time.monotonic() + 10
            while not blocked and time.monotonic() < deadline:
                blocked = (
                    watcher.execute(
                        sa.text("select wait_event_type from pg_stat_activity where pid = :pid"),
                        {"pid": reader_pid},
                    ).scalar()
                    == "Lock"
                )
                watcher.rollback()
                time.sleep(0.01)
            release.set()
            publishing.join(timeout=30)
            reading.join(timeout=30)

    assert blocked, "the reader never waited on the swap's lock, so the test proved nothing"
    assert "publish_error" not in outcomes and "read_error" not in outcomes, outcomes
    assert outcomes == {"published": 42, "read": (42, 1)}


def test_swap_gives_up_cleanly_when_a_reader_holds_the_table_on_postgres(
    pg_schema, versioned_frame, staging_tables
):
    url, schema = pg_schema
    with Warehouse(url, schema) as wh, wh.engine.connect() as long_reader:
        wh.publish("orders", versioned_frame(3, 0))
        wh.swap_lock_timeout, wh.swap_attempts = 0.2, 2
        # An open transaction that has read the table holds its lock, like a long BI query.
        long_reader.execute(sa.text("select count(*) from orders")).scalar_one()

        with pytest.raises(WarehouseError, match=r"'orders'.*while swapping.*LockNotAvailable"):
            wh.publish("orders", versioned_frame(9, 1))

        long_reader.rollback()
        assert wh.row_count("orders") == 3
        assert staging_tables(wh) == []


def test_swap_retries_until_a_long_reader_lets_go_on_postgres(pg_schema, versioned_frame):
    url, schema = pg_schema
    with Warehouse(url, schema) as wh, wh.engine.connect() as long_reader:
        wh.publish("orders", versioned_frame(3, 0))
        wh.swap_lock_timeout, wh.swap_attempts = 0.2, 10
        long_reader.execute(sa.text("select count(*) from orders")).scalar_one()
        timer = threading.Timer(0.5, long_reader.rollback)
        timer.start()

        result = wh.publish("orders", versioned_frame(9, 1))

        timer.join()
        assert result.rows == 9
        assert wh.row_count("orders") == 9
