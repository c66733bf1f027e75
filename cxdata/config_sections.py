"""The sections of a project config (`cxdata.yaml`): sources, identity, journey, validation, models (clv, churn,
touchpoints, experiments), alerts.

Each class is one mapping of the file with its defaults; `cxdata.config` loads
the file into `ProjectConfig`, which holds them. Import them from
`cxdata.config`.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cxdata.config_messages import redact_url

WHITESPACE = "whitespace"  # the csv separator that means runs of spaces and tabs


class Strict(BaseModel):
    """A config section: unknown keys are errors and a loaded config cannot change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CsvOptions(Strict):
    # one character, or "whitespace": fields apart by runs of spaces and tabs (a line's leading and trailing
    # ones ignored), as in fixed-width exports such as CDNOW_master.txt
    separator: str = ","
    encoding: Literal["utf8", "utf8-lossy", "latin-1", "cp1252"] = "utf8"
    null_values: list[str] = Field(default_factory=list)
    # numbers written 26,10 or 1.234,56: the comma is the decimal mark, "." and spaces group thousands
    decimal_comma: bool = False

    @field_validator("separator")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if value != WHITESPACE and len(value.encode("utf-8")) != 1:
            raise ValueError(f"a separator is one character (e.g. ';' or '\\t') or 'whitespace', not {value!r}")
        return value


class SourceConfig(Strict):
    """Where one canonical table comes from and how its columns map onto the contract."""

    path: str | None = None
    url: str | None = None
    query: str | None = None
    format: Literal["csv", "parquet"] | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    formats: dict[str, str] = Field(default_factory=dict)
    csv: CsvOptions = Field(default_factory=CsvOptions)

    @model_validator(mode="after")
    def _one_location(self) -> SourceConfig:
        if (self.path is None) == (self.url is None):
            raise ValueError("give either 'path' (files) or 'url' with 'query' (SQL), not both or neither")
        if self.url is not None and not self.query:
            raise ValueError("a SQL source needs 'query' beside 'url'")
        if self.path is not None and self.query is not None:
            raise ValueError("'query' only goes with 'url'")
        return self

    @property
    def label(self) -> str:
        """A name for messages and lineage that never contains a URL's secrets."""
        if self.path is not None:
            return self.path
        return f"query on {redact_url(self.url or '')}"


class BoostedConfig(Strict):
    """The boosted expected-purchases candidate of CLV (cxdata/clv/boosted.py): window, cutoffs, trees."""

    enabled: bool = True  # "auto" evaluates it beside the BTYD models
    window_days: int | None = Field(None, gt=0)  # None: the holdout's length (shortened when history is short)
    cutoffs: int = Field(6, gt=0)  # training cutoffs stacked, when history allows
    min_cutoffs: int = Field(3, gt=0)  # the window is shortened until this many fit before the calibration end
    cutoff_step_days: int = Field(30, gt=0)
    min_history_days: int = Field(90, ge=0)  # a cutoff needs this much order history before it
    max_train_rows: int = Field(400_000, gt=0)  # beyond this many stacked rows, a seeded sample of customers
    max_iter: int = Field(200, gt=0)
    learning_rate: float = Field(0.1, gt=0)
    min_samples_leaf: int = Field(100, gt=0)
    l2_regularization: float = Field(1.0, ge=0)


class ClvConfig(Strict):
    """Lifetime-value models (see cxdata/clv): which BTYD model, how it is evaluated and scored."""

    horizon_days: int = Field(365, gt=0)
    annual_discount_rate: float = Field(0.10, ge=0, lt=1)
    # "auto" fits every continuous-time model and keeps the best on the holdout; "bgbb" is for
    # discrete-opportunity data (one purchase opportunity per period) and is only used when named here.
    model: Literal["auto", "bgnbd", "pareto_nbd", "mbgnbd", "bgbb"] = "auto"
    period: Literal["D", "W"] = "D"
    holdout_days: int = Field(180, gt=0)
    penalizers: list[float] = Field(default_factory=lambda: [0.0, 0.001, 0.01, 0.1])
    max_holdout_error: float = Field(0.15, gt=0)  # |predicted - actual| / actual repeat purchases, else WARN
    min_repeat_buyers: int = Field(30, gt=0)  # below this Gamma-Gamma is not fitted
    fit_budget_seconds: float = Field(60, gt=0)  # per purchase model, all penalizers and starts; then skipped
    # the holdout evaluation compares the candidates on a sample of about this many customers (md5 buckets of
    # the key, `cxdata.churn.reads.Samples`), so its cost stops growing with the project
    evaluation_customers: int = Field(200_000, gt=0)
    boosted: BoostedConfig = Field(default_factory=BoostedConfig)
    seed: int = 0


