"""Slack-compatible webhook notifications of alerts, sent with the standard library.

A message carries the alert's id, the customer key, the reason, clv, value at risk
and a link to the customer's scores, never contact details. Failures are described
without the webhook URL (it is a secret) and without any response body.

Delivery contract: one POST per alert, whose JSON body has ``alert_id`` and whose
``Idempotency-Key`` header is that same id, the same on every retry. Only a 2xx
answer counts as delivered; a redirect is not followed (a 3xx is a failure). A
request that was sent but got no answer (timeout, dropped connection) is
*uncertain*: the webhook may have acted on it, so it is retried with the same id
and the receiver deduplicates on it.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
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
    """The webhook did not accept a message; the text is safe to store and log. ``uncertain`` when the request
    was sent but no answer came, so the webhook may have received it."""

    def __init__(self, text: str, uncertain: bool = False) -> None:
        super().__init__(text)
        self.uncertain = uncertain


@dataclass(frozen=True)
class Delivery:
    """The outcome of one POST: sent (``error`` None), refused or unreachable, or uncertain (sent, no answer)."""

    alert_id: str
    attempted_at: dt.datetime
    error: str | None
    uncertain: bool = False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirected POST would be replayed as a GET by urllib, and its 200 would count a message nobody got.
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def webhook_url(config: AlertsConfig, environ: Mapping[str, str]) -> str | None:
    """The webhook URL from the environment variable the config names, or None when it is unset or empty."""
    return url_from_env(config.webhook_env, environ)


def url_from_env(variable: str, environ: Mapping[str, str]) -> str | None:
    """The http(s) URL held by environment variable ``variable``, or None when it is unset or empty."""
    url = environ.get(variable, "").strip()
    if not url:
        return None
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        # The value is a secret: name the variable, never echo it.
        raise ConfigError(f"environment variable {variable} must hold an http(s) webhook URL")
    return url


def customer_link(template: str, customer_key: str) -> str:
    """The template's ``{customer_key}`` filled with the URL-quoted key."""
    return template.format(customer_key=urllib.parse.quote(customer_key, safe=""))


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


def message(alert: Mapping[str, Any], link_template: str) -> dict[str, Any]:
    """The Slack-compatible JSON body for one cx_alerts row: its ``alert_id`` (for the receiver to deduplicate
    on), a ``text`` fallback and ``blocks``."""
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
        "alert_id": alert["alert_id"],
        "text": text,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"CX alert: {title}"}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{n}*\n{v}"} for n, v in fields]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"alert `{alert['alert_id']}`"}]},
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Open customer"}, "url": link}
                ],
            },
        ],
    }


def post_json(
    url: str,
    body: dict[str, Any],
    timeout: float,
    idempotency_key: str,
    agent: str = "cxdata-alerts",
    token: str | None = None,
) -> None:
    """POST ``body`` as JSON with an ``Idempotency-Key`` header (and a bearer ``token``, when given); raise
    `NotificationError` unless the webhook answers 2xx (redirects are not followed)."""
    headers = {"Content-Type": "application/json", "User-Agent": agent, "Idempotency-Key": idempotency_key}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url, data=json.dumps(body, default=str).encode("utf-8"), headers=headers, method="POST"
    )
    try:
        # The status line decides delivery; the body, if any, is never read (nor logged).
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise NotificationError(f"webhook answered HTTP {exc.code}") from None
    except urllib.error.URLError as exc:  # urllib wraps only errors raised before the request was sent
        raise NotificationError(_describe(exc.reason, timeout, sent=False)) from None
    except (OSError, http.client.HTTPException) as exc:  # sent, but no (readable) answer: it may have arrived
        raise NotificationError(_describe(exc, timeout, sent=True), uncertain=True) from None
    if not 200 <= status < 300:
        raise NotificationError(f"webhook answered HTTP {status}")


def _describe(reason: object, timeout: float, sent: bool) -> str:
    if sent:
        if isinstance(reason, TimeoutError):
            return f"webhook did not answer within {timeout:g} s (delivery unknown)"
        return f"webhook sent no answer: {type(reason).__name__} (delivery unknown)"[:_MAX_ERROR]
    if isinstance(reason, TimeoutError):
        return f"webhook unreachable: no connection within {timeout:g} s"
    if isinstance(reason, OSError) and reason.strerror:
        text = f"webhook unreachable: {type(reason).__name__}: {reason.strerror}"
    else:
        text = f"webhook unreachable: {type(reason).__name__}"
    return text[:_MAX_ERROR]


def deliver(pending: pl.DataFrame, url: str, config: AlertsConfig) -> Iterator[Delivery]:
    """POST each pending alert in order, yielding each outcome as soon as it is known (so the caller can store
    it before the next POST), and stopping after the first failure (a failing webhook would fail the rest
    too, and each try costs up to the timeout); alerts not tried stay as they were."""
    # One request per alert is inherent to a webhook, so this loop is over HTTP calls, not data.
    for alert in pending.iter_rows(named=True):
        attempted_at = dt.datetime.now(dt.UTC)
        alert_id = alert["alert_id"]
        try:
            post_json(url, message(alert, config.link_template), config.timeout_seconds, alert_id)
        except NotificationError as exc:
            yield Delivery(alert_id, attempted_at, str(exc), exc.uncertain)
            return
        yield Delivery(alert_id, attempted_at, None)
