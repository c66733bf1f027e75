"""Served lookups besides segments: one customer's scores over time, a customer found by email or customer_ref,
and the touchpoint investment table.

Newest first means: later scoring moment (``as_of``) first; at one moment, the run that started later first
(``model_runs.trained_at``, the run's ``run_context.started_at``, shown as ``trained_at``); then the larger
``model_run_id``, so the order is total even for runs without a model_runs row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
import sqlalchemy as sa

from cxdata.serve import audiences
from cxdata.serve.access import (
    BadValue,
    NotPublished,
    ServeError,
    check_value,
    columns_of,
    day_bounds,
    exists,
    fetch,
    require,
    shown,
    table,
)
from cxdata.warehouse import Warehouse

SCORES = "customer_scores"
HISTORY = "customer_scores_history"
TOUCHPOINTS = "touchpoint_scores"
RUNS = "model_runs"
IDENTITY = "customer_identity"
TRAINED_AT = "trained_at"
_SCORES_HINT = "run the project (cxdata run) so the CLV step scores customers"
Identifier = Literal["email", "customer_ref"]


class UnknownCustomer(ServeError):
    """No scores for that customer_key."""


class UnknownIdentifier(ServeError):
    """No customer has that email or customer_ref; the message never repeats the value (personal data)."""


@dataclass(frozen=True)
class Found:
    """Customers found by a personal identifier: ``rows`` has customer_key, then the columns of their newest
    score row (all null for a customer without scores) and ``scored`` (whether there is one)."""

    matched_by: Identifier
    rows: pl.DataFrame


@dataclass(frozen=True)
class _Runs:
    """How scores are read newest first: the table (history when published) and its clause, what to select
    from (it joined to the moment of each model run), the columns (every score column and trained_at), the
    ordering."""

    source: str
    scores: sa.TableClause
    joined: Any
    selected: list[Any]
    order: list[Any]


def _newest_first(wh: Warehouse) -> _Runs:
    source = HISTORY if exists(wh, HISTORY) else SCORES
    columns = require(wh, source, _SCORES_HINT)
    scores = table(wh, source, *columns)
    joined: Any = scores
    trained: Any = None
    runs = columns_of(wh).get(RUNS, [])
    if "model_run_id" in columns and {"model_run_id", TRAINED_AT} <= set(runs):
        held = table(wh, RUNS, "model_run_id", TRAINED_AT)
        # one moment per model run even if a rerun appended its row twice, so the join never copies scores
        moments = (
            sa.select(held.c.model_run_id, sa.func.max(held.c[TRAINED_AT]).label(TRAINED_AT))
            .group_by(held.c.model_run_id)
            .subquery("runs")
        )
        joined = scores.outerjoin(moments, moments.c.model_run_id == scores.c.model_run_id)
        trained = moments.c[TRAINED_AT]
    ties = [trained] if trained is not None else []
    ties += [scores.c[c] for c in ("model_run_id", "churn_model_run_id") if c in columns]
    order = [scores.c.as_of.desc(), *(column.desc().nulls_last() for column in ties)]
    when = trained if trained is not None else sa.null()
    selected = [*scores.c, sa.cast(when, sa.DateTime(timezone=True)).label(TRAINED_AT)]
    return _Runs(source, scores, joined, selected, order)


def customer_scores(wh: Warehouse, customer_key: str) -> pl.DataFrame:
    """Every scored run of one customer, newest first (see the module): customer_scores_history when published
    (all runs), else the latest customer_scores row, each with the ``trained_at`` of its run (null when
    model_runs does not have it). UnknownCustomer when the key has none."""
    check_value(customer_key, "customer_key")
    runs = _newest_first(wh)
    statement = (
        sa.select(*runs.selected).select_from(runs.joined).where(runs.scores.c.customer_key == customer_key)
    )
    found = fetch(wh, statement.order_by(*runs.order))
    if found.is_empty():
        raise UnknownCustomer(f"no scores for customer_key {shown(customer_key)} in table {runs.source!r}")
    return found


def _identifier(value: str, what: str) -> str:
    check_value(value, what, personal=True)
    if not value.strip():
        raise BadValue(f"{what} is empty")
    return value


def find_customers(wh: Warehouse, email: str | None = None, customer_ref: str | None = None) -> Found:
    """The customers whose linked email or customer_ref (exactly one of them) is the given one, per
    customer_identity, each with its newest score row. An email is compared trimmed and lower-cased
    (`audiences.normalised_email`), a customer_ref trimmed, as identity resolution stores them; the value is a
    bound parameter. UnknownIdentifier when no customer has it (or it is shared or blocked, so it identifies
    nobody); BadValue unless exactly one of the two is given."""
    if (email is None) == (customer_ref is None):
        raise BadValue("give exactly one of email or customer_ref")
    kind: Identifier = "email" if email is not None else "customer_ref"
    raw = sa.literal(_identifier(email if email is not None else customer_ref or "", kind), sa.String)
    value = audiences.normalised_email(raw) if kind == "email" else sa.func.nullif(sa.func.trim(raw), "")
    require(wh, IDENTITY, "run the project (cxdata run) so identity resolution maps identifiers to customers")
    identity = table(wh, IDENTITY, "identifier_type", "identifier_value", "customer_key", "status")
    matched = (
        sa.select(identity.c.customer_key, identity.c.status)
        .where(identity.c.identifier_type == kind, identity.c.identifier_value == value)
        .cte("matched")
    )
    runs = _newest_first(wh)
    key = runs.scores.c.customer_key
    ranked = (
        sa.select(*runs.selected, sa.func.row_number().over(partition_by=key, order_by=runs.order).label("n"))
        .select_from(runs.joined)
        .where(key.in_(sa.select(matched.c.customer_key)))
        .subquery("ranked")
    )
    wanted = [c.name for c in runs.selected if c.name != "customer_key"]
    statement = (
        sa.select(
            matched.c.customer_key,
            matched.c.status,
            *(ranked.c[c] for c in wanted),
            ranked.c.customer_key.is_not(None).label("scored"),
        )
        .select_from(
            matched.outerjoin(ranked, sa.and_(ranked.c.customer_key == matched.c.customer_key, ranked.c.n == 1))
        )
        .order_by(matched.c.customer_key)
    )
    found = fetch(wh, statement)
    linked = found.filter(pl.col("status") == "linked", pl.col("customer_key").is_not_null())
    if linked.is_empty():
        statuses = sorted(set(found["status"].drop_nulls().to_list()))
        why = {
            "shared": "it is shared by more customers than identity resolution allows, so it identifies none",
            "blocked": "it is a blocklisted placeholder, so it identifies no one",
        }
        reason = "; ".join(why.get(s, f"its status is {s}") for s in statuses) or "no customer has it"
        raise UnknownIdentifier(f"no customer found by that {kind}: {reason} (table {IDENTITY!r})")
    return Found(kind, linked.drop("status").unique("customer_key", keep="first", maintain_order=True))


def touchpoints(wh: Warehouse, day: dt.date | None = None, channel: str | None = None) -> pl.DataFrame:
    """The touchpoint investment table at its latest scoring moment (or the latest on UTC day ``day``), by
    channel and touchpoint; only ``channel`` when given. NotPublished until touchpoint_scores exists."""
    columns = require(wh, TOUCHPOINTS, "the touchpoint step has not run on this warehouse yet")
    scores = table(wh, TOUCHPOINTS, *columns)
    moment = sa.select(sa.func.max(scores.c.as_of).label("as_of"))
    if day is not None:
        start, end = day_bounds(day)
        moment = moment.where(scores.c.as_of >= start, scores.c.as_of < end)
    as_of = fetch(wh, moment)["as_of"][0]
    if as_of is None:
        when = f"on {day.isoformat()}" if day is not None else "at all"
        raise NotPublished(f"table {TOUCHPOINTS!r} has no rows {when}", TOUCHPOINTS)
    statement = sa.select(*scores.c).where(scores.c.as_of == as_of)
    if channel is not None:
        statement = statement.where(scores.c.channel == check_value(channel, "channel"))
    order = [scores.c[c] for c in ("channel", "touchpoint", "campaign") if c in columns]
    return fetch(wh, statement.order_by(*order))