class Bound(Strict):
    """Inclusive bounds of one score column in a segment rule; a missing side is unbounded.

    A side is either a value (``min``, ``max``) or a percentile of the scored customers of the run
    (``min_percentile``, ``max_percentile``, 0 to 100), resolved on each run to a value of the column:
    ``min_percentile: 80`` keeps the customers at least as high as 80% of the scored customers with a value
    (the top 20%), the same customers as ``clv_percentile >= 80`` does for clv (`cxdata.churn.segments`).
    """

    min: float | None = None
    max: float | None = None
    min_percentile: float | None = None
    max_percentile: float | None = None

    @field_validator("min_percentile", "max_percentile")
    @classmethod
    def _a_percentile(cls, value: float | None) -> float | None:
        if value is not None and not 0 <= value <= 100:
            raise ValueError(f"a percentile of the scored customers is 0 to 100 (80: the top 20%), not {value:g}")
        return value

    @model_validator(mode="after")
    def _one_kind_per_side(self) -> Bound:
        for side in ("min", "max"):
            if getattr(self, side) is not None and getattr(self, f"{side}_percentile") is not None:
                raise ValueError(
                    f"give either {side!r} (a value) or '{side}_percentile' (a share of the scored customers),"
                    " not both"
                )
        if all(getattr(self, k) is None for k in ("min", "max", "min_percentile", "max_percentile")):
            raise ValueError("a bound needs at least one of min, max, min_percentile, max_percentile")
        for low, high in (("min", "max"), ("min_percentile", "max_percentile")):
            if (
                getattr(self, low) is not None
                and getattr(self, high) is not None
                and getattr(self, low) > getattr(self, high)
            ):
                raise ValueError(
                    f"{low} {getattr(self, low):g} is above {high} {getattr(self, high):g}: nobody would match"
                )
        return self


