"""Declarative data-quality suites: what every staged table and mart is expected to hold.

A suite is a list of `Spec`s, plain data with no Great Expectations import, so
the library, the Dagster checks and the tests can read and extend them cheaply;
`cxdata.validate.gx` turns them into GX expectations and runs them.

Severity ``error`` blocks everything downstream of the table; ``warn`` is
reported and lets the run go on. Keys, not-null, referential integrity and the
value sets the marts branch on are errors; source-side ranges and drift are
warnings, because ingest quarantines bad rows and the marts already treat an
odd amount or an unknown survey kind consistently. Distribution specs
(``sampled``) may run on a sample of ``validation.sample_rows`` rows, and so do
a staged table's not-null and key specs, which the row rules of ingest already
enforce on every row (cxdata.validate.rules); every other spec covers every row.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Literal

from cxdata.config import ProjectConfig

Severity = Literal["error", "warn"]
ERROR: Severity = "error"
WARN: Severity = "warn"

Kind = Literal[
    "not_null",
    "unique",
    "compound_unique",
    "between",
    "in_set",
    "match_regex",
    "row_count_between",
    "mean_between",
    "median_between",
    "in_table",
]

REFUND_STATUSES = ("refunded", "returned", "cancelled", "canceled", "chargeback")
SURVEY_KINDS = ("csat", "nps", "ces")
SURVEY_SCALES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
TOUCH_KINDS = ("sent", "open", "click", "impression")
JOURNEY_STAGES = ("research", "compare", "purchase", "use_repurchase", "lapsed")
CUSTOMER_KINDS = ("buyer", "known_contact", "anonymous_visitor")
KPI_DIMENSIONS = ("total", "acquisition_channel", "customer_kind")
IDENTITY_STATUSES = ("linked", "shared", "blocked")
# ticket and record are identity resolution's internal stand-ins (cxdata.identity.records).
IDENTIFIER_TYPES = ("customer_ref", "email", "phone", "anonymous_id", "ticket", "record")
RECORD_TABLES = ("customers", "orders", "tickets", "surveys", "web_events", "touches")
NPS_CLASSES = ("promoter", "passive", "detractor")
CUSTOMERS = "dim_customer.customer_key"
# tables that keep every run's rows (histories and logs): they grow by design, by a whole scoring at a time
ACCUMULATING = (
    "model_runs", "identity_merges", "customer_scores_history", "touchpoint_scores_history", "segment_members",
    "segment_summary", "experiment_assignments",
)  # fmt: skip


@dataclass(frozen=True)
class Where:
    """Restricts a spec to rows where ``column`` is not null and (not) in ``values``; other rows are ignored."""

    column: str
    values: tuple[str | bool, ...]
    negate: bool = False

    def describe(self) -> str:
        shown = ", ".join(str(v) for v in self.values)
        return f"where {self.column} {'not in' if self.negate else 'in'} ({shown})"


@dataclass(frozen=True)
class Spec:
    """One expectation on one table: what is checked, on which column(s), and how bad a failure is."""

    table: str
    kind: Kind
    severity: Severity
    column: str | None = None
    columns: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] = ()
    regex: str | None = None
    where: Where | None = None
    reference: str | None = None  # "table.column" whose values ``column`` must be among (kind in_table)
    sampled: bool = False
    column_pattern: str | None = None  # expands to one spec per matching column of the table
    note: str = field(default="", compare=False)

    @property
    def needed_columns(self) -> list[str]:
        """The table columns this spec reads."""
        wanted = [*([self.column] if self.column else []), *self.columns]
        if self.where is not None and self.where.column not in wanted:
            wanted.append(self.where.column)
        return wanted

    @property
    def description(self) -> str:
        """A short sentence saying what is expected, for metadata and data docs."""
        if self.note:
            return self.note
        subject = self.column or ", ".join(self.columns)
        text = {
            "not_null": f"{subject} is never null",
            "unique": f"{subject} is unique",
            "compound_unique": f"({subject}) is unique",
            "between": f"{subject} within {_bounds(self.min, self.max)}",
            "in_set": f"{subject} in ({', '.join(self.values)})",
            "match_regex": f"{subject} matches {self.regex}",
            "row_count_between": f"row count within {_bounds(self.min, self.max)}",
            "mean_between": f"mean of {subject} within {_bounds(self.min, self.max)}",
            "median_between": f"median of {subject} within {_bounds(self.min, self.max)}",
            "in_table": f"every {subject} is a {self.reference}",
        }[self.kind]
        return f"{text} {self.where.describe()}" if self.where is not None else text


def _bounds(low: float | None, high: float | None) -> str:
    return f"[{'-inf' if low is None else _num(low)}, {'inf' if high is None else _num(high)}]"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _key(table: str, column: str) -> list[Spec]:
    return [Spec(table, "not_null", ERROR, column), Spec(table, "unique", ERROR, column)]


def _not_null(table: str, *columns: str, severity: Severity = ERROR) -> list[Spec]:
    return [Spec(table, "not_null", severity, column) for column in columns]


def _share(table: str, *columns: str, severity: Severity = ERROR) -> list[Spec]:
    return [Spec(table, "between", severity, column, min=0, max=1) for column in columns]


def _any_case(values: tuple[str, ...]) -> tuple[str, ...]:
    # Staged values are as the source wrote them; the marts lower-case them before use.
    return tuple(dict.fromkeys(v for value in values for v in (value, value.title(), value.upper())))


def _case_insensitive(values: tuple[str, ...]) -> str:
    # (?i) at the very start is understood by Python's re and PostgreSQL's regular expressions alike.
    return "(?i)^\\s*(?:" + "|".join(re.escape(v) for v in values) + ")\\s*$"


_RULE_ENFORCED = ("not_null", "unique")


def _staged(config: ProjectConfig) -> dict[str, list[Spec]]:
    t = "stg_customers", "stg_orders", "stg_tickets", "stg_surveys", "stg_web_events", "stg_touches"
    customers, orders, tickets, surveys, events, touches = t
    accepted = Where("status", _any_case(REFUND_STATUSES), negate=True)
    suites = {
        customers: _key(customers, "customer_ref"),
        orders: [
            *_key(orders, "order_id"),
            *_not_null(orders, "ordered_at", "amount"),
            Spec(
                orders,
                "between",
                WARN,
                "amount",
                min=0,
                where=accepted,
                sampled=True,  # the negative_amount row rule holds every row to it; a sample re-checks
                note="amount >= 0 unless refunded",
            ),
            Spec(orders, "median_between", WARN, "amount", min=0, sampled=True, note="median amount >= 0"),
        ],
        tickets: [*_key(tickets, "ticket_id"), *_not_null(tickets, "opened_at", "channel")],
        surveys: [
            *_key(surveys, "response_id"),
            *_not_null(surveys, "responded_at", "kind", "score"),
            Spec(
                surveys,
                "match_regex",
                WARN,
                "kind",
                regex=_case_insensitive(SURVEY_KINDS),
                note="kind is csat, nps or ces",
            ),
            Spec(surveys, "between", WARN, "score", min=0, max=10, note="score on a 0-10 scale or narrower"),
        ],
        events: [
            *_key(events, "event_id"),
            *_not_null(events, "anonymous_id", "occurred_at", "event_type"),
            Spec(events, "in_set", WARN, "event_type", values=tuple(config.validation.event_types)),
        ],
        touches: [
            *_key(touches, "touch_id"),
            *_not_null(touches, "occurred_at", "channel", "kind"),
            Spec(
                touches,
                "match_regex",
                WARN,
                "kind",
                regex=_case_insensitive(TOUCH_KINDS),
                note="kind is sent, open, click or impression",
            ),
        ],
        "stg_touchpoint_costs": [
            *_not_null("stg_touchpoint_costs", "period_start", "channel", "cost"),
            Spec("stg_touchpoint_costs", "between", WARN, "cost", min=0),
            Spec("stg_touchpoint_costs", "compound_unique", WARN, columns=("period_start", "channel", "campaign")),
        ],
    }
    # The row rules already enforce required values and unique keys on every row before a staged table is
    # published; GX re-checks them on a sample, as a canary and for the data docs, which keeps validation
    # within its budget on 10M-row inputs.
    return {
        table: [replace(s, sampled=True) if s.kind in _RULE_ENFORCED else s for s in specs]
        for table, specs in suites.items()
    }


def _facts(config: ProjectConfig) -> dict[str, list[Spec]]:
    orders, tickets, surveys, sessions, touches = (
        "fct_orders", "fct_tickets", "fct_surveys", "fct_web_sessions", "fct_touches",
    )  # fmt: skip

    def belongs(table: str) -> Spec:
        return Spec(table, "in_table", ERROR, "customer_key", reference=CUSTOMERS)

    kept = Where("is_refund", (False,))
    per_kind = [
        Spec(surveys, "between", WARN, "score", min=low, max=high, where=Where("kind", (kind,)))
        for kind, (low, high) in SURVEY_SCALES.items()
    ]
    return {
        orders: [
            *_key(orders, "order_id"),
            belongs(orders),
            *_not_null(orders, "ordered_at", "amount", "is_refund"),
            Spec(orders, "between", WARN, "amount", min=0, where=kept, note="amount >= 0 unless a refund"),
            Spec(orders, "between", ERROR, "order_number", min=1),
            Spec(
                orders,
                "in_set",
                WARN,
                "currency",
                values=(config.currency,),
                note=f"currency is the project's {config.currency} (amounts are summed unconverted)",
            ),
        ],
        tickets: [
            *_key(tickets, "ticket_id"),
            belongs(tickets),
            Spec(tickets, "between", WARN, "first_response_hours", min=0, note="first response after opening"),
            Spec(tickets, "between", WARN, "resolution_hours", min=0, note="resolved after opening"),
        ],
        surveys: [
            *_key(surveys, "response_id"),
            belongs(surveys),
            Spec(surveys, "in_set", ERROR, "kind", values=SURVEY_KINDS),
            *_share(surveys, "score_normalised"),
            Spec(surveys, "in_set", ERROR, "nps_class", values=NPS_CLASSES),
            *per_kind,
        ],
        sessions: [
            *_key(sessions, "session_id"),
            belongs(sessions),
            *_not_null(sessions, "anonymous_id", "started_at", "channel"),
            Spec(sessions, "between", ERROR, "duration_seconds", min=0),
            Spec(sessions, "between", ERROR, "events", min=1),
        ],
        touches: [
            *_key(touches, "touch_id"),
            belongs(touches),
            Spec(touches, "in_set", ERROR, "kind", values=TOUCH_KINDS),
        ],
    }


def _customer(config: ProjectConfig) -> dict[str, list[Spec]]:
    keys, identity, dim, kpis, scores = (
        "identity_record_keys", "customer_identity", "dim_customer", "cx_kpis_daily", "customer_scores",
    )  # fmt: skip
    return {
        keys: [
            *_not_null(keys, "source_table", "record_id"),
            Spec(keys, "compound_unique", ERROR, columns=("source_table", "record_id")),
            Spec(keys, "in_set", ERROR, "source_table", values=RECORD_TABLES),
            Spec(keys, "not_null", WARN, "customer_key", note="every record resolved to a customer"),
        ],
        identity: [
            *_not_null(identity, "identifier_type", "identifier_value", "status"),
            Spec(identity, "compound_unique", ERROR, columns=("identifier_type", "identifier_value")),
            Spec(identity, "in_set", ERROR, "identifier_type", values=IDENTIFIER_TYPES),
            Spec(identity, "in_set", ERROR, "status", values=IDENTITY_STATUSES),
            Spec(identity, "not_null", ERROR, "customer_key", where=Where("status", ("linked",))),
        ],
        dim: [
            *_key(dim, "customer_key"),
            Spec(dim, "in_set", ERROR, "journey_stage", values=JOURNEY_STAGES),
            Spec(dim, "in_set", ERROR, "kind", values=CUSTOMER_KINDS),
            *_not_null(dim, "journey_stage", "kind", "acquisition_channel", "currency"),
            Spec(dim, "between", ERROR, "orders_count", min=0),
            *_share(dim, "web_conversion_rate"),
            Spec(dim, "between", WARN, "recency_days", min=0, note="last order not after as_of"),
            Spec(
                dim,
                "median_between",
                WARN,
                "monetary_value",
                min=0,
                sampled=True,
                note="median monetary_value >= 0",
            ),
        ],
        kpis: [
            *_not_null(kpis, "date", "dimension", "dimension_value", "currency"),
            Spec(kpis, "compound_unique", ERROR, columns=("date", "dimension", "dimension_value")),
            Spec(kpis, "in_set", ERROR, "dimension", values=KPI_DIMENSIONS),
            *[Spec(kpis, "between", ERROR, c, min=0) for c in ("orders", "sessions", "tickets_opened")],
            Spec(kpis, "between", ERROR, "csat", min=0, max=1, note="CSAT share in [0, 1]"),
            Spec(kpis, "between", ERROR, "nps", min=-100, max=100, note="NPS in [-100, 100]"),
            *_share(kpis, "conversion_rate", "repeat_rate", "referral_share"),
            Spec(kpis, "between", WARN, "ces_mean", min=1, max=7),
        ],
        scores: [
            *_key(scores, "customer_key"),
            Spec(
                scores,
                "between",
                ERROR,
                min=0,
                max=1,
                column_pattern=r"^(p_.+|.+_probability|prob_.+)$",
                note="probability within [0, 1]",
            ),
        ],
        "customer_rfm": [
            *_key("customer_rfm", "customer_key"),
            Spec("customer_rfm", "between", ERROR, "frequency", min=0),
            Spec("customer_rfm", "between", ERROR, "recency", min=0),
            Spec("customer_rfm", "between", ERROR, "monetary_value", min=0, note="refunds are left out"),
        ],
    }


def _touchpoints() -> dict[str, list[Spec]]:
    scores = "touchpoint_scores"
    return {
        scores: [
            *_key(scores, "touchpoint"),
            *_not_null(scores, "as_of", "source", "model_run_id"),
            Spec(scores, "in_set", ERROR, "source", values=("marketing", "web", "service")),
            Spec(scores, "in_set", ERROR, "recommendation", values=("invest", "hold", "cut")),
            Spec(scores, "between", WARN, "cost", min=0, note="spend is not negative"),
        ]
    }


def builtin_suites(config: ProjectConfig) -> dict[str, list[Spec]]:
    """The built-in specs of every staged table and mart, by table name."""
    return {**_staged(config), **_facts(config), **_customer(config), **_touchpoints()}


def project_specs(config: ProjectConfig, table: str) -> list[Spec]:
    """The project's own ``validation.expectations`` on ``table``, as specs."""
    specs = []
    for e in config.validation.expectations:
        if e.table != table:
            continue
        values = tuple(e.values or ())
        spec = Spec(table, e.expect, e.severity, e.column, min=e.min, max=e.max, values=values, regex=e.regex)
        specs.append(replace(spec, note=f"project: {spec.description}"))
    return specs


