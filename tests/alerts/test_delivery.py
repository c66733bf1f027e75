"""The alert delivery contract against a loopback webhook: every POST carries the alert's stable ``alert_id`` (in
the body and as ``Idempotency-Key``), only a 2xx answer counts, and a killed run re-sends at most one alert."""

from __future__ import annotations

import collections
import datetime as dt
import os
import subprocess
import sys

import polars as pl
import pytest

from cxdata.alerts import alerts_step
from cxdata.alerts.notify import Delivery
from cxdata.alerts.step import apply_deliveries, read_alerts
from cxdata.faults import ENV as CRASH_ENV
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse
from tests.alerts.test_alerts import project
from tests.alerts.webhook import webhook

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
HOOK_ENV = "CXDATA_ALERT_WEBHOOK_URL"
ALERTS = 5

# Runs the alerts step as its own process, so a crash point can kill it exactly like kill -9 would.
RUN_STEP = """
import datetime as dt, sys
from cxdata.alerts import alerts_step
from cxdata.config import ProjectConfig, SourceConfig
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse
url, schema, hook_env, hook, base, now = sys.argv[1:]
config = ProjectConfig(name="alerts", sources={"orders": SourceConfig(path="orders.csv")}, base_dir=base)
with Warehouse(url, schema=schema or None) as wh:
    moment = dt.datetime.fromisoformat(now)
    alerts_step(wh, config, RunContext("crashing", moment, moment), environ={hook_env: hook})
"""


@pytest.fixture
def target(warehouse_target):
    """(url, schema) of a warehouse holding five detractor answers of five top customers, closed again so a
    subprocess can open a DuckDB file."""
    url, schema = warehouse_target
    keys = [f"C{i}" for i in range(1, ALERTS + 1)]
    with Warehouse(url, schema=schema) as wh:
        wh.publish("customer_scores", pl.DataFrame({"customer_key": keys, "clv": 100.0, "clv_percentile": 99.0}))
        wh.publish(
            "fct_surveys",
            pl.DataFrame(
                {
                    "response_id": [f"r{i}" for i in range(1, ALERTS + 1)],
                    "customer_key": keys,
                    "kind": "nps",
                    "score": 0.0,
                    "responded_at": [NOW - dt.timedelta(hours=10 - i) for i in range(ALERTS)],
                },
                schema_overrides={"responded_at": pl.Datetime("us", "UTC")},
            ),
        )
    return url, schema


def run(target, tmp_path, server, **alerts):
    url, schema = target
    env = {HOOK_ENV: f"http://127.0.0.1:{server.server_port}/hook"}
    with Warehouse(url, schema=schema) as wh:
        report = alerts_step(wh, project(tmp_path, **alerts), RunContext("run", NOW, NOW), environ=env)
        return report, read_alerts(wh)


def test_a_redirect_is_not_delivered_and_not_followed_and_the_alert_is_retried(target, tmp_path):
    with webhook(status=302) as server:
        moved, held = run(target, tmp_path, server)
        server.status = 202
        back, table = run(target, tmp_path, server)
    assert [h.method for h in server.received] == ["POST"] * (1 + ALERTS)  # no GET to the Location
    assert moved.sent == 0 and moved.failed == 1 and moved.pending == ALERTS and moved.unknown == 0
    assert moved.last_error == "webhook answered HTTP 302"
    tried = held.filter(pl.col("attempts") == 1)
    assert tried["status"].to_list() == ["pending"] and tried["last_error"].to_list() == [moved.last_error]
    assert held["sent_at"].null_count() == ALERTS
    ids = server.alert_ids()
    assert ids[0] == ids[1] == tried["alert_id"].item()  # the retry is the same alert, with the same id
    assert sorted(set(ids)) == sorted(table["alert_id"]) and len(ids) == 1 + ALERTS
    assert back.sent == ALERTS and back.pending == 0 and set(table["status"]) == {"sent"}