class SegmentRule(Strict):
    """A named segment: customers whose columns are all within their bounds (conditions ANDed).

    Rules are tried in order and a customer lands in the first that matches; the
    last rule must have no conditions (the catch-all) so that everybody has exactly
    one segment. A null value never satisfies a bound.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    conditions: dict[str, Bound] = Field(default_factory=dict)


def _default_segments() -> list[SegmentRule]:
    # Documented in cxdata/churn/segments.py, where the relative and absolute bounds are argued; columns are
    # customer_scores columns plus days_since_last_order and tenure_days (days) from the churn features.
    rules: list[tuple[str, dict[str, dict[str, float]]]] = [
        ("champions", {"clv": {"min_percentile": 80}, "churn_probability": {"max": 0.3}}),
        ("loyal", {"frequency": {"min": 2}, "churn_probability": {"max": 0.4}}),
        ("promising_new", {"tenure_days": {"max": 90}, "churn_probability": {"max": 0.7}}),
        ("high_value_at_risk", {"value_at_risk": {"min_percentile": 80}}),
        ("needs_attention", {"churn_probability": {"max": 0.6}}),
        ("hibernating", {"churn_probability": {"max": 0.85}}),
        ("lost", {}),
    ]
    return [SegmentRule(name=n, conditions={c: Bound(**b) for c, b in cond.items()}) for n, cond in rules]


class ChurnConfig(Strict):
    """Churn model (see cxdata/churn): horizon, stacked training cutoffs, classifier, and marketing segments."""

    horizon_days: int = Field(90, gt=0)
    cutoffs: int = Field(3, gt=0)  # training cutoffs stacked (rolling origin), when history allows
    cutoff_step_days: int = Field(30, gt=0)
    min_history_days: int = Field(90, ge=0)  # a cutoff needs this much order history before it
    btyd_model: Literal["bgnbd", "mbgnbd", "pareto_nbd"] = "bgnbd"
    penalizers: list[float] = Field(default_factory=lambda: [0.001, 0.01, 0.1])
    btyd_fit_customers: int = Field(200_000, gt=0)  # BTYD parameters are fitted on a seeded sample beyond this
    # "auto": whichever of none/sigmoid/isotonic scores the best Brier one cutoff later (cxdata/churn/model.py)
    calibration: Literal["auto", "none", "sigmoid", "isotonic"] = "auto"
    max_iter: int = Field(200, gt=0)
    learning_rate: float = Field(0.1, gt=0)  # half the trees of 0.05 at the same holdout AUC: scoring time
    min_samples_leaf: int = Field(200, gt=0)  # strong leaves and L2: chosen on a dev project's time holdout
    l2_regularization: float = Field(1.0, ge=0)
    max_train_rows: int = Field(400_000, gt=0)  # beyond this many stacked rows, a seeded sample of customers
    importance_rows: int = Field(20_000, gt=0)
    importance_repeats: int = Field(3, gt=0)
    # the most important features tried as reasons for everyone (a pass each); customers none of them raises
    # are tried with the further features (cxdata/churn/score.py)
    reason_features: int = Field(4, gt=0)
    seed: int = 0
    segments: list[SegmentRule] = Field(default_factory=_default_segments)

    @field_validator("segments")
    @classmethod
    def _catch_all_last(cls, value: list[SegmentRule]) -> list[SegmentRule]:
        names = [rule.name for rule in value]
        if not value or value[-1].conditions:
            raise ValueError("the last segment rule must have no conditions: it catches everybody else")
        if len(set(names)) != len(names):
            raise ValueError(f"segment names must be unique, got {names}")
        return value


IDENTIFIER_TYPES = ("customer_ref", "email", "phone", "anonymous_id")


def _default_blocklist() -> dict[str, list[str]]:
    return {
        "any": ["", "n/a", "na", "none", "null", "unknown", "-", "-1", "0", "test"],
        "email": ["test@test.com", "test@example.com", "noemail@noemail.com", "no@email.com", "a@a.com"],
        "phone": ["0000000000", "+0000000000", "1234567890", "9999999999"],
    }


class ProbabilisticConfig(Strict):
    """Optional Splink matching of records that share no identifier (off by default)."""

    enabled: bool = False
    threshold: float = Field(0.95, gt=0, lt=1)


class IdentityConfig(Strict):
    """How identifiers link records: normalisation, blocklist, sharing limits and priority."""

    default_region: str | None = Field(None, pattern=r"^[A-Za-z]{2}$")
    phone_regions: list[str] = Field(default_factory=list)
    blocklist: dict[str, list[str]] = Field(default_factory=_default_blocklist)
    max_customers_per_identifier: dict[str, int] = Field(
        default_factory=lambda: {"email": 2, "phone": 1, "anonymous_id": 3}
    )
    priority: list[str] = Field(default_factory=lambda: list(IDENTIFIER_TYPES))
    probabilistic: ProbabilisticConfig = Field(default_factory=ProbabilisticConfig)

    @field_validator("phone_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        bad = [r for r in value if not re.fullmatch(r"[A-Za-z]{2}", r)]
        if bad:
            raise ValueError(f"regions are ISO 3166 two-letter codes such as ES or GB, not {bad}")
        return [r.upper() for r in value]

    @field_validator("blocklist", "max_customers_per_identifier")
    @classmethod
    def _known_types(cls, value: dict) -> dict:
        unknown = [k for k in value if k not in (*IDENTIFIER_TYPES, "any")]
        if unknown:
            raise ValueError(f"unknown identifier type(s) {unknown}; use {', '.join(IDENTIFIER_TYPES)} or any")
        return value

    @field_validator("priority")
    @classmethod
    def _all_types_once(cls, value: list[str]) -> list[str]:
        if sorted(value) != sorted(IDENTIFIER_TYPES):
            raise ValueError(
                f"list each identifier type once, highest priority first: {', '.join(IDENTIFIER_TYPES)}"
            )
        return value


class JourneyConfig(Strict):
    """Rules of the journey stage in dim_customer (see sql/dim_customer.sql for the definitions)."""

    purchase_window_days: int = Field(30, gt=0)
    lapsed_after_days: int = Field(180, gt=0)
    compare_min_pages: int = Field(3, gt=0)
    session_timeout_minutes: int = Field(30, gt=0)


DEFAULT_EVENT_TYPES = (
    "page_view",
    "login",
    "logout",
    "sign_up",
    "form_submit",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout",
    "purchase",
)


class ExpectationConfig(Strict):
    """A check a project adds to the suite of one staged table or mart (``stg_orders``, ``dim_customer`` …)."""

    table: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    column: str | None = None
    expect: Literal["not_null", "unique", "between", "in_set", "match_regex", "row_count_between"]
    min: float | None = None
    max: float | None = None
    values: list[str] | None = None
    regex: str | None = None
    severity: Literal["error", "warn"] = "error"

    @model_validator(mode="after")
    def _arguments(self) -> ExpectationConfig:
        needs = {"between": ("min", "max"), "row_count_between": ("min", "max"), "in_set": ("values",)}
        if self.expect == "match_regex" and self.regex is None:
            raise ValueError("'match_regex' needs 'regex'")
        if self.expect in needs and all(getattr(self, k) is None for k in needs[self.expect]):
            raise ValueError(f"{self.expect!r} needs {' or '.join(repr(k) for k in needs[self.expect])}")
        if self.expect != "row_count_between" and self.column is None:
            raise ValueError(f"{self.expect!r} needs 'column'")
        return self


class ValidationConfig(Strict):
    """Row rules, quarantine thresholds and data-quality checks (see cxdata/validate)."""

    max_quarantine_share: float = Field(0.05, ge=0, le=1)
    table_max_quarantine_share: dict[str, float] = Field(default_factory=dict)
    future_tolerance_hours: float = Field(24.0, ge=0)
    event_types: list[str] = Field(default_factory=lambda: list(DEFAULT_EVENT_TYPES))
    row_count_change_warn: float = Field(0.5, gt=0)
    sample_rows: int = Field(100_000, gt=0)
    docs_dir: str = ".cxdata/gx"
    expectations: list[ExpectationConfig] = Field(default_factory=list)

    def quarantine_limit(self, table: str) -> float:
        """The largest share of ``table``'s rows that may be quarantined before the run stops."""
        return self.table_max_quarantine_share.get(table, self.max_quarantine_share)


