"""Change-only syncs on DuckDB and PostgreSQL: across three scorings with known membership the files hold exactly
the expected adds and removes; nothing is sent twice when nothing changed; consent, holdouts and erasure
decide who may be in a sync."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import polars as pl
import pytest

from cxdata.activation.plan import HELD, RUNS
from cxdata.activation.sync import SyncError, last_syncs, sync
from cxdata.config import load_config
from cxdata.privacy import REQUEST_SCHEMA, erase
from cxdata.serve.holdouts import ASSIGNMENTS
from cxdata.warehouse import Warehouse
from tests.activation.scorings import SCORINGS, T1, T2, T3, key, write_scoring
from tests.activation.sync_project import NOW, consent_rows, pii_rows, sync_config

SEGMENT = "high_value_at_risk"


def numbers(path: Path, change: str) -> set[int]:
    rows = pl.read_csv(path)
    return {int(k[1:]) for k in rows.filter(pl.col("change") == change)["customer_key"]}


def files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.csv"))


def test_three_scorings_sync_exactly_the_adds_and_removes(warehouse_target, tmp_path):
    config = sync_config(tmp_path, warehouse_target)
    folder = tmp_path / "out" / "keys"
    before: set[int] = set()
    with Warehouse(*warehouse_target) as wh:
        for n, as_of in enumerate(sorted(SCORINGS), start=1):
            write_scoring(wh, as_of, f"r{n}", SCORINGS[as_of])
            report = sync(wh, config, "keys", NOW + dt.timedelta(days=n), by=f"r{n}")
            now = set(SCORINGS[as_of][SEGMENT])
            written = files(folder)[-1]
            assert written.name == f"keys-{n:06d}-{as_of:%Y%m%dT%H%M%SZ}.csv"
            assert (numbers(written, "add"), numbers(written, "remove")) == (now - before, before - now)
            assert report.planned["status"] == "delivered" and report.planned["delivered_to"] == written.name
            before = now
        # nothing new: nothing sent, the sync recorded as unchanged
        again = sync(wh, config, "keys", NOW + dt.timedelta(days=9), by="again")
        assert (again.planned["status"], again.planned["adds"], again.planned["removes"]) == ("unchanged", 0, 0)
        assert len(files(folder)) == 3
        held = wh.read(HELD, where={"destination": "keys"})
        runs = wh.read(RUNS).sort("seq")
        latest = last_syncs(wh, config)
    assert {int(k[1:]) for k in held["customer_key"]} == set(SCORINGS[T3][SEGMENT])
    assert runs["previous_as_of"].to_list() == [None, T1, T2, T3]
    assert runs["status"].to_list() == ["delivered"] * 3 + ["unchanged"]
    assert latest.filter(pl.col("destination") == "keys")["seq"].item() == 4


def test_consent_holdout_and_erasure_decide_who_is_synced(warehouse_target, tmp_path, monkeypatch):
    monkeypatch.setenv("CXDATA_EXPERIMENT_SALT", "sync-test-salt-" + "x" * 20)
    monkeypatch.setenv("CXDATA_PRIVACY_SALT", "privacy-salt-" + "y" * 20)
    config = sync_config(tmp_path, warehouse_target)
    folder = tmp_path / "out" / "meta"
    refused, withdrawn = {2}, 4  # 2 never agrees to ads; 4 agrees at T1 and withdraws before T2
    synced_then_erased, erased_before_sync = 1, 30  # 30 enters at T2, and is erased before that sync
    with Warehouse(*warehouse_target) as wh:
        write_scoring(wh, T1, "r1", SCORINGS[T1])
        wh.publish("dim_customer_pii", pii_rows(range(50)))
        wh.publish("customer_consent", consent_rows(range(50), refused))
        sync(wh, config, "meta", NOW, by="r1")
        wh.publish("customer_consent", consent_rows(range(50), refused | {withdrawn}))
        write_scoring(wh, T2, "r2", SCORINGS[T2])
        requests = pl.DataFrame(
            {"request_id": ["q1", "q2"], "identifier_type": ["customer_key"] * 2,
             "identifier_value": [key(synced_then_erased), key(erased_before_sync)], "received_at": [NOW] * 2},
            schema=REQUEST_SCHEMA,
        )  # fmt: skip
        erase(wh, config, requests, NOW)
        sync(wh, config, "meta", NOW, by="r2")
        erased = {synced_then_erased, erased_before_sync}  # suppressed at ingest: later scorings lack them
        write_scoring(
            wh, T3, "r3", {name: [n for n in listed if n not in erased] for name, listed in SCORINGS[T3].items()}
        )
        sync(wh, config, "meta", NOW, by="r3")
        assignments = wh.read(ASSIGNMENTS, where={"campaign": "social/winback"})
        held = set(wh.read(HELD, where={"destination": "meta"})["customer_key"])
    control = set(assignments.filter(pl.col("group") == "control")["customer_key"])
    sent: list[list[tuple[str, int]]] = []
    for path in files(folder):
        rows = pl.read_csv(path, infer_schema=False)
        assert rows.columns[0] == "change" and "customer_key" not in rows.columns  # the platform's columns only
        sent.append([(change, _person(email)) for change, email in rows.select("change", "email").iter_rows()])
    everything = [row for batch in sent for row in batch]
    added = {n for change, n in everything if change == "add"}
    removed = {n for change, n in everything if change == "remove"}
    assert control and not added & refused and not {key(n) for n in added} & control
    assert withdrawn in added and ("remove", withdrawn) in sent[1]  # a withdrawn consent is a remove at once
    assert erased_before_sync not in added | removed
    assert ("add", synced_then_erased) in sent[0] and synced_then_erased not in {n for _, n in sent[1]}
    for n in {n for _, n in everything}:  # each person alternates add, remove, add...: never sent twice over
        theirs = [change for change, m in everything if m == n]
        assert theirs == ["add", "remove"] * (len(theirs) // 2) + ["add"] * (len(theirs) % 2), (n, theirs)
    assert held == {key(n) for n in SCORINGS[T3][SEGMENT] if n not in refused | erased | {withdrawn}} - control


def _person(email_sha256: str) -> int:
    """The fixture customer whose hashed email this is."""
    return {hashlib.sha256(f"p{n}@example.com".encode()).hexdigest(): n for n in range(50)}[email_sha256]


def test_an_unknown_destination_names_the_known_ones(warehouse_target, tmp_path):
    config = sync_config(tmp_path, warehouse_target)
    with Warehouse(*warehouse_target) as wh, pytest.raises(SyncError, match="known: hook, keys, meta"):
        sync(wh, config, "nope", NOW, by="test")


def test_a_destination_of_another_segment_is_refused_by_the_config(tmp_path, duckdb_url):
    path = sync_config(tmp_path, (duckdb_url, None), segment="winback").path
    with pytest.raises(Exception, match=r"activation\.destinations\.keys\.segment"):
        load_config(path)