def test_an_unanswered_post_is_unknown_and_its_retry_carries_the_same_alert_id(target, tmp_path):
    with webhook(delay=0.6) as server:
        slow, held = run(target, tmp_path, server, timeout_seconds=0.2)
        server.delay = 0.0
        back, table = run(target, tmp_path, server, timeout_seconds=0.2)
    assert slow.sent == 0 and slow.failed == 1 and slow.unknown == 1 and slow.pending == ALERTS
    assert slow.last_error == "webhook did not answer within 0.2 s (delivery unknown)"
    assert "1 delivery unknown" in slow.summary
    unknown = held.filter(pl.col("status") == "unknown")
    assert unknown.height == 1 and unknown["attempts"].to_list() == [1]
    first, retry = server.received[0], server.received[1]
    assert first.body["alert_id"] == first.idempotency_key == unknown["alert_id"].item()
    assert retry.body["alert_id"] == retry.idempotency_key == first.idempotency_key
    assert first.body == retry.body
    seen = collections.Counter(server.alert_ids())
    assert sorted(seen) == sorted(table["alert_id"]) and sorted(seen.values()) == [1] * (ALERTS - 1) + [2]
    assert back.sent == ALERTS and back.unknown == 0 and set(table["status"]) == {"sent"}


@pytest.mark.parametrize(("marker", "repeated"), [("alerts:delivered", 1), ("alerts:saved", 0)])
def test_a_run_killed_between_posts_resends_at_most_the_alert_in_flight(target, tmp_path, marker, repeated):
    url, schema = target
    with webhook() as server:
        first, _ = run(target, tmp_path, server, max_notifications_per_run=2)
        hook = f"http://127.0.0.1:{server.server_port}/hook"
        killed = subprocess.run(
            [sys.executable, "-c", RUN_STEP, url, schema or "", HOOK_ENV, hook, str(tmp_path), NOW.isoformat()],
            env={**os.environ, CRASH_ENV: marker},
            capture_output=True,
            text=True,
            timeout=120,
        )
        after_kill = len(server.received)
        with Warehouse(url, schema=schema) as wh:
            saved = read_alerts(wh).filter(pl.col("status") == "sent")["alert_id"].to_list()
        last, table = run(target, tmp_path, server)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert first.sent == 2 and after_kill == 3  # the killed run got exactly one POST out
    # what the kill left: the two earlier deliveries, plus the third if its state was saved before the kill
    assert sorted(saved) == sorted(server.alert_ids()[: 3 - repeated])
    order = table.sort("created_at", "occurred_at", "alert_id")["alert_id"].to_list()
    # the in-flight alert is sent again only when the kill came before its state was saved
    assert server.alert_ids() == order[:3] + order[3 - repeated :]
    assert [h.idempotency_key for h in server.received] == server.alert_ids()
    assert last.sent == ALERTS - 3 + repeated and last.pending == 0
    assert set(table["status"]) == {"sent"} and table["attempts"].to_list() == [1] * ALERTS


def test_a_refused_retry_of_an_unanswered_post_stays_unknown():
    table = pl.DataFrame(
        {"alert_id": ["a", "b"], "status": ["unknown", "pending"], "attempts": [1, 0]},
        schema_overrides={"attempts": pl.Int64},
    ).with_columns(
        pl.lit(None, pl.Datetime("us", "UTC")).alias("last_attempt_at"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("sent_at"),
        pl.lit("no answer").alias("last_error"),
    )
    refused = [Delivery(i, NOW, "webhook answered HTTP 500") for i in ("a", "b")]
    after = apply_deliveries(table, refused)
    assert after["status"].to_list() == ["unknown", "pending"] and after["attempts"].to_list() == [2, 1]
    sent = apply_deliveries(after, [Delivery("a", NOW, None), Delivery("b", NOW, "x", uncertain=True)])
    assert sent["status"].to_list() == ["sent", "unknown"] and sent["sent_at"].to_list() == [NOW, None]
