"""The alerts step: detect new alerts, keep them in cx_alerts, notify the pending ones.

New alerts are published as ``pending`` before any notification is tried, so a
crash or a webhook outage loses nothing: every run retries what is not ``sent``.
Delivery is at-least-once with an idempotency key (`cxdata.alerts.notify`): each
POST carries the alert's stable ``alert_id``, an alert is marked ``sent`` only
after a 2xx answer, and its row is replaced (one committed DELETE + INSERT) right
after each POST, before the next one, so a process killed between a delivery and its save re-sends that one
alert, with the same id, and nothing else. A POST that got no answer leaves the
alert ``unknown`` (the webhook may have it) and it is retried with the same id.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from cxdata.alerts.detect import ALERT_COLUMNS, detect_alerts
from cxdata.alerts.notify import Delivery, deliver, webhook_url
from cxdata.config import DEFAULT_CURRENCY, ProjectConfig
from cxdata.faults import crash_point
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse

TABLE = "cx_alerts"
PENDING, UNKNOWN, SENT = "pending", "unknown", "sent"
UNSENT = (PENDING, UNKNOWN)  # what the next run (re)sends
_UTC = pl.Datetime("us", "UTC")
TABLE_COLUMNS = {
    **ALERT_COLUMNS,
    "currency": pl.String,  # of clv and value_at_risk: the project's
    "created_at": _UTC,
    "run_id": pl.String,
    "as_of": _UTC,
    "status": pl.String,
    "attempts": pl.Int64,
    "last_attempt_at": _UTC,
    "sent_at": _UTC,
    "last_error": pl.String,
}


@dataclass(frozen=True)
class AlertsReport:
    """What one alerts run did; ``notifications`` is False when no webhook URL is configured. ``failed`` counts
    this run's POSTs that were not accepted; ``pending`` the alerts not yet sent, of which ``unknown`` may have
    reached the webhook (no answer came) and will be re-sent with the same id."""

    run_id: str
    enabled: bool
    notifications: bool
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    new_alerts: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    failed: int = 0
    pending: int = 0
    unknown: int = 0
    total: int = 0
    last_error: str | None = None
    skipped: str | None = None

    @property
    def summary(self) -> str:
        """One line for logs and metadata (counts only: no customer data)."""
        if not self.enabled:
            return "alerts are disabled (alerts.enabled: false)"
        if self.skipped:
            return f"no alerts: {self.skipped}"
        told = (
            f"{self.sent} sent, {self.failed} failed"
            if self.notifications
            else "notifications off (no webhook URL in the environment)"
        )
        unknown = f" ({self.unknown} delivery unknown)" if self.unknown else ""
        return f"{self.new_alerts} new alert(s); {told}; {self.pending} pending{unknown} of {self.total}"


def alert_window(config: ProjectConfig, as_of: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """``(start, end]`` of the records that may alert: the ``alerts.lookback_days`` before the run's ``as_of``."""
    return as_of - dt.timedelta(days=config.alerts.lookback_days), as_of


def read_alerts(wh: Warehouse) -> pl.DataFrame:
    """cx_alerts as stored, or an empty frame of its columns before the first run."""
    if not wh.exists(TABLE):
        return pl.DataFrame(schema=TABLE_COLUMNS)
    held = wh.read(TABLE)
    return held.select(
        [pl.col(n).cast(t) if n in held.columns else pl.lit(None, t).alias(n) for n, t in TABLE_COLUMNS.items()]
    )


def new_alert_rows(
    candidates: pl.LazyFrame, held: pl.DataFrame, run: RunContext, currency: str = DEFAULT_CURRENCY
) -> pl.DataFrame:
    """The candidates whose id cx_alerts does not hold yet, as pending table rows raised by ``run`` (created at
    its start, with its id and as_of), amounts labelled ``currency``."""
    return (
        candidates.join(held.lazy().select("alert_id"), on="alert_id", how="anti")
        .with_columns(
            pl.lit(currency).alias("currency"),
            pl.lit(run.now, _UTC).alias("created_at"),
            pl.lit(run.run_id).alias("run_id"),
            pl.lit(run.as_of, _UTC).alias("as_of"),
            pl.lit(PENDING).alias("status"),
            pl.lit(0, pl.Int64).alias("attempts"),
            pl.lit(None, _UTC).alias("last_attempt_at"),
            pl.lit(None, _UTC).alias("sent_at"),
            pl.lit(None, pl.String).alias("last_error"),
        )
        .select([pl.col(n).cast(t) for n, t in TABLE_COLUMNS.items()])
        .sort("occurred_at", "alert_id")
        .collect()
    )


