"""Scored segments for marketing: list them, page through a segment's members, stream them (as CSV chunks).

A segment is read at one scoring moment (``as_of`` of ``segment_members``): the
latest, or the latest on a given UTC day. Each member comes with its scores:
from ``customer_scores`` when that table holds the same moment, otherwise from
``customer_scores_history`` (the rows of the churn run that assigned the
segment). Members without scores keep null score columns. When the scores
carry amounts (expected_spend, clv, value_at_risk) a ``currency`` column follows
them: the project's ISO code, a bound parameter the caller passes from
``config.currency``.

Contacts (personal data, from ``dim_customer_pii``) are added only on request:

* ``raw`` — ``email`` and ``phone`` as stored;
* ``hashed`` — ``email_sha256`` and ``phone_sha256``: the lower-case hex
  SHA-256 of the UTF-8 bytes of the normalised value, what Google Ads Customer
  Match takes. Email: trimmed and lower-cased. Phone: E.164, a ``+`` followed
  by the digits only (``+34612345678``); Meta wants the same digits without
  the ``+``. An empty value stays null rather than becoming the hash of "".
  Hashing runs in SQL (DuckDB ``sha256``, PostgreSQL ``sha256``), so raw
  contacts never leave the warehouse in hashed exports.

Exports of a segment to a file are in `cxdata.serve.export`.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
import sqlalchemy as sa

from cxdata.config import DEFAULT_CURRENCY
from cxdata.serve import audiences, consent
from cxdata.serve.access import (
    BadValue,
    ServeError,
    Stream,
    check_value,
    columns_of,
    day_bounds,
    exists,
    fetch,
    remembered,
    require,
    shown,
    stream,
    table,
)
from cxdata.warehouse import Warehouse

Contacts = Literal["none", "raw", "hashed"]
CONTACTS: tuple[str, ...] = ("none", "raw", "hashed")

MEMBERS = "segment_members"
SUMMARY = "segment_summary"
SCORES = "customer_scores"
HISTORY = "customer_scores_history"
PII = "dim_customer_pii"
SCORE_COLUMNS = (
    "p_alive",
    "expected_purchases",
    "expected_spend",
    "clv",
    "clv_percentile",
    "churn_probability",
    "churn_percentile",
    "value_at_risk",
    "churn_reason_1",
    "churn_reason_2",
    "churn_reason_3",
    "model_run_id",
    "churn_model_run_id",
)
MONEY_COLUMNS = ("expected_spend", "clv", "value_at_risk")  # amounts, labelled by the currency column
SUMMARY_COLUMNS = (
    "segment", "customers", "total_clv", "total_value_at_risk", "mean_churn_probability",
    "rule", "suggested_action", "thresholds_json", "currency",
)  # fmt: skip
_RUN_HINT = "run the project (cxdata run) so the churn step scores and segments customers"
# churn_step names its model run after the orchestrator run that wrote the segment (cxdata/churn/step.py).
_CHURN_RUN_SUFFIX = "/churn"


class UnknownSegment(ServeError):
    """No segment of that name at that moment; ``known`` lists the ones there are."""

    def __init__(self, name: str, as_of: dt.datetime, known: list[str]) -> None:
        listed = ", ".join(known) or "none"
        super().__init__(f"unknown segment {shown(name)} as of {as_of.isoformat()}; known segments: {listed}")
        self.known = known


@dataclass(frozen=True)
class Page:
    """One page of a segment: members after ``after`` in customer_key order, and the cursor of the next page."""

    segment: str
    as_of: dt.datetime
    rows: pl.DataFrame
    next_after: str | None


def resolve_as_of(wh: Warehouse, day: dt.date | None = None) -> dt.datetime:
    """The scoring moment segments are read at: the latest, or the latest on UTC day ``day``."""
    require(wh, MEMBERS, _RUN_HINT)
    members = table(wh, MEMBERS, "as_of")
    found = remembered(wh, (MEMBERS, "as_of", day), lambda: _latest(wh, members, day))
    if found is not None:
        return found
    if day is None:
        raise ServeError(f"table {MEMBERS!r} is empty: {_RUN_HINT}")
    days = fetch(wh, sa.select(members.c.as_of).distinct().order_by(members.c.as_of.desc()).limit(10))
    listed = ", ".join(moment.date().isoformat() for moment in days["as_of"])
    raise ServeError(f"no segments were scored on {day.isoformat()}; the latest scoring days: {listed}")


def _latest(wh: Warehouse, scored: sa.TableClause, day: dt.date | None) -> dt.datetime | None:
    statement = sa.select(sa.func.max(scored.c.as_of).label("as_of"))
    if day is not None:
        start, end = day_bounds(day)
        statement = statement.where(scored.c.as_of >= start, scored.c.as_of < end)
    return fetch(wh, statement)["as_of"][0]


def known_segments(wh: Warehouse, as_of: dt.datetime) -> list[str]:
    """Segment names at ``as_of``: every rule of segment_summary (empty ones too) and every member's segment."""
    return list(remembered(wh, (MEMBERS, "segments", as_of), lambda: _segment_names(wh, as_of)))


