"""Slack-compatible webhook notifications of alerts, sent with the standard library.

A message carries the customer key, the reason, clv, value at risk and a link to
the customer's scores, never contact details. Failures are described without the
webhook URL (it is a secret) and without any response body.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from cxdata.config import AlertsConfig
from cxdata.errors import ConfigError

REASON_TITLES = {
    "nps_detractor": "NPS detractor",
    "low_csat": "Low CSAT",
    "high_effort": "High customer effort",
    "sla_breach": "First-response SLA breached",
}
_MAX_ERROR = 200


class NotificationError(RuntimeError):
    """The webhook did not accept a message; the text is safe to store and log."""


@dataclass(frozen=True)
class Delivery:
    """The outcome of one POST: sent, or the safe error text."""

    alert_id: str
    attempted_at: dt.datetime
    error: str | None


def webhook_url(config: AlertsConfig, environ: Mapping[str, str]) -> str | None:
    """The webhook URL from the environment variable the config names, or None when it is unset or empty."""
    url = environ.get(config.webhook_env, "").strip()
    if not url:
        return None
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        # The value is a secret: name the variable, never echo it.
        raise ConfigError(f"environment variable {config.webhook_env} must hold an http(s) webhook URL")
    return url


def customer_link(template: str, customer_key: str) -> str:
    """The template's ``{customer_key}`` filled with the URL-quoted key."""
    return template.format(customer_key=urllib.parse.quote(customer_key, safe=""))


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


def message(alert: Mapping[str, Any], link_template: str) -> dict[str, Any]:
    """The Slack-compatible JSON body (``text`` fallback plus ``blocks``) for one cx_alerts row."""
    key, reason = alert["customer_key"], alert["reason"]
    title = REASON_TITLES.get(reason, reason)
    link = customer_link(link_template, key)
    clv, at_risk = _money(alert["clv"]), _money(alert["value_at_risk"])
    percentile = alert["clv_percentile"]
    text = f"CX alert: {title} for customer {key} (CLV {clv}, value at risk {at_risk}): {link}"
    fields = [
        ("Reason", f"{title} ({alert['detail']})"),
        ("Customer", f"`{key}`"),
        ("CLV", f"{clv} (percentile {percentile:.0f})" if percentile is not None else clv),
        ("Value at risk", at_risk),
        ("Source", f"{alert['source_table']} {alert['source_id']}"),
    ]
    return {
        "text": text,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"CX alert: {title}"}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{n}*\n{v}"} for n, v in fields]},
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Open customer"}, "url": link}
                ],
            },
        ],
    }


def post_json(url: str, body: dict[str, Any], timeout: float) -> None:
    """POST ``body`` as JSON; raise `NotificationError` unless the webhook answers 2xx."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "cxdata-alerts"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise NotificationError(f"webhook answered HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise NotificationError(_describe(exc.reason, timeout)) from None
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, garbled answers
        raise NotificationError(_describe(exc, timeout)) from None


def _describe(reason: object, timeout: float) -> str:
    if isinstance(reason, TimeoutError):
        return f"webhook did not answer within {timeout:g} s"
    if isinstance(reason, OSError) and reason.strerror:
        text = f"webhook unreachable: {type(reason).__name__}: {reason.strerror}"
    else:
        text = f"webhook unreachable: {type(reason).__name__}"
    return text[:_MAX_ERROR]


def deliver(pending: pl.DataFrame, url: str, config: AlertsConfig) -> list[Delivery]:
    """POST each pending alert in order, stopping at the first failure (a failing webhook would fail the rest
    too, and each try costs up to the timeout); alerts not tried stay as they were."""
    outcomes = []
    # One request per alert is inherent to a webhook, so this loop is over HTTP calls, not data.
    for alert in pending.iter_rows(named=True):
        attempted_at = dt.datetime.now(dt.UTC)
        try:
            post_json(url, message(alert, config.link_template), config.timeout_seconds)
        except NotificationError as exc:
            outcomes.append(Delivery(alert["alert_id"], attempted_at, str(exc)))
            break
        outcomes.append(Delivery(alert["alert_id"], attempted_at, None))
    return outcomes
