"""Sync delivery that fails or is killed: `cxdata sync` killed (kill -9) after writing a file, before or after
it appears, and a webhook that refuses a batch, are delivered again on the next sync under the same file name
or idempotency keys: across the scorings no change is lost and none is applied twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import polars as pl
import pytest

from cxdata.activation.plan import RUNS
from cxdata.activation.sync import SyncError, sync
from cxdata.config import WAREHOUSE_SCHEMA_ENV, WAREHOUSE_URL_ENV
from cxdata.faults import ENV as CRASH_ENV
from cxdata.warehouse import Warehouse
from tests.activation.scorings import SCORINGS, T1, T2, T3, key, write_scoring
from tests.activation.sync_project import HOOK_ENV, NOW, pii_rows, sync_config

SEGMENT = "high_value_at_risk"
EXE = Path(sys.executable).parent / "cxdata"


def cxdata_sync(config_path: Path, schema: str | None, crash: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (CRASH_ENV, WAREHOUSE_SCHEMA_ENV, WAREHOUSE_URL_ENV)}
    env |= {CRASH_ENV: crash} if crash else {}
    return subprocess.run([EXE, "sync", "keys", "--config", str(config_path)], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def changes_in(path: Path) -> set[tuple[str, str]]:
    return set(pl.read_csv(path).select("change", "customer_key").iter_rows())


def expected(before: dict, after: dict) -> set[tuple[str, str]]:
    old, new = {key(n) for n in before.get(SEGMENT, [])}, {key(n) for n in after[SEGMENT]}
    return {("add", k) for k in new - old} | {("remove", k) for k in old - new}


def test_a_sync_killed_after_writing_is_delivered_once_by_the_next(warehouse_target, tmp_path):
    url, schema = warehouse_target
    config = sync_config(tmp_path, warehouse_target)
    folder = tmp_path / "out" / "keys"
    with Warehouse(url, schema) as wh:
        write_scoring(wh, T1, "r1", SCORINGS[T1])
        sync(wh, config, "keys", NOW, by="r1")
    with Warehouse(url, schema) as wh:
        write_scoring(wh, T2, "r2", SCORINGS[T2])
    killed = cxdata_sync(config.path, schema, crash="sync:delivered")  # the file is there, not marked delivered
    assert killed.returncode == -9
    second = folder / f"keys-000002-{T2:%Y%m%dT%H%M%SZ}.csv"
    first_copy = second.read_bytes()
    done = cxdata_sync(config.path, schema)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "#2" in done.stdout and "#3" in done.stdout and "nothing changed" in done.stdout
    assert second.read_bytes() == first_copy  # the same changes under the same name
    with Warehouse(url, schema) as wh:
        write_scoring(wh, T3, "r3", SCORINGS[T3])
    assert cxdata_sync(config.path, schema, crash="sync:written").returncode == -9  # killed before the rename
    assert not list(folder.glob("keys-000004-*"))
    with Warehouse(url, schema) as wh:
        assert sync(wh, config, "keys", NOW, by="r3").planned["seq"] == 5  # #4 delivered first, then nothing new
    written = sorted(folder.glob("*.csv"))
    assert [p.name[:11] for p in written] == ["keys-000001", "keys-000002", "keys-000004"]
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no partial file left behind
    assert changes_in(written[0]) == expected({}, SCORINGS[T1])
    assert changes_in(written[1]) == expected(SCORINGS[T1], SCORINGS[T2])
    assert changes_in(written[2]) == expected(SCORINGS[T2], SCORINGS[T3])
    with Warehouse(url, schema) as wh:
        runs = wh.read(RUNS).sort("seq")
    assert runs["status"].to_list() == ["delivered", "delivered", "unchanged", "delivered", "unchanged"]


class Receiver(BaseHTTPRequestHandler):
    """Records every POST (its idempotency key and body); answers 500 to the POSTs numbered in ``fail``."""

    posts: ClassVar[list[tuple[str, dict]]] = []
    fail: ClassVar[set[int]] = set()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).posts.append((self.headers["Idempotency-Key"], body))
        self.send_response(500 if len(type(self).posts) in type(self).fail else 200)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


@contextmanager
def receiver(fail: set[int]) -> Iterator[str]:
    Receiver.posts, Receiver.fail = [], fail
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()


def test_a_refused_webhook_batch_is_resent_with_the_same_keys_and_applied_once(warehouse_target, tmp_path):
    config = sync_config(tmp_path, warehouse_target)
    with Warehouse(*warehouse_target) as wh, receiver(fail={2}) as url:
        wh.publish("dim_customer_pii", pii_rows(range(50)))
        wh.publish("customer_consent", pl.DataFrame({"customer_key": [key(n) for n in range(50)],
                                                     "consent_email": [True] * 50}))  # fmt: skip
        environ = {HOOK_ENV: url}
        write_scoring(wh, T1, "r1", SCORINGS[T1])
        with pytest.raises(SyncError, match="HTTP 500"):
            sync(wh, config, "hook", NOW, by="r1", environ=environ)
        failed = wh.read(RUNS).row(0, named=True)
        assert (failed["status"], failed["attempts"], failed["last_error"]) == (
            "planned",
            1,
            "webhook answered HTTP 500",
        )
        report = sync(wh, config, "hook", NOW, by="r1-again", environ=environ)
        assert report.retried[0]["status"] == "delivered" and report.planned["status"] == "unchanged"
        write_scoring(wh, T2, "r2", SCORINGS[T2])
        sync(wh, config, "hook", NOW, by="r2", environ=environ)
        posts = list(Receiver.posts)
    by_key: dict[str, dict] = {}
    for idempotency_key, body in posts:
        assert by_key.setdefault(idempotency_key, body) == body  # a resent batch is the same batch
        assert idempotency_key == f"{body['sync_id']}:{body['batch']}"
    assert len(posts) == len(by_key) + 2  # batches 1 and 2 of the first sync twice: the receiver dedups
    applied: dict[int, list[tuple[str, str]]] = {}
    for body in by_key.values():
        assert "email_sha256" in body["changes"][0] and "email" not in body["changes"][0]
        applied.setdefault(body["sequence"], []).extend((c["change"], c["customer_key"]) for c in body["changes"])
    assert set(applied[1]) == expected({}, SCORINGS[T1]) and len(applied[1]) == len(set(applied[1]))
    assert set(applied[3]) == expected(SCORINGS[T1], SCORINGS[T2])
