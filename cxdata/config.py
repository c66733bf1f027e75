"""The project config (`cxdata.yaml`): load, expand `${VAR}`, resolve paths, validate.

Every error names the file and the dotted key, because the person reading it is
editing that file, and the offending value when it cannot be a secret
(`cxdata.config_messages`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cxdata import schema
from cxdata.config_messages import describe, mask_secrets, shown_value
from cxdata.errors import ConfigError

DEFAULT_WAREHOUSE = "duckdb:///.cxdata/warehouse.duckdb"
WAREHOUSE_URL_ENV = "CXDATA_WAREHOUSE_URL"
WAREHOUSE_SCHEMA_ENV = "CXDATA_WAREHOUSE_SCHEMA"

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_FILE_DIALECTS = ("duckdb", "sqlite")
# Scoring reaches years before its day (first orders, lapsed customers) and after it (CLV and churn horizons), and
# Python's calendar ends at 9999-12-31: days outside this range cannot be customer data and would overflow.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)
# A config is a few kilobytes; a bigger "config" is the wrong file, and reading it whole could exhaust memory.
MAX_CONFIG_BYTES = 1_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CsvOptions(_Strict):
    separator: str = ","
    encoding: Literal["utf8", "utf8-lossy", "latin-1", "cp1252"] = "utf8"
    null_values: list[str] = Field(default_factory=list)


class SourceConfig(_Strict):
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


class ClvConfig(_Strict):
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
    seed: int = 0


class Bound(_Strict):
    """Inclusive bounds of one score column in a segment rule; a missing side is unbounded."""

    min: float | None = None
    max: float | None = None


class SegmentRule(_Strict):
    """A named segment: customers whose columns are all within their bounds (conditions ANDed).

    Rules are tried in order and a customer lands in the first that matches; the
    last rule must have no conditions (the catch-all) so that everybody has exactly
    one segment. A null value never satisfies a bound.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    conditions: dict[str, Bound] = Field(default_factory=dict)


def _default_segments() -> list[SegmentRule]:
    # Thresholds documented in cxdata/churn/segments.py; columns are customer_scores columns plus
    # days_since_last_order and tenure_days (days) from the churn features.
    rules: list[tuple[str, dict[str, dict[str, float]]]] = [
        ("champions", {"clv_percentile": {"min": 80}, "churn_probability": {"max": 0.3}}),
        ("loyal", {"frequency": {"min": 2}, "churn_probability": {"max": 0.4}}),
        ("promising_new", {"tenure_days": {"max": 90}, "churn_probability": {"max": 0.7}}),
        ("high_value_at_risk", {"clv_percentile": {"min": 60}, "churn_probability": {"min": 0.4}}),
        ("needs_attention", {"churn_probability": {"max": 0.6}}),
        ("hibernating", {"churn_probability": {"max": 0.85}}),
        ("lost", {}),
    ]
    return [SegmentRule(name=n, conditions={c: Bound(**b) for c, b in cond.items()}) for n, cond in rules]


class ChurnConfig(_Strict):
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
    max_train_rows: int = Field(400_000, gt=0)  # stacked rows beyond this are sampled (seeded)
    importance_rows: int = Field(20_000, gt=0)
    importance_repeats: int = Field(3, gt=0)
    reason_features: int = Field(4, gt=0)  # the most important features tried as reasons (a pass each)
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


class ProbabilisticConfig(_Strict):
    """Optional Splink matching of records that share no identifier (off by default)."""

    enabled: bool = False
    threshold: float = Field(0.95, gt=0, lt=1)


class IdentityConfig(_Strict):
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


class JourneyConfig(_Strict):
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


class ExpectationConfig(_Strict):
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


class ValidationConfig(_Strict):
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


class TouchpointConfig(_Strict):
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
    interval: float = Field(0.90, gt=0, lt=1)
    seed: int = 0


class ModelsConfig(_Strict):
    clv: ClvConfig = Field(default_factory=ClvConfig)
    churn: ChurnConfig = Field(default_factory=ChurnConfig)
    touchpoints: TouchpointConfig = Field(default_factory=TouchpointConfig)


