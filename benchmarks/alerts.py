"""Benchmark: alert detection and the alerts step on DuckDB over synthetic surveys, tickets and scores.

Data (numpy, seeded): ``--customers`` scored customers with uniform clv percentiles,
``--surveys`` answers (NPS, CSAT, CES, uniform scores) and ``--tickets`` tickets with
exponential first-response times (mean 12 h), all spread over the 90 days before
``now``. The step runs twice (no webhook): the second run must add no alert, which
the script checks. A third run delivers ``max_notifications_per_run`` alerts to a
loopback webhook that answers 200 at once, which times the save of each alert's
cx_alerts row after its POST (the webhook's own latency excluded), and checks each
POST's alert_id.
Target (2 cores): detection <= 2 s, each step run <= 20 s at the defaults.

    uv run python benchmarks/alerts.py [--customers 200000] [--surveys 2000000] [--tickets 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import polars as pl

from cxdata.alerts import alerts_step
from cxdata.alerts.detect import detect_alerts
from cxdata.config import AlertsConfig, ProjectConfig, SourceConfig
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse

NOW = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
SPAN_US = 90 * 86_400 * 1_000_000


def frames(customers: int, surveys: int, tickets: int, seed: int = 0) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    keys = np.char.add("C", np.arange(customers).astype(str))
    start = int(NOW.timestamp() * 1_000_000) - SPAN_US
    kinds = rng.choice(["nps", "csat", "ces"], surveys)
    high = np.select([kinds == "nps", kinds == "csat"], [10, 5], 7)
    low = np.where(kinds == "nps", 0, 1)
    opened = start + rng.integers(0, SPAN_US, tickets)
    response = opened + (rng.exponential(12, tickets) * 3_600_000_000).astype(np.int64)
    utc = pl.Datetime("us", "UTC")
    return {
        "customer_scores": pl.DataFrame(
            {
                "customer_key": keys,
                "clv": rng.gamma(2, 200, customers),
                "clv_percentile": rng.uniform(0, 100, customers),
                "value_at_risk": rng.gamma(2, 50, customers),
            }
        ),
        "fct_surveys": pl.DataFrame(
            {
                "response_id": np.char.add("R", np.arange(surveys).astype(str)),
                "customer_key": keys[rng.integers(0, customers, surveys)],
                "kind": kinds,
                "score": (low + rng.integers(0, high - low + 1)).astype(np.float64),
                "responded_at": pl.Series(start + rng.integers(0, SPAN_US, surveys)).cast(utc),
            }
        ),
        "fct_tickets": pl.DataFrame(
            {
                "ticket_id": np.char.add("T", np.arange(tickets).astype(str)),
                "customer_key": keys[rng.integers(0, customers, tickets)],
                "opened_at": pl.Series(opened).cast(utc),
                "first_response_at": pl.Series(response).cast(utc),
            }
        ),
    }


class _Accept(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.ids.append((body["alert_id"], self.headers["Idempotency-Key"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def delivery_run(wh: Warehouse, config: ProjectConfig) -> None:
    """One step run that POSTs up to max_notifications_per_run alerts to a loopback webhook."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Accept)
    server.ids = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {config.alerts.webhook_env: f"http://127.0.0.1:{server.server_port}/hook"}
        started = time.perf_counter()
        report = alerts_step(wh, config, RunContext("run-deliver", NOW, NOW), environ=env)
        seconds = time.perf_counter() - started
    finally:
        server.shutdown()
        server.server_close()
    per_post = seconds / max(report.sent, 1)
    print(f"alerts_step (webhook run): {report.summary} in {seconds:.2f} s ({per_post * 1000:.0f} ms per POST)")
    keys = [key for _, key in server.ids]
    assert keys == [alert_id for alert_id, _ in server.ids] and len(set(keys)) == report.sent, "one id per alert"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--surveys", type=int, default=2_000_000)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    args = parser.parse_args()
    data = frames(args.customers, args.surveys, args.tickets)
    settings = AlertsConfig()
    started = time.perf_counter()
    found = detect_alerts(
        data["fct_surveys"].lazy(),
        data["fct_tickets"].lazy(),
        data["customer_scores"].lazy(),
        settings,
        NOW - dt.timedelta(days=settings.lookback_days),
        NOW,
    ).collect()
    print(f"detect_alerts: {found.height:,} alerts in {time.perf_counter() - started:.2f} s")
    with tempfile.TemporaryDirectory() as folder:
        config = ProjectConfig(name="bench", sources={"orders": SourceConfig(path="o.csv")}, base_dir=Path(folder))
        with Warehouse(f"duckdb:///{Path(folder) / 'wh.duckdb'}") as wh:
            for name, frame in data.items():
                wh.publish(name, frame)
            for attempt in ("first", "second"):
                started = time.perf_counter()
                report = alerts_step(wh, config, RunContext(f"run-{attempt}", NOW, NOW), environ={})
                print(f"alerts_step ({attempt} run): {report.summary} in {time.perf_counter() - started:.2f} s")
            delivery_run(wh, config)
    assert report.new_alerts == 0 and report.total == found.height, "a rerun must not add alerts"


if __name__ == "__main__":
    main()
