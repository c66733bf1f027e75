"""The project config (`cxdata.yaml`): load, expand `${VAR}`, resolve paths, validate.

`ProjectConfig` is the whole file; its sections (sources, identity, journey,
validation, models, alerts) are defined in `cxdata.config_sections`, those of
daily operation at scale (incremental, scale) in `cxdata.config_scale`, all
importable from here. Every error names the file and the dotted key, because the person reading it is
editing that file, and the offending value when it cannot be a secret
(`cxdata.config_messages`).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import os
import re
import stat
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
import yaml
from pydantic import Field, ValidationError, field_validator

from cxdata import schema
from cxdata.config_activation import ActivationConfig, activation_problems
from cxdata.config_messages import describe, mask_secrets, redact_url, shown_value
from cxdata.config_privacy import PrivacyConfig
from cxdata.config_scale import IncrementalConfig, ScaleConfig, scale_problems
from cxdata.config_sections import (
    DEFAULT_EVENT_TYPES,
    IDENTIFIER_TYPES,
    AlertsConfig,
    Bound,
    ChurnConfig,
    ClvConfig,
    CsvOptions,
    ExpectationConfig,
    IdentityConfig,
    JourneyConfig,
    ModelsConfig,
    ProbabilisticConfig,
    SegmentRule,
    SourceConfig,
    Strict,
    TouchpointConfig,
    ValidationConfig,
)
from cxdata.errors import ConfigError

__all__ = [
    "DEFAULT_CURRENCY",
    "DEFAULT_EVENT_TYPES",
    "DEFAULT_WAREHOUSE",
    "FIRST_DAY",
    "IDENTIFIER_TYPES",
    "LAST_DAY",
    "MAX_CONFIG_BYTES",
    "WAREHOUSE_SCHEMA_ENV",
    "WAREHOUSE_URL_ENV",
    "AlertsConfig",
    "Bound",
    "ChurnConfig",
    "ClvConfig",
    "CsvOptions",
    "ExpectationConfig",
    "IdentityConfig",
    "IncrementalConfig",
    "JourneyConfig",
    "ModelsConfig",
    "ProbabilisticConfig",
    "ProjectConfig",
    "ScaleConfig",
    "SegmentRule",
    "SourceConfig",
    "TouchpointConfig",
    "ValidationConfig",
    "day_problem",
    "load_config",
    "redact_url",
]

DEFAULT_WAREHOUSE = "duckdb:///.cxdata/warehouse.duckdb"
DEFAULT_CURRENCY = "EUR"
_CURRENCY = re.compile(r"[A-Z]{3}")
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
# Dagster's own rule for owners: an email address or team:<name>
_OWNER = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+|team:[A-Za-z0-9_.-]+")


class ProjectConfig(Strict):
    """A validated project: sources mapped onto the contract, where to publish, when to score."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    warehouse: str = DEFAULT_WAREHOUSE
    warehouse_schema: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    as_of: dt.date | None = None
    timezone: str = "UTC"
    currency: str = DEFAULT_CURRENCY
    sources: dict[str, SourceConfig]
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    journey: JourneyConfig = Field(default_factory=JourneyConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    incremental: IncrementalConfig = Field(default_factory=IncrementalConfig)
    scale: ScaleConfig = Field(default_factory=ScaleConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    activation: ActivationConfig = Field(default_factory=ActivationConfig)
    # who answers for each asset group in the Dagster UI: group name (or "default") -> emails or team:<name>
    owners: dict[str, list[str]] = Field(default_factory=lambda: {"default": ["team:data"]})
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

    @field_validator("owners")
    @classmethod
    def _owners(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for group, owners in value.items():
            for owner in owners:
                if not _OWNER.fullmatch(owner):
                    raise ValueError(
                        f"owners.{group}: {owner!r} is neither an email address nor a team (team:<name>)"
                    )
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        # Only a label on amounts (nothing is converted), so the shape is checked, not a list that ages.
        if _CURRENCY.fullmatch(value):
            return value
        hint = f" (write {value.upper()!r})" if _CURRENCY.fullmatch(value.upper()) else ""
        raise ValueError(f"not an ISO 4217 currency code: three upper-case letters such as EUR, USD, GBP{hint}")

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

    def source(self, table: str) -> SourceConfig:
        """The configured source of ``table``: one of `sources`, or `privacy.requests` for the erasure requests."""
        if table == schema.ERASURE_REQUESTS.name and self.privacy.requests is not None:
            return self.privacy.requests
        return self.sources[table]

    def source_path(self, table: str) -> Path:
        """The absolute file, glob or folder of a file source."""
        source = self.source(table)
        if source.path is None:
            raise ConfigError(f"source {table!r} is a SQL source, not a path")
        return _resolve(self.base_dir, source.path)


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
        raw = copy.deepcopy(_parsed(_read(file)))
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
    _check_sections(config, file, written)
    return config.model_copy(
        update={
            "warehouse": _resolve_url(config.warehouse, file.parent, file, "warehouse"),
            "sources": {name: _with_url(src, file, f"sources.{name}.url") for name, src in config.sources.items()},
            "privacy": config.privacy.model_copy(
                update={"requests": _with_url(config.privacy.requests, file, "privacy.requests.url")}
            ),
        }
    )


def _with_url(source: SourceConfig | None, file: Path, key: str) -> SourceConfig | None:
    if source is None or source.url is None:
        return source
    return source.model_copy(update={"url": _resolve_url(source.url, file.parent, file, key)})


@functools.lru_cache(maxsize=16)
def _parsed(text: str) -> Any:
    # A run loads the config in every step and check (about a hundred times): the YAML parse, pure Python and
    # the costly part, is done once per distinct text; callers get a deep copy.
    return yaml.safe_load(text)


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
    requests = config.privacy.requests
    configured = [(("sources", name), name, source) for name, source in config.sources.items()]
    if requests is not None:
        configured.append((("privacy", "requests"), schema.ERASURE_REQUESTS.name, requests))
    for at, name, source in configured:
        if at[0] == "sources" and name not in schema.TABLES:
            problems.append(
                f"{file}: key 'sources.{name}': unknown table {name!r}; known tables: {', '.join(schema.TABLES)}"
            )
            continue
        table = schema.table(name)
        for canonical, source_column in source.columns.items():
            if canonical not in table.column_names:
                key = (*at, "columns", canonical)
                problems.append(
                    f"{file}: key '{'.'.join(key)}': {canonical!r} is not a column of {name}"
                    f"{shown_value(key, source_column, written)}; columns: {', '.join(table.column_names)}"
                )
        for canonical, fmt in source.formats.items():
            if canonical not in table.column_names or table.column(canonical).kind not in ("timestamp", "date"):
                stamps = [c.name for c in table.columns if c.kind in ("timestamp", "date")]
                key = (*at, "formats", canonical)
                problems.append(
                    f"{file}: key '{'.'.join(key)}': formats apply to date/time columns "
                    f"({', '.join(stamps)}), not {canonical!r}{shown_value(key, fmt, written)}"
                )
        if source.path is not None and source.format is None:
            _check_file_format(config, name, file, problems, ".".join(at))
    if problems:
        raise ConfigError("\n".join(problems))


def _check_sections(config: ProjectConfig, file: Path, written: dict[tuple[str, ...], str]) -> None:
    found = scale_problems(config.scale, config.warehouse_kind)
    found += activation_problems(config.activation, [rule.name for rule in config.models.churn.segments])
    start = config.incremental.start_date
    if start is not None and (problem := day_problem(start)) is not None:
        found.append((("incremental", "start_date"), start, problem))
    problems = [
        f"{file}: key '{'.'.join(key)}': {why}{shown_value(key, value, written)}" for key, value, why in found
    ]
    if problems:
        raise ConfigError("\n".join(problems))


def _check_file_format(config: ProjectConfig, name: str, file: Path, problems: list[str], at: str) -> None:
    path = config.source_path(name)
    if path.is_dir() or any(ch in str(path) for ch in "*?["):
        return
    if path.suffix.lower() not in (".csv", ".parquet", ".pq", ".txt", ".tsv"):
        problems.append(
            f"{file}: key '{at}.path': cannot tell the format of {mask_secrets(str(path))!r} from its "
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