def _segment_names(wh: Warehouse, as_of: dt.datetime) -> tuple[str, ...]:
    members = table(wh, MEMBERS, "segment", "as_of")
    names = sa.select(members.c.segment).where(members.c.as_of == as_of)
    if exists(wh, SUMMARY):
        summary = table(wh, SUMMARY, "segment", "as_of")
        names = sa.union(names, sa.select(summary.c.segment).where(summary.c.as_of == as_of))
    found = fetch(wh, sa.select(names.subquery().c.segment))["segment"]
    return tuple(sorted(found.drop_nulls().unique().to_list()))


def list_segments(wh: Warehouse, day: dt.date | None = None) -> pl.DataFrame:
    """The segments at the scoring moment of ``day`` (default latest), in rule order when segment_summary is
    there: segment, customers, total_clv, total_value_at_risk, mean_churn_probability, rule, suggested_action,
    thresholds_json and currency (those of them the summary has; segment and customers only without a
    summary), and as_of last."""
    as_of = resolve_as_of(wh, day)
    held = columns_of(wh).get(SUMMARY)
    if held is not None:
        present = [c for c in SUMMARY_COLUMNS if c in held]
        summary = table(wh, SUMMARY, *present, "rule_order", "as_of")
        statement = (
            sa.select(*(summary.c[c] for c in present), summary.c.as_of)
            .where(summary.c.as_of == as_of)
            .order_by(*(summary.c[c] for c in ("rule_order", "segment") if c in held))
        )
        return fetch(wh, statement)
    members = table(wh, MEMBERS, "segment", "as_of")
    statement = (
        sa.select(members.c.segment, sa.func.count().label("customers"), members.c.as_of)
        .where(members.c.as_of == as_of)
        .group_by(members.c.segment, members.c.as_of)
        .order_by(members.c.segment)
    )
    return fetch(wh, statement)


def members_statement(
    wh: Warehouse,
    name: str,
    as_of: dt.datetime,
    contacts: Contacts = "none",
    after: str | None = None,
    limit: int | None = None,
    currency: str = DEFAULT_CURRENCY,
    purpose: str | None = None,
) -> sa.Select:
    """The members of segment ``name`` at ``as_of`` with their scores (and contacts), by customer_key; only the
    first ``limit`` whose key sorts after ``after``, when given. Amounts are labelled by a ``currency`` column
    holding ``currency`` (the project's ISO code). With ``purpose`` (required with contacts), only the members
    who agreed to it (`cxdata.serve.consent`).

    Raises UnknownSegment, listing the known ones, when there is no such segment at that moment.
    """
    check_value(name, "segment name")
    if contacts not in CONTACTS:
        raise BadValue(f"contacts must be one of {', '.join(CONTACTS)}, got {shown(str(contacts))}")
    known = known_segments(wh, as_of)
    if name not in known:
        raise UnknownSegment(name, as_of, known)
    purpose = consent.checked_purpose(purpose, contacts != "none")
    if contacts != "none":  # before consent: without contacts there is nothing to ask consent for
        require(wh, PII, "build the customer marts (dim_customer_pii) or export without contacts")
    members = table(wh, MEMBERS, "segment", "customer_key", "as_of", "run_id")
    has_run = "run_id" in columns_of(wh)[MEMBERS]
    chosen = sa.select(
        members.c.segment, members.c.as_of, members.c.customer_key, *([members.c.run_id] if has_run else [])
    ).where(members.c.segment == name, members.c.as_of == as_of)
    if purpose is not None:
        chosen = chosen.where(consent.consented(wh, members.c.customer_key, purpose))
    if after is not None:
        chosen = chosen.where(members.c.customer_key > check_value(after, "cursor"))
    if limit is not None:
        # The page is cut from the members alone, so the joins below touch only its rows.
        chosen = chosen.order_by(members.c.customer_key).limit(limit)
    page_rows = chosen.subquery("m")
    selected: list[Any] = [page_rows.c.segment, page_rows.c.as_of, page_rows.c.customer_key]
    joined: Any = page_rows
    scores = _scores_table(wh, as_of)
    if scores is not None:
        source, available = scores
        scored = table(wh, source, "customer_key", "as_of", *available)
        condition = sa.and_(scored.c.customer_key == page_rows.c.customer_key, scored.c.as_of == page_rows.c.as_of)
        if source == HISTORY and "churn_model_run_id" in available and has_run:
            suffix = sa.literal(_CHURN_RUN_SUFFIX)
            condition = sa.and_(
                condition, scored.c.churn_model_run_id == sa.func.concat(page_rows.c.run_id, suffix)
            )
        joined = joined.outerjoin(scored, condition)
        selected += [scored.c[c] for c in available]
        if set(available) & set(MONEY_COLUMNS):
            selected.append(sa.literal(check_value(currency, "currency"), sa.String).label("currency"))
    if contacts != "none":
        pii, columns = audiences.contact_columns(wh, contacts)
        joined = joined.outerjoin(pii, pii.c.customer_key == page_rows.c.customer_key)
        selected += columns
    return sa.select(*selected).select_from(joined).order_by(page_rows.c.customer_key)


