"""The bodies the HTTP API answers with, as pydantic models: FastAPI validates every JSON answer against them and
generates /openapi.json from them.

A field that is a warehouse column carries that column's description from ``sql/<table>.sql`` (the comments
that also document the warehouse and docs/data_dictionary.md), so the API and the tables cannot describe one
column two ways. Score and touchpoint rows hold the columns the table has: a field is left out of an answer,
never invented, when the warehouse table lacks that column (an older schema), and null when the row has no
value.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from cxdata.warehouse.comments import comments_for

SCORES = "customer_scores"
HISTORY = "customer_scores_history"
MEMBERS = "segment_members"
SUMMARY = "segment_summary"
PII = "dim_customer_pii"
TOUCHPOINTS = "touchpoint_scores"
EVENTS = "segment_events"
MEMBERSHIP = "segment_membership"


# Moments as Python writes them (2026-06-30T22:00:00+00:00), as the API always has; pydantic would write Z.
Moment = Annotated[
    dt.datetime,
    PlainSerializer(dt.datetime.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


@cache
def _described(table: str) -> dict[str, str]:
    return {c.column: c.text for c in comments_for(table) if c.column is not None}


def column(table: str, name: str, default: Any = None) -> Any:
    """A pydantic Field described by the comment on ``table.name`` in sql/ (default ``default``; ``...`` for a
    required field); KeyError naming the column when sql/ does not document it."""
    described = _described(table)
    if name not in described:
        raise KeyError(f"sql/{table}.sql has no comment on column {name!r}")
    return Field(default, description=described[name])


class _Body(BaseModel):
    # A table may grow columns before the model does: they are left out of the answer, never a failure.
    model_config = ConfigDict(extra="ignore")


class Error(_Body):
    """Every error: what went wrong and, where it helps, what would work."""

    error: str = Field(description="What went wrong, in words; never the value of a personal identifier.")
    known: list[str] | None = Field(
        None, description="Unknown segment only: the segments there are at that scoring moment."
    )


class Health(_Body):
    """The server is up (it does not query the warehouse)."""

    status: Literal["ok"] = Field(description="Always ok.")


class SegmentSummary(_Body):
    """One segment at a scoring moment, from segment_summary (only segment and customers without it)."""

    segment: str = column(SUMMARY, "segment", ...)
    customers: int = column(SUMMARY, "customers", ...)
    total_clv: float | None = column(SUMMARY, "total_clv")
    total_value_at_risk: float | None = column(SUMMARY, "total_value_at_risk")
    mean_churn_probability: float | None = column(SUMMARY, "mean_churn_probability")
    rule: str | None = column(SUMMARY, "rule")
    suggested_action: str | None = column(SUMMARY, "suggested_action")
    thresholds_json: str | None = column(SUMMARY, "thresholds_json")
    currency: str | None = column(SUMMARY, "currency")


class SegmentList(_Body):
    """The segments at one scoring moment, in rule order."""

    as_of: Moment | None = column(SUMMARY, "as_of", ...)
    segments: list[SegmentSummary] = Field(description="One entry per segment rule, empty segments included.")


class SegmentMember(_Body):
    """A member of a segment with its scores (null when the customer has no score row) and, when asked for with
    the personal scope, its contacts."""

    segment: str = column(MEMBERS, "segment", ...)
    as_of: Moment = column(MEMBERS, "as_of", ...)
    customer_key: str = column(MEMBERS, "customer_key", ...)
    p_alive: float | None = column(SCORES, "p_alive")
    expected_purchases: float | None = column(SCORES, "expected_purchases")
    expected_spend: float | None = column(SCORES, "expected_spend")
    clv: float | None = column(SCORES, "clv")
    clv_percentile: float | None = column(SCORES, "clv_percentile")
    churn_probability: float | None = column(SCORES, "churn_probability")
    churn_percentile: float | None = column(SCORES, "churn_percentile")
    value_at_risk: float | None = column(SCORES, "value_at_risk")
    churn_reason_1: str | None = column(SCORES, "churn_reason_1")
    churn_reason_2: str | None = column(SCORES, "churn_reason_2")
    churn_reason_3: str | None = column(SCORES, "churn_reason_3")
    model_run_id: str | None = column(SCORES, "model_run_id")
    churn_model_run_id: str | None = column(SCORES, "churn_model_run_id")
    currency: str | None = Field(
        None, description="ISO 4217 code of expected_spend, clv and value_at_risk (the project's config currency)."
    )
    email: str | None = column(PII, "email")
    phone: str | None = column(PII, "phone")
    email_sha256: str | None = Field(
        None,
        description="contacts=hashed: lower-case hex SHA-256 of the email trimmed and lower-cased (Google Ads "
        "Customer Match); null without an email. Personal data.",
    )
    phone_sha256: str | None = Field(
        None,
        description="contacts=hashed: lower-case hex SHA-256 of the phone in E.164 (a + and the digits); null "
        "without a phone. Personal data.",
    )


class SegmentPage(_Body):
    """One page of a segment's members by customer_key; follow ``next`` for the rest."""

    segment: str = column(MEMBERS, "segment", ...)
    as_of: Moment = column(MEMBERS, "as_of", ...)
    contacts: Literal["none", "raw", "hashed"] = Field(description="The contacts asked for (contacts=).")
    purpose: Literal["email", "sms", "ads"] | None = Field(
        None, description="What the contacts are for (purpose=): only members who agreed to it are listed."
    )
    count: int = Field(description="Members on this page.", ge=0)
    items: list[SegmentMember] = Field(description="The members, by customer_key.")
    next_after: str | None = Field(description="Cursor of the next page (after=); null on the last page.")
    next: str | None = Field(description="Path and query of the next page; null on the last page.")


