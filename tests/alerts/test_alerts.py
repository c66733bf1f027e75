"""Closed-loop alerts: detection rules, the clv filter, idempotency, and delivery to a real loopback webhook."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from cxdata.alerts import alerts_step
from cxdata.alerts.detect import detect_alerts
from cxdata.alerts.notify import message
from cxdata.config import AlertsConfig, ProjectConfig, SourceConfig
from cxdata.errors import ConfigError
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse
from tests.alerts.webhook import free_port, webhook

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
ENV = "CXDATA_ALERT_WEBHOOK_URL"
UTC = pl.Datetime("us", "UTC")


def ago(hours: float) -> dt.datetime:
    return NOW - dt.timedelta(hours=hours)


def scores(value_at_risk: bool = True) -> pl.DataFrame:
    # C01..C10 with clv 100..1000 and percentile 10..100; C07 has no churn score yet.
    frame = pl.DataFrame(
        {
            "customer_key": [f"C{i:02d}" for i in range(1, 11)],
            "clv": [100.0 * i for i in range(1, 11)],
            "clv_percentile": [10.0 * i for i in range(1, 11)],
            "value_at_risk": [None if i == 7 else 10.0 * i for i in range(1, 11)],
        }
    )
    return frame if value_at_risk else frame.drop("value_at_risk")


def surveys() -> pl.DataFrame:
    rows = [
        # response_id, customer_key, kind, score, hours ago
        ("r-nps6", "C10", "nps", 6.0, 2),  # detractor at the threshold
        ("r-nps7", "C10", "nps", 7.0, 2),  # passive: no alert
        ("r-csat2", "C09", "csat", 2.0, 3),  # at the threshold
        ("r-csat3", "C09", "csat", 3.0, 3),
        ("r-ces5", "C08", "CES", 5.0, 4),  # kind in any case
        ("r-ces4", "C08", "ces", 4.0, 4),
        ("r-low-value", "C05", "nps", 0.0, 1),  # percentile 50: below the default 80
        ("r-unresolved", None, "nps", 0.0, 1),
        ("r-old", "C10", "nps", 0.0, 24 * 9),  # before the 7-day lookback
        ("r-future", "C10", "nps", 0.0, -1),  # after the window end
        ("r-no-var", "C07", "csat", 1.0, 5),  # percentile 70: only with a lower threshold
    ]
    return pl.DataFrame(
        {
            "response_id": [r[0] for r in rows],
            "customer_key": [r[1] for r in rows],
            "kind": [r[2] for r in rows],
            "score": [r[3] for r in rows],
            "responded_at": [ago(r[4]) for r in rows],
            # contact details that must never reach a notification
            "email": ["someone@example.com"] * len(rows),
            "phone": ["+34600111222"] * len(rows),
        },
        schema_overrides={"responded_at": UTC},
    )


def tickets() -> pl.DataFrame:
    rows = [
        # ticket_id, customer_key, opened hours ago, first response hours after opening (None: unanswered)
        ("t-late", "C10", 48, 25.0),  # answered after the 24 h SLA
        ("t-ok", "C10", 48, 23.0),
        ("t-unanswered", "C09", 30, None),  # SLA ran out 6 hours ago
        ("t-not-due", "C09", 10, None),  # 14 hours of SLA left
        ("t-low-value", "C02", 48, 40.0),
    ]
    return pl.DataFrame(
        {
            "ticket_id": [r[0] for r in rows],
            "customer_key": [r[1] for r in rows],
            "opened_at": [ago(r[2]) for r in rows],
            "first_response_at": [None if r[3] is None else ago(r[2] - r[3]) for r in rows],
            "channel": ["chat"] * len(rows),
        },
        schema_overrides={"opened_at": UTC, "first_response_at": UTC},
    )


EXPECTED = {
    "survey:r-nps6": "nps_detractor",
    "survey:r-csat2": "low_csat",
    "survey:r-ces5": "high_effort",
    "ticket:t-late:sla": "sla_breach",
    "ticket:t-unanswered:sla": "sla_breach",
}


def detect(config: AlertsConfig, with_var: bool = True) -> pl.DataFrame:
    start, end = NOW - dt.timedelta(days=config.lookback_days), NOW
    found = detect_alerts(surveys().lazy(), tickets().lazy(), scores(with_var).lazy(), config, start, end)
    return found.collect()


def test_rules_alert_exactly_at_their_thresholds_for_valuable_customers_in_the_window():
    found = detect(AlertsConfig())
    assert dict(zip(found["alert_id"], found["reason"], strict=True)) == EXPECTED
    by_id = {row["alert_id"]: row for row in found.iter_rows(named=True)}
    assert by_id["survey:r-nps6"]["clv"] == 1000.0 and by_id["survey:r-nps6"]["value_at_risk"] == 100.0
    assert by_id["ticket:t-late:sla"]["detail"] == "first response after 25.0 h (SLA 24 h)"
    assert by_id["ticket:t-unanswered:sla"]["detail"] == "no first response within 24 h"
    # an SLA alert happens when the SLA runs out, not when the ticket was opened
    assert by_id["ticket:t-unanswered:sla"]["occurred_at"] == ago(6)


def test_thresholds_and_percentile_are_configurable():
    strict = detect(AlertsConfig(nps_max=5, csat_max=1, ces_min=6, sla_hours=26))
    assert set(strict["alert_id"]) == {"ticket:t-unanswered:sla"}
    wide = detect(AlertsConfig(min_clv_percentile=50))
    assert set(wide["alert_id"]) == set(EXPECTED) | {"survey:r-low-value", "survey:r-no-var"}
    assert wide.filter(pl.col("alert_id") == "survey:r-no-var")["value_at_risk"].to_list() == [None]


def test_missing_churn_columns_give_null_value_at_risk_and_percentiles_from_clv():
    found = detect(AlertsConfig(), with_var=False)
    assert set(found["alert_id"]) == set(EXPECTED)
    assert found["value_at_risk"].null_count() == found.height
    no_percentile = scores().drop("clv_percentile", "value_at_risk").lazy()
    ranked = detect_alerts(surveys().lazy(), None, no_percentile, AlertsConfig(), ago(24 * 7), NOW).collect()
    assert set(ranked["alert_id"]) == {"survey:r-nps6", "survey:r-csat2", "survey:r-ces5"}
    assert sorted(ranked["clv_percentile"]) == [80.0, 90.0, 100.0]


def test_link_template_must_name_the_customer_key_only():
    with pytest.raises(ValueError, match="customer_key"):
        AlertsConfig(link_template="https://bi.example/c/{email}")
    alert = detect(AlertsConfig()).row(0, named=True)
    body = message(alert, "https://bi.example/customers/{customer_key}/scores")
    link = body["blocks"][-1]["elements"][0]["url"]
    assert link == f"https://bi.example/customers/{alert['customer_key']}/scores"
    assert alert["customer_key"] in body["text"] and link in body["text"]


# -- warehouse runs --------------------------------------------------------------------------------------


def at(run_id: str, as_of: dt.datetime = NOW) -> RunContext:
    """A run as of ``as_of`` that started then."""
    return RunContext(run_id, as_of, as_of)


def project(tmp_path, **alerts) -> ProjectConfig:
    return ProjectConfig(
        name="alerts",
        sources={"orders": SourceConfig(path="orders.csv")},
        base_dir=tmp_path,
        alerts=AlertsConfig(**alerts),
    )


@pytest.fixture
def wh(warehouse_target):
    url, schema = warehouse_target
    with Warehouse(url, schema=schema) as warehouse:
        warehouse.publish("customer_scores", scores())
        warehouse.publish("fct_surveys", surveys())
        warehouse.publish("fct_tickets", tickets())
        yield warehouse


def test_without_webhook_alerts_are_stored_pending_and_a_rerun_adds_only_new_records(wh, tmp_path):
    config = project(tmp_path)
    # the run describes NOW but started six hours later: the window ends at its as_of, the rows are created at
    # its start
    first = alerts_step(wh, config, RunContext("run-1", NOW, NOW + dt.timedelta(hours=6)), environ={})
    held = wh.read("cx_alerts")
    same = alerts_step(wh, config, at("run-2"), environ={})
    # two hours on, the answer given one hour after NOW is in the window; the first five are not raised again
    later = alerts_step(wh, config, at("run-3", NOW + dt.timedelta(hours=2)), environ={})
    table = wh.read("cx_alerts")
    assert not first.notifications and "notifications off" in first.summary
    assert first.new_alerts == 5 and first.by_reason == {
        "high_effort": 1,
        "low_csat": 1,
        "nps_detractor": 1,
        "sla_breach": 2,
    }
    assert dict(zip(held["alert_id"], held["reason"], strict=True)) == EXPECTED
    assert set(held["status"]) == {"pending"} and held["attempts"].to_list() == [0] * 5
    assert set(held["as_of"]) == {NOW} and set(held["created_at"]) == {NOW + dt.timedelta(hours=6)}
    assert same.new_alerts == 0 and same.total == 5
    assert later.new_alerts == 1 and later.by_reason == {"nps_detractor": 1} and later.pending == 6
    assert table["alert_id"].n_unique() == table.height == 6
    assert set(table["alert_id"]) - set(EXPECTED) == {"survey:r-future"}
    assert table.filter(pl.col("alert_id") == "survey:r-future")["run_id"].to_list() == ["run-3"]
    assert wh.column_comments("cx_alerts")["alert_id"]


def test_webhook_receives_slack_json_without_contact_details_and_sends_once(wh, tmp_path):
    config = project(tmp_path, link_template="https://bi.example/customers/{customer_key}/scores")
    with webhook() as server:
        env = {ENV: f"http://127.0.0.1:{server.server_port}/hooks/T0/B0/secret"}
        report = alerts_step(wh, config, at("run-1"), environ=env)
        rerun = alerts_step(wh, config, at("run-2"), environ=env)
    assert report.sent == 5 and report.pending == 0 and report.failed == 0
    assert rerun.new_alerts == 0 and rerun.sent == 0
    assert len(server.received) == 5
    hit = server.received[0]
    assert hit.path == "/hooks/T0/B0/secret" and hit.content_type == "application/json"
    assert set(hit.body) == {"alert_id", "text", "blocks"} and hit.body["blocks"][0]["type"] == "header"
    assert sorted(server.alert_ids()) == sorted(EXPECTED)
    assert [h.idempotency_key for h in server.received] == server.alert_ids()
    texts = json.dumps([h.body for h in server.received])
    for key in ("C08", "C09", "C10"):
        assert f"https://bi.example/customers/{key}/scores" in texts
    assert "1,000.00" in texts and "value at risk 100.00" in texts
    assert "@" not in texts and "600111222" not in texts
    table = wh.read("cx_alerts")
    assert set(table["status"]) == {"sent"} and table["attempts"].to_list() == [1] * 5
    assert table["sent_at"].null_count() == 0 and table["last_error"].null_count() == 5


def test_webhook_down_keeps_alerts_pending_and_the_next_run_sends_them_all(wh, tmp_path):
    config = project(tmp_path)
    port = free_port()
    env = {ENV: f"http://127.0.0.1:{port}/hooks/secret-token"}
    down = alerts_step(wh, config, at("run-1"), environ=env)
    table = wh.read("cx_alerts")
    assert down.notifications and down.sent == 0 and down.failed == 1 and down.pending == 5
    assert set(table["status"]) == {"pending"} and table["attempts"].sum() == 1
    error = table.filter(pl.col("attempts") == 1)["last_error"].item()
    assert error.startswith("webhook unreachable") and "secret-token" not in error and str(port) not in error
    # a new alert arrives meanwhile; the next run sends old and new alike
    late = (
        surveys()
        .head(1)
        .with_columns(pl.lit("r-new").alias("response_id"), pl.lit(ago(0.5)).alias("responded_at"))
    )
    wh.publish("fct_surveys", pl.concat([surveys(), late]))
    with webhook(port) as server:
        back = alerts_step(wh, config, at("run-2"), environ=env)
    table = wh.read("cx_alerts")
    assert back.new_alerts == 1 and back.sent == 6 and back.pending == 0
    assert len(server.received) == 6 and table.height == 6 and set(table["status"]) == {"sent"}
    assert table["attempts"].sum() == 7 and table["last_error"].null_count() == 6


def test_webhook_error_status_is_kept_as_the_reason_and_the_batch_stops(wh, tmp_path):
    with webhook(status=500) as server:
        report = alerts_step(
            wh, project(tmp_path), at("run-1"), environ={ENV: f"http://127.0.0.1:{server.server_port}/"}
        )
    assert len(server.received) == 1 and report.failed == 1 and report.pending == 5
    assert report.last_error == "webhook answered HTTP 500"


def test_disabled_alerts_and_bad_webhook_urls(wh, tmp_path):
    off = alerts_step(wh, project(tmp_path, enabled=False), at("run-1"), environ={})
    assert not off.enabled and not wh.exists("cx_alerts")
    with pytest.raises(ConfigError, match=ENV) as err:
        alerts_step(wh, project(tmp_path), at("run-1"), environ={ENV: "file:///etc/passwd"})
    assert "passwd" not in str(err.value)