def _scores_table(wh: Warehouse, as_of: dt.datetime) -> tuple[str, list[str]] | None:
    for source in (SCORES, HISTORY):
        columns = columns_of(wh).get(source)
        if columns is None:
            continue
        if source == SCORES:
            scored = table(wh, SCORES, "as_of")
            if remembered(wh, (SCORES, "as_of"), lambda scored=scored: _latest(wh, scored, None)) != as_of:
                continue
        return source, [c for c in SCORE_COLUMNS if c in columns]
    return None


def page(
    wh: Warehouse,
    name: str,
    day: dt.date | None = None,
    contacts: Contacts = "none",
    limit: int = 100,
    after: str | None = None,
    currency: str = DEFAULT_CURRENCY,
    purpose: str | None = None,
) -> Page:
    """Up to ``limit`` members of segment ``name`` whose customer_key sorts after ``after`` (keyset paging);
    amounts in ``currency``; with contacts, only those who agreed to ``purpose``."""
    as_of = resolve_as_of(wh, day)
    rows = fetch(wh, members_statement(wh, name, as_of, contacts, after, limit + 1, currency, purpose))
    more = rows.height > limit
    rows = rows.head(limit)
    return Page(name, as_of, rows, rows["customer_key"][-1] if more else None)


@contextmanager
def open_segment(
    wh: Warehouse,
    name: str,
    day: dt.date | None = None,
    contacts: Contacts = "none",
    batch_rows: int = 50_000,
    currency: str = DEFAULT_CURRENCY,
    template: str | None = None,
    purpose: str | None = None,
) -> Iterator[tuple[dt.datetime, Stream]]:
    """The scoring moment and a batch stream of every member of segment ``name`` (see members_statement), or
    with ``template`` its audience rows (`cxdata.serve.audiences`); with contacts, only those who agreed to
    ``purpose``."""
    as_of = resolve_as_of(wh, day)
    if template is not None:
        known = known_segments(wh, as_of)
        if name not in known:
            raise UnknownSegment(name, as_of, known)
        statement = audiences.audience_statement(wh, name, as_of, template)
        purpose = consent.checked_purpose(purpose, True)
        statement = statement.where(consent.consented(wh, statement.selected_columns.customer_key, purpose))
    else:
        statement = members_statement(wh, name, as_of, contacts, currency=currency, purpose=purpose)
    with stream(wh, statement, batch_rows) as result:
        yield as_of, result


def csv_chunks(result: Stream, sent: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """A CSV (header first, UTF-8) of a stream, one chunk per batch; ``sent`` is told each batch's rows."""
    yield _csv(pl.DataFrame(schema=result.schema), header=True)
    for batch in result.batches:
        yield _csv(batch, header=False)
        if sent is not None:
            sent(batch.height)


def _csv(frame: pl.DataFrame, header: bool) -> bytes:
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=header)
    return buffer.getvalue()