class ScoreRow(_Body):
    """One scored run of a customer: a row of customer_scores_history (customer_scores before any history)."""

    customer_key: str = column(HISTORY, "customer_key", ...)
    as_of: Moment = column(HISTORY, "as_of", ...)
    trained_at: Moment | None = Field(
        None,
        description="When the run that produced the scores started, UTC (model_runs.trained_at, the run's "
        "run_context.started_at): orders runs at one as_of; null when model_runs has no row for the run.",
    )
    model_run_id: str | None = column(HISTORY, "model_run_id")
    frequency: float | None = column(HISTORY, "frequency")
    recency: float | None = column(HISTORY, "recency")
    T: float | None = column(HISTORY, "T")
    monetary_value: float | None = column(HISTORY, "monetary_value")
    p_alive: float | None = column(HISTORY, "p_alive")
    expected_purchases: float | None = column(HISTORY, "expected_purchases")
    expected_spend: float | None = column(HISTORY, "expected_spend")
    clv: float | None = column(HISTORY, "clv")
    clv_percentile: float | None = column(HISTORY, "clv_percentile")
    churn_model_run_id: str | None = column(HISTORY, "churn_model_run_id")
    churn_probability: float | None = column(HISTORY, "churn_probability")
    churn_percentile: float | None = column(HISTORY, "churn_percentile")
    churn_reason_1: str | None = column(HISTORY, "churn_reason_1")
    churn_reason_2: str | None = column(HISTORY, "churn_reason_2")
    churn_reason_3: str | None = column(HISTORY, "churn_reason_3")
    value_at_risk: float | None = column(HISTORY, "value_at_risk")
    currency: str | None = column(HISTORY, "currency")
    segment: str | None = column(HISTORY, "segment")


class Spell(_Body):
    """One stay of the customer in a segment (a row of segment_membership)."""

    segment: str = column(MEMBERSHIP, "segment", ...)
    entered_at: Moment = column(MEMBERSHIP, "entered_at", ...)
    exited_at: Moment | None = column(MEMBERSHIP, "exited_at")
    clv_at_entry: float | None = column(MEMBERSHIP, "clv_at_entry")
    currency: str | None = column(MEMBERSHIP, "currency")


class CustomerScores(_Body):
    """Every scored run of one customer, newest first: later as_of first, then the later run (trained_at), then
    the larger model_run_id; and their stays in segments."""

    customer_key: str = column(HISTORY, "customer_key", ...)
    scores: list[ScoreRow] = Field(description="The customer's score rows, newest first.", min_length=1)
    membership: list[Spell] | None = Field(
        None,
        description="The customer's stays in segments, latest entry first (segment_membership); left out "
        "until the membership history is published.",
    )


class SegmentChange(_Body):
    """One entry into or exit from the segment (a row of segment_events)."""

    customer_key: str = column(EVENTS, "customer_key", ...)
    event: Literal["entered", "exited"] = column(EVENTS, "event", ...)
    as_of: Moment = column(EVENTS, "as_of", ...)
    run_id: str = column(EVENTS, "run_id", ...)