class TouchpointConfig(Strict):
    """Touchpoint investment scoring (see cxdata/touchpoints): journeys, attribution, incrementality, ROI."""

    lookback_days: int = Field(30, gt=0)  # touches this long before an order enter its journey
    granularity: Literal["campaign", "channel"] = "campaign"
    half_life_days: float = Field(7.0, gt=0)  # time-decay attribution
    model: str = "markov"  # the attribution model whose credit is published
    response_days: float = Field(3.0, gt=0)  # orders this long after a touch count as its response (dev seeds)
    baseline_days: float = Field(56.0, gt=0)  # the customer's own order rate this long before and after
    session_minutes: float = Field(60.0, ge=0)  # orders this soon after a click may have caused the click
    retention_window_days: float = Field(45.0, gt=0)  # a touch this long before an order may change churn
    # the marketing touchpoints (channel/campaign, or channel) meant to keep customers, whose retention value
    # counts in their ROI; None: every CRM send. Service channels always get theirs.
    retention_campaigns: list[str] | None = None
    churn_days: int = Field(180, gt=0)  # no order this long after an order counts as churned
    ticket_days: float = Field(14.0, gt=0)  # a ticket this soon after an order is about that order
    hurdle: float = Field(1.0, gt=0)  # value / cost needed to invest
    bootstrap_replicates: int = Field(200, ge=20)
    placebo_sets: int = Field(8, ge=2)  # twins of every contact where none happened: the estimator's own noise
    interval: float = Field(0.90, gt=0, lt=1)
    seed: int = 0


class ExperimentsConfig(Strict):
    """Randomised holdouts (`cxdata segments export --holdout`, cxdata/touchpoints/experiments.py): where the
    assignment salt comes from and how long after assignment an experiment's response is read."""

    # the salt is a secret (whoever holds it can predict every group), so only its variable is configured
    salt_env: str = Field("CXDATA_EXPERIMENT_SALT", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    response_days: float = Field(14.0, gt=0)  # orders and revenue counted this long after assignment


class ModelsConfig(Strict):
    refit_every_days: int = Field(7, ge=1)  # fits older than this are refitted; runs in between score with them
    clv: ClvConfig = Field(default_factory=ClvConfig)
    churn: ChurnConfig = Field(default_factory=ChurnConfig)
    touchpoints: TouchpointConfig = Field(default_factory=TouchpointConfig)
    experiments: ExperimentsConfig = Field(default_factory=ExperimentsConfig)


class AlertsConfig(Strict):
    """Closed-loop alerts (see cxdata/alerts): which survey answers and tickets alert, for which customers."""

    enabled: bool = True
    min_clv_percentile: float = Field(80.0, ge=0, le=100)  # customer_scores.clv_percentile, in percent
    nps_max: int = Field(6, ge=0, le=10)  # NPS answers at or below this are detractors
    csat_max: int = Field(2, ge=1, le=5)
    ces_min: int = Field(5, ge=1, le=7)  # CES is effort: high is bad
    sla_hours: float = Field(24.0, gt=0)  # first-response SLA of a ticket
    lookback_days: int = Field(7, gt=0)  # only records this recent alert, so a first run does not replay history
    webhook_env: str = Field("CXDATA_ALERT_WEBHOOK_URL", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    link_template: str = "http://localhost:8000/customers/{customer_key}/scores"
    timeout_seconds: float = Field(5.0, gt=0)
    max_notifications_per_run: int = Field(100, gt=0)  # the rest stay pending for the next run

    @field_validator("link_template")
    @classmethod
    def _only_customer_key(cls, value: str) -> str:
        fields = set(re.findall(r"{([^{}]*)}", value))
        if fields != {"customer_key"}:
            raise ValueError(
                "the link needs exactly the placeholder {customer_key}, e.g. https://bi/c/{customer_key}"
            )
        return value