def apply_deliveries(table: pl.DataFrame, deliveries: list[Delivery]) -> pl.DataFrame:
    """``table`` with one attempt more on each alert tried: delivered ones marked sent, ones that got no answer
    marked unknown, refused ones left as they were (an earlier unanswered try may still have arrived)."""
    if not deliveries:
        return table
    outcome = pl.DataFrame(
        {
            "alert_id": [d.alert_id for d in deliveries],
            "__at": [d.attempted_at for d in deliveries],
            "__error": [d.error for d in deliveries],
            "__uncertain": [d.uncertain for d in deliveries],
        },
        schema={"alert_id": pl.String, "__at": _UTC, "__error": pl.String, "__uncertain": pl.Boolean},
    )
    ok = pl.col("__error").is_null()
    updates = (
        table.join(outcome, on="alert_id", how="inner")
        .with_columns(
            pl.when(ok)
            .then(pl.lit(SENT))
            .when(pl.col("__uncertain"))
            .then(pl.lit(UNKNOWN))
            .otherwise(pl.col("status"))
            .alias("status"),
            (pl.col("attempts") + 1).alias("attempts"),
            pl.col("__at").alias("last_attempt_at"),
            pl.when(ok).then(pl.col("__at")).otherwise(pl.col("sent_at")).alias("sent_at"),
            pl.col("__error").alias("last_error"),
        )
        .select(table.columns)
    )
    return table.update(updates, on="alert_id", include_nulls=True)


def _facts(wh: Warehouse, name: str) -> pl.LazyFrame | None:
    return wh.scan(name) if wh.exists(name) else None


def alerts_step(
    wh: Warehouse, config: ProjectConfig, run: RunContext, environ: Mapping[str, str] | None = None
) -> AlertsReport:
    """Detect new alerts from fct_surveys / fct_tickets and customer_scores in the lookback before ``run``'s
    as_of, add them to cx_alerts as pending, then POST every alert not yet sent (oldest first, up to
    ``max_notifications_per_run``) to the webhook named by ``alerts.webhook_env`` in ``environ`` (default: the
    process environment), saving each alert's cx_alerts row right after its POST."""
    settings = config.alerts
    run_id = run.run_id
    url = webhook_url(settings, os.environ if environ is None else environ)
    if not settings.enabled:
        return AlertsReport(run_id, enabled=False, notifications=url is not None)
    start, end = alert_window(config, run.as_of)
    # alerts stored before cx_alerts had a currency were raised under the same project setting
    held = read_alerts(wh).with_columns(pl.col("currency").fill_null(config.currency))
    surveys, tickets = _facts(wh, "fct_surveys"), _facts(wh, "fct_tickets")
    skipped = None
    if not wh.exists("customer_scores"):
        skipped = "customer_scores does not exist yet (no clv to rank customers by)"
    elif surveys is None and tickets is None:
        skipped = "neither fct_surveys nor fct_tickets exists (no surveys or tickets configured)"
    if skipped is None:
        candidates = detect_alerts(surveys, tickets, wh.scan("customer_scores"), settings, start, end)
        fresh = new_alert_rows(candidates, held, run, config.currency)
    else:
        fresh = pl.DataFrame(schema=TABLE_COLUMNS)
    table = pl.concat([held, fresh], how="vertical")
    if fresh.height or not wh.exists(TABLE):
        wh.publish(TABLE, table)  # before notifying: a new alert is stored even if the webhook is down
    deliveries: list[Delivery] = []
    if url is not None:
        unsent = table.filter(pl.col("status").is_in(UNSENT)).sort("created_at", "occurred_at", "alert_id")
        for delivery in deliver(unsent.head(settings.max_notifications_per_run), url, settings):
            if delivery.error is None:
                crash_point("alerts:delivered")
            # Saved (committed) before the next POST: a crash re-sends at most this alert, and with the same id.
            table = apply_deliveries(table, [delivery])
            tried = table.filter(pl.col("alert_id") == delivery.alert_id)
            wh.append(TABLE, tried, replace={"alert_id": delivery.alert_id})
            crash_point("alerts:saved")
            deliveries.append(delivery)
    failures = [d.error for d in deliveries if d.error is not None]
    return AlertsReport(
        run_id,
        enabled=True,
        notifications=url is not None,
        window_start=start,
        window_end=end,
        new_alerts=fresh.height,
        by_reason=dict(fresh.group_by("reason").len().sort("reason").iter_rows()),
        sent=len(deliveries) - len(failures),
        failed=len(failures),
        pending=table.filter(pl.col("status").is_in(UNSENT)).height,
        unknown=table.filter(pl.col("status") == UNKNOWN).height,
        total=table.height,
        last_error=failures[-1] if failures else None,
        skipped=skipped,
    )