def row_count_change(table: str, previous_rows: int, threshold: float) -> Spec | None:
    """A WARN spec: the row count stays within ``threshold`` (a share) of the last run's; None without a base.

    A history or log (`ACCUMULATING`) grows by design, by a whole scoring at a time: it must only never have
    fewer rows than at the last run.
    """
    if previous_rows <= 0:
        return None
    if table in ACCUMULATING:
        note = f"row count not below the last run's {previous_rows} (a history keeps its rows)"
        return Spec(table, "row_count_between", WARN, min=previous_rows, note=note)
    low = math.ceil(previous_rows * (1 - threshold)) if threshold < 1 else 0
    high = math.floor(previous_rows * (1 + threshold))
    note = f"row count within ±{threshold:.0%} of the last run's {previous_rows}"
    return Spec(table, "row_count_between", WARN, min=low, max=high, note=note)


def suite_for(config: ProjectConfig, table: str, columns: list[str] | None = None) -> list[Spec]:
    """The specs of ``table``: built-in then project ones, patterns expanded over its ``columns``.

    Built-in specs on columns the table lacks are dropped (a later mart may not
    have them yet); project specs are kept so a misspelt column fails loudly.
    """
    specs = builtin_suites(config).get(table, [])
    expanded: list[Spec] = []
    for spec in specs:
        if spec.column_pattern is not None:
            matching = [c for c in columns or [] if re.fullmatch(spec.column_pattern, c)]
            expanded.extend(replace(spec, column=c, column_pattern=None) for c in matching)
        elif columns is None or all(c in columns for c in spec.needed_columns):
            expanded.append(spec)
    return expanded + project_specs(config, table)
