"""The input contract: canonical tables, their columns, types and which are required.

Every source a user configures is mapped onto one of these tables. Ingest,
the synthetic generator, validation and the marts all read this one
definition, so the contract lives in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

Kind = Literal["id", "text", "timestamp", "date", "amount", "score", "flag"]

UTC_TIMESTAMP = pl.Datetime("us", "UTC")

_DTYPES: dict[str, pl.DataType] = {
    "id": pl.String(),
    "text": pl.String(),
    "timestamp": UTC_TIMESTAMP,
    "date": pl.Date(),
    "amount": pl.Float64(),
    "score": pl.Float64(),
    "flag": pl.Boolean(),  # yes/no, true/false, 1/0 and the like (`cxdata.io.staging`)
}


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, what kind of value it holds and whether a source must have it."""

    name: str
    kind: Kind
    required: bool = False
    description: str = ""
    # a source may leave it out: each record then gets "<file>:<record number>" (stable for the same file)
    generated: bool = False

    @property
    def dtype(self) -> pl.DataType:
        return _DTYPES[self.kind]


@dataclass(frozen=True)
class Table:
    """One canonical input table of the contract."""

    name: str
    system: str
    primary_key: str | None
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def polars_schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.dtype for c in self.columns})


def _c(name: str, kind: Kind, required: bool = False, description: str = "") -> Column:
    return Column(name, kind, required, description)


_CUSTOMER_REF = _c("customer_ref", "id", description="customer id in the CRM")
_EMAIL = _c("email", "text", description="email address as the source holds it")
_PHONE = _c("phone", "text", description="phone number as the source holds it")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "customers",
            "sales",
            "customer_ref",
            (
                _c("customer_ref", "id", True, "customer id in the CRM"),
                _EMAIL,
                _PHONE,
                _c("first_name", "text"),
                _c("last_name", "text"),
                _c("postcode", "text"),
                _c("country", "text", description="country code or name"),
                _c("created_at", "timestamp", description="when the CRM record was created, UTC"),
                _c(
                    "consent_email", "flag", description="agreed to marketing email (yes/no) at consent_updated_at"
                ),
                _c("consent_sms", "flag", description="agreed to marketing SMS (yes/no) at consent_updated_at"),
                _c("consent_ads", "flag", description="agreed to ad audiences (yes/no) at consent_updated_at"),
                _c("consent_updated_at", "timestamp", description="when the consent columns were stated, UTC"),
            ),
        ),
        Table(
            "orders",
            "sales",
            "order_id",
            (
                Column("order_id", "id", True, "order id; without one, '<file>:<record number>'", generated=True),
                _CUSTOMER_REF,
                _EMAIL,
                _PHONE,
                _c("ordered_at", "timestamp", True, "when the order was placed, UTC"),
                _c("amount", "amount", True, "order value; negative only for refunds"),
                _c("currency", "text"),
                _c("channel", "text", description="sales channel: web, store, phone ..."),
                _c("status", "text", description="order status: completed, refunded ..."),
            ),
        ),
        Table(
            "tickets",
            "service",
            "ticket_id",
            (
                _c("ticket_id", "id", True),
                _CUSTOMER_REF,
                _EMAIL,
                _PHONE,
                _c("opened_at", "timestamp", True, "when the ticket was opened, UTC"),
                _c("first_response_at", "timestamp", description="first agent response, UTC"),
                _c("resolved_at", "timestamp", description="when the ticket was resolved, UTC"),
                _c("channel", "text", True, "service channel: phone, chat, email ..."),
                _c("category", "text"),
            ),
        ),
        Table(
            "surveys",
            "service",
            "response_id",
            (
                _c("response_id", "id", True),
                _c("ticket_id", "id", description="ticket the survey followed, if any"),
                _CUSTOMER_REF,
                _EMAIL,
                _c("responded_at", "timestamp", True, "when the answer was given, UTC"),
                _c("kind", "text", True, "csat (1-5), nps (0-10) or ces (1-7)"),
                _c("score", "score", True, "the answer on the scale of its kind"),
            ),
        ),
        Table(
            "web_events",
            "web",
            "event_id",
            (
                _c("event_id", "id", True),
                _c("anonymous_id", "id", True, "cookie or device id"),
                _CUSTOMER_REF,
                _EMAIL,
                _c("occurred_at", "timestamp", True, "when the event happened, UTC"),
                _c("event_type", "text", True, "page_view, login, form_submit, add_to_cart, purchase ..."),
                _c("page_path", "text"),
                _c("utm_source", "text"),
                _c("utm_medium", "text"),
                _c("utm_campaign", "text"),
                _c("referrer", "text"),
            ),
        ),
        Table(
            "touches",
            "marketing",
            "touch_id",
            (
                _c("touch_id", "id", True),
                _CUSTOMER_REF,
                _EMAIL,
                _c("anonymous_id", "id", description="cookie or device id the touch reached"),
                _c("occurred_at", "timestamp", True, "when the touch happened, UTC"),
                _c("channel", "text", True, "marketing channel: email, paid_search, social ..."),
                _c("campaign", "text"),
                _c("kind", "text", True, "sent, open, click or impression"),
            ),
        ),
        Table(
            "touchpoint_costs",
            "finance",
            None,
            (
                _c("period_start", "date", True, "first day of the period the cost covers"),
                _c("channel", "text", True),
                _c("campaign", "text"),
                _c("cost", "amount", True, "spend in the period"),
            ),
        ),
    )
}


# Not one of the contract's sources: the requests to erase people (`privacy.requests`, docs/design.md §10.10),
# read on every run by the erasure asset and never staged, since each row names someone to forget.
ERASURE_REQUESTS = Table(
    "erasure_requests",
    "privacy",
    "request_id",
    (
        _c("request_id", "id", True, "the request's reference (a ticket number): letters, digits and ._:-"),
        _c("received_at", "timestamp", description="when the request was received; default: when first read"),
        _CUSTOMER_REF,
        _EMAIL,
        _PHONE,
        _c("customer_key", "id", description="a customer_key of customer_identity"),
    ),
)


def table(name: str) -> Table:
    """Return the canonical table called ``name`` (a source, or the erasure requests); the error lists the
    known tables."""
    if name == ERASURE_REQUESTS.name:
        return ERASURE_REQUESTS
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known tables: {', '.join(TABLES)}") from None


# Columns that identify a person; they never appear in logs, previews or metadata.
PERSONAL_COLUMNS = frozenset({"email", "phone", "first_name", "last_name", "postcode"})

# The event tables and the time of each event: the project-zone day of that time is the row's daily
# partition (`cxdata.io.days`), and the last one staged is the default as_of (`cxdata.run_context`).
EVENT_TIMES = {
    "orders": "ordered_at",
    "tickets": "opened_at",
    "surveys": "responded_at",
    "web_events": "occurred_at",
    "touches": "occurred_at",
}
PARTITION_COLUMN = "partition_day"