class SegmentChanges(_Body):
    """Who entered and left a segment since a run (after its scoring) or a day (from its start), in scoring
    order then customer_key; a page at a time."""

    segment: str = column(EVENTS, "segment", ...)
    since: Moment = Field(description="The moment since= stands for: a run's scoring, or a day's start, UTC.")
    since_kind: Literal["run", "day"] = Field(
        description="run: changes after that run's scoring; day: changes of scorings from that day on."
    )
    through: Moment | None = Field(description="The latest scoring the history holds, UTC.")
    count: int = Field(description="Changes on this page.", ge=0)
    items: list[SegmentChange] = Field(description="The changes, by as_of then customer_key.")
    next_after: str | None = Field(description="Cursor of the next page (after=); null on the last page.")
    next: str | None = Field(description="Path and query of the next page; null on the last page.")


class CustomerMatch(_Body):
    """A customer found by a personal identifier, with its newest score row."""

    customer_key: str = column(HISTORY, "customer_key", ...)
    latest_scores: ScoreRow | None = Field(
        description="The newest score row (the first of /customers/{customer_key}/scores); null when the "
        "customer has never been scored (no kept order)."
    )


class CustomerLookup(_Body):
    """The customers an email or customer_ref identifies (identity resolution links each to one customer)."""

    matched_by: Literal["email", "customer_ref"] = Field(description="The identifier looked up.")
    customers: list[CustomerMatch] = Field(description="The customers found, by customer_key.", min_length=1)


class Touchpoint(_Body):
    """One touchpoint of the investment table (touchpoint_scores)."""

    as_of: Moment = column(TOUCHPOINTS, "as_of", ...)
    touchpoint: str = column(TOUCHPOINTS, "touchpoint", ...)
    source: str | None = column(TOUCHPOINTS, "source")
    channel: str | None = column(TOUCHPOINTS, "channel")
    campaign: str | None = column(TOUCHPOINTS, "campaign")
    conversions: float | None = column(TOUCHPOINTS, "conversions")
    revenue: float | None = column(TOUCHPOINTS, "revenue")
    attributed_clv: float | None = column(TOUCHPOINTS, "attributed_clv")
    removal_effect: float | None = column(TOUCHPOINTS, "removal_effect")
    incremental_orders: float | None = column(TOUCHPOINTS, "incremental_orders")
    incremental_revenue: float | None = column(TOUCHPOINTS, "incremental_revenue")
    churn_effect: float | None = column(TOUCHPOINTS, "churn_effect")
    churn_effect_low: float | None = column(TOUCHPOINTS, "churn_effect_low")
    churn_effect_high: float | None = column(TOUCHPOINTS, "churn_effect_high")
    retention_value: float | None = column(TOUCHPOINTS, "retention_value")
    incremental_value: float | None = column(TOUCHPOINTS, "incremental_value")
    incremental_value_low: float | None = column(TOUCHPOINTS, "incremental_value_low")
    incremental_value_high: float | None = column(TOUCHPOINTS, "incremental_value_high")
    placebo_bias: float | None = column(TOUCHPOINTS, "placebo_bias")
    placebo_sd: float | None = column(TOUCHPOINTS, "placebo_sd")
    linked_share: float | None = column(TOUCHPOINTS, "linked_share")
    cost: float | None = column(TOUCHPOINTS, "cost")
    currency: str | None = column(TOUCHPOINTS, "currency")
    roi: float | None = column(TOUCHPOINTS, "roi")
    roi_low: float | None = column(TOUCHPOINTS, "roi_low")
    roi_high: float | None = column(TOUCHPOINTS, "roi_high")
    hurdle: float | None = column(TOUCHPOINTS, "hurdle")
    recommendation: str | None = column(TOUCHPOINTS, "recommendation")
    evidence: str | None = column(TOUCHPOINTS, "evidence")
    experiment_treated: int | None = column(TOUCHPOINTS, "experiment_treated")
    experiment_control: int | None = column(TOUCHPOINTS, "experiment_control")
    more_data_factor: float | None = column(TOUCHPOINTS, "more_data_factor")
    more_weeks: float | None = column(TOUCHPOINTS, "more_weeks")
    model_run_id: str | None = column(TOUCHPOINTS, "model_run_id")


class Touchpoints(_Body):
    """The touchpoint investment table at one scoring moment, by channel and touchpoint."""

    touchpoints: list[Touchpoint] = Field(description="One row per touchpoint.")