class AlertsConfig(_Strict):
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


class ProjectConfig(_Strict):
    """A validated project: sources mapped onto the contract, where to publish, when to score."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    warehouse: str = DEFAULT_WAREHOUSE
    warehouse_schema: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    as_of: dt.date | None = None
    timezone: str = "UTC"
    sources: dict[str, SourceConfig]
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    journey: JourneyConfig = Field(default_factory=JourneyConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    base_dir: Path = Field(default=Path("."), exclude=True)
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone (e.g. UTC, Europe/Madrid)") from None
        return value

    @field_validator("as_of")
    @classmethod
    def _scoring_day(cls, value: dt.date | None) -> dt.date | None:
        problem = None if value is None else day_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("sources")
    @classmethod
    def _known_tables(cls, value: dict[str, SourceConfig]) -> dict[str, SourceConfig]:
        if not value:
            raise ValueError("at least one source is needed (a minimal project is just 'orders')")
        return value

    @property
    def warehouse_kind(self) -> str:
        """``duckdb`` for the embedded single-writer file, ``postgres`` for a server (the UI's kind tag)."""
        return "duckdb" if sa.make_url(self.warehouse).get_backend_name() == "duckdb" else "postgres"

    @property
    def docs_dir(self) -> Path:
        """Where Great Expectations builds its data docs (a git-ignored folder beside the config)."""
        return _resolve(self.base_dir, self.validation.docs_dir)

    def source_path(self, table: str) -> Path:
        """The absolute file, glob or folder of a file source."""
        source = self.sources[table]
        if source.path is None:
            raise ConfigError(f"source {table!r} is a SQL source, not a path")
        return _resolve(self.base_dir, source.path)


def redact_url(url: str) -> str:
    """The URL with any password hidden, safe for logs and messages."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy understands: show nothing of it
        return "<unparseable url>"


def day_problem(day: dt.date) -> str | None:
    """Why ``day`` cannot be a scoring day (outside FIRST_DAY to LAST_DAY), or None when it can."""
    if FIRST_DAY <= day <= LAST_DAY:
        return None
    return f"must be a day from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}, got {day.isoformat()}"


def load_config(path: str | os.PathLike[str], environ: dict[str, str] | None = None) -> ProjectConfig:
    """Load and validate a `cxdata.yaml`.

    >>> cfg = load_config("examples/cxdata.yaml")      # doctest: +SKIP
    >>> cfg.sources["orders"].columns["amount"]        # doctest: +SKIP
    'value'
    """
    env = dict(os.environ if environ is None else environ)
    if "\0" in str(path):
        raise ConfigError(f"{str(path)!r}: a path cannot contain a NUL character")
    try:
        file = Path(path).resolve()
    except (OSError, RuntimeError):  # a symbolic link loop, a name too long: _read says so
        file = Path(path).absolute()
    try:
        raw = yaml.safe_load(_read(file))
    except yaml.YAMLError as exc:
        # Only the position: the YAML library's own message quotes the line, which may hold a password.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise ConfigError(f"{file}: not valid YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: expected a mapping of keys (name, sources, ...), got {type(raw).__name__}")
    written: dict[tuple[str, ...], str] = {}
    expanded = _expand(raw, env, file, (), written)
    for key, variable in (("warehouse", WAREHOUSE_URL_ENV), ("warehouse_schema", WAREHOUSE_SCHEMA_ENV)):
        if env.get(variable):
            expanded[key] = env[variable]
            written[(key,)] = f"${{{variable}}}"
    try:
        config = ProjectConfig.model_validate({**expanded, "base_dir": file.parent, "path": file})
    except ValidationError as exc:
        raise ConfigError(describe(exc, file, ProjectConfig, written)) from None
    _check_sources(config, file, written)
    return config.model_copy(
        update={
            "warehouse": _resolve_url(config.warehouse, file.parent, file, "warehouse"),
            "sources": {
                name: src.model_copy(
                    update={"url": _resolve_url(src.url, file.parent, file, f"sources.{name}.url")}
                )
                if src.url
                else src
                for name, src in config.sources.items()
            },
        }
    )


def _read(file: Path) -> str:
    try:
        found = file.stat()
        if not stat.S_ISREG(found.st_mode):
            raise ConfigError(f"{file}: not a regular file (a folder, device or pipe cannot be a config)")
        if found.st_size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"{file}: {found.st_size:,} bytes is too big for a config (at most {MAX_CONFIG_BYTES:,})"
            )
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: config file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text (byte {exc.start} cannot be decoded)") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the config: {exc.strerror or type(exc).__name__}") from None


def _expand(
    value: Any, env: dict[str, str], file: Path, key: tuple[str, ...], written: dict[tuple[str, ...], str]
) -> Any:
    # ``written`` collects the text in the file of every value that ${VAR} expansion changed, so an error can show
    # that instead of the variable's content.
    if isinstance(value, dict):
        return {k: _expand(v, env, file, (*key, str(k)), written) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, file, (*key, str(i)), written) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(
            f"{file}: key '{'.'.join(key)}': environment variable {name!r} is not set "
            f"(value {match.group(0)!r}; set it, or write ${{{name}:-default}})"
        )

    expanded = _VAR.sub(substitute, value)
    if expanded != value:
        written[key] = value
    return expanded


def _check_sources(config: ProjectConfig, file: Path, written: dict[tuple[str, ...], str]) -> None:
    problems = []
    for name, source in config.sources.items():
        if name not in schema.TABLES:
            problems.append(
                f"{file}: key 'sources.{name}': unknown table {name!r}; known tables: {', '.join(schema.TABLES)}"
            )
            continue
        table = schema.TABLES[name]
        for canonical, source_column in source.columns.items():
            if canonical not in table.column_names:
                key = ("sources", name, "columns", canonical)
                problems.append(
                    f"{file}: key '{'.'.join(key)}': {canonical!r} is not a column of {name}"
                    f"{shown_value(key, source_column, written)}; columns: {', '.join(table.column_names)}"
                )
        for canonical, fmt in source.formats.items():
            if canonical not in table.column_names or table.column(canonical).kind not in ("timestamp", "date"):
                stamps = [c.name for c in table.columns if c.kind in ("timestamp", "date")]
                key = ("sources", name, "formats", canonical)
                problems.append(
                    f"{file}: key '{'.'.join(key)}': formats apply to date/time columns "
                    f"({', '.join(stamps)}), not {canonical!r}{shown_value(key, fmt, written)}"
                )
        if source.path is not None and source.format is None:
            _check_file_format(config, name, file, problems)
    if problems:
        raise ConfigError("\n".join(problems))


def _check_file_format(config: ProjectConfig, name: str, file: Path, problems: list[str]) -> None:
    path = config.source_path(name)
    if path.is_dir() or any(ch in str(path) for ch in "*?["):
        return
    if path.suffix.lower() not in (".csv", ".parquet", ".pq", ".txt", ".tsv"):
        problems.append(
            f"{file}: key 'sources.{name}.path': cannot tell the format of {mask_secrets(str(path))!r} from its "
            "extension; use .csv or .parquet, or set 'format: csv' / 'format: parquet'"
        )


def _resolve(base: Path, value: str) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else base / path


def _resolve_url(url: str | None, base: Path, file: Path, key: str) -> str | None:
    if url is None:
        return None
    try:
        parsed = sa.make_url(url)
    except Exception:
        raise ConfigError(f"{file}: key '{key}': not a SQLAlchemy URL (value {redact_url(url)!r})") from None
    database = parsed.database
    # A relative embedded-database file would otherwise depend on the caller's working directory.
    embedded = parsed.get_backend_name() in _FILE_DIALECTS and database not in (None, "", ":memory:")
    if embedded and not Path(database).is_absolute():
        return parsed.set(database=str(base / database)).render_as_string(hide_password=False)
    return url
