"""Map a raw source onto its canonical table: rename, cast, parse times to UTC, keep extras.

`standardise` is the lazy transform; `stage_table` collects it once together
with the row rules of `cxdata.validate` and splits the rows into accepted and
quarantined ones; `load_table` hands on the accepted rows, or stops when too
many were quarantined.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

import polars as pl

from cxdata import schema
from cxdata.config import ProjectConfig, SourceConfig
from cxdata.errors import IngestError
from cxdata.io.days import PARTITION_COLUMN, partitioned, with_partition_day
from cxdata.io.readers import SOURCE_COLUMN, read_labelled
from cxdata.privacy.retention import expired_before
from cxdata.privacy.suppress import Suppression, suppressed_rows
from cxdata.validate import quarantine, rules
from cxdata.validate.quarantine import BLANK_COLUMN, LOADED_AT_COLUMN, RAW_PREFIX, RECORD_COLUMN
from cxdata.validate.rules import UNREADABLE_PREFIX

# Tried in order when a source gives no format; every candidate is exact, none guesses day/month order.
_AWARE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
_NAIVE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)
_DATE_FORMATS = ("%Y-%m-%d",)


@dataclass(frozen=True)
class Mapping:
    """Which source column feeds each canonical column, and which extras ride along."""

    canonical: dict[str, str | None]
    extras: dict[str, str]


def map_columns(table: str, source: SourceConfig, available: list[str], label: str) -> Mapping:
    """Resolve the config's column map against the columns a source really has."""
    spec = schema.table(table)
    missing, canonical = [], {}
    for column in spec.columns:
        name = source.columns.get(column.name, column.name)
        if name in available:
            canonical[column.name] = name
        elif column.name in source.columns or (column.required and not column.generated):
            missing.append(f"{column.name!r} (source column {name!r})")
        else:
            canonical[column.name] = None
    if missing:
        columns = [c for c in available if c != SOURCE_COLUMN]
        found = next((ch for ch in ";,\t|" if len(columns) == 1 and ch in columns[0]), None)
        advice = (
            f"the header is one column, {columns[0]!r}: set its separator, csv: {{separator: {found!r}}}"
            if found
            else f"map them under 'sources.{table}.columns' in the config"
        )
        raise IngestError(
            f"source {table!r} ({label}): missing column(s) {', '.join(missing)}; the source has "
            f"{', '.join(repr(c) for c in columns)}; {advice}"
        )
    used = {name for name in canonical.values() if name is not None}
    extras = {}
    for name in available:
        if name in used or name == SOURCE_COLUMN:
            continue
        # An unmapped source column may carry a canonical name that another column now fills.
        extras[name] = f"source_{name}" if name in spec.column_names else name
    return Mapping(canonical, extras)


def standardise(
    raw: pl.LazyFrame,
    table: str,
    source: SourceConfig,
    timezone: str,
    label: str,
    loaded_at: dt.datetime,
    keep_raw: bool = False,
) -> pl.LazyFrame:
    """The canonical lazy frame, plus one boolean `__unreadable__<column>` flag per parsed column.

    A flag is true where the source held a value that could not be read as the
    contract's type (NaN and infinity count as unreadable numbers). With
    ``keep_raw`` the frame also carries `__record__` (1-based record number in
    its part), `__blank__` (a record without any value: a blank line) and
    `__raw__<column>`, the source text of every parsed column, so a quarantined
    row can quote exactly what the source held. A generated column the source
    lacks (orders' order_id) is ``<_source>:<record number>``.
    """
    raw = raw.with_row_index(RECORD_COLUMN, offset=1)
    types = raw.collect_schema()
    available = [name for name in types.names() if name != RECORD_COLUMN]
    mapping = map_columns(table, source, available, label)
    spec = schema.table(table)
    part = pl.col(SOURCE_COLUMN) if SOURCE_COLUMN in available else pl.lit(label)
    columns, flags, texts = [], [], []
    for column in spec.columns:
        name = mapping.canonical[column.name]
        if name is None and column.generated:
            record = pl.col(RECORD_COLUMN).cast(pl.String)
            columns.append(pl.concat_str([part, pl.lit(":"), record]).alias(column.name))
            continue
        if name is None:
            columns.append(pl.lit(None, dtype=column.dtype).alias(column.name))
            continue
        fmt = source.formats.get(column.name)
        parsed = _cast(pl.col(name), types[name], column, fmt, timezone, source.csv.decimal_comma)
        columns.append(parsed.alias(column.name))
        if column.kind in ("id", "text"):
            continue
        present = pl.col(name).is_not_null()
        if types[name] == pl.String:
            # Blanks are a missing value (a required-column problem), not an unreadable one.
            present = present & (pl.col(name).str.strip_chars() != "")
        unreadable = parsed.is_null()
        if column.kind in ("amount", "score"):
            unreadable = unreadable | ~parsed.is_finite()
        flags.append((present & unreadable).alias(UNREADABLE_PREFIX + column.name))
        texts.append(pl.col(name).cast(pl.String).alias(RAW_PREFIX + column.name))
    extras = [pl.col(src).alias(dst) for src, dst in mapping.extras.items()]
    lineage = [
        pl.col(SOURCE_COLUMN) if SOURCE_COLUMN in available else pl.lit(label).alias(SOURCE_COLUMN),
        pl.lit(loaded_at, dtype=schema.UTC_TIMESTAMP).alias(LOADED_AT_COLUMN),
    ]
    internal = [pl.col(RECORD_COLUMN), _blank(types, available).alias(BLANK_COLUMN), *texts] if keep_raw else []
    return raw.select(*columns, *extras, *lineage, *flags, *internal)


def _blank(types: pl.Schema, available: list[str]) -> pl.Expr:
    """True for a record without any value: a blank line of a CSV file (only spaces or nothing)."""
    empty = [
        pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") if types[c] == pl.String else pl.col(c).is_null()
        for c in available
        if c != SOURCE_COLUMN
    ]
    return pl.all_horizontal(empty) if empty else pl.lit(False)


@dataclass(frozen=True)
class Staged:
    """One load of a table: the rows that go on, the rows held back, and the `load_audit` row that counts both."""

    accepted: pl.DataFrame
    quarantined: pl.DataFrame
    audit: dict[str, object]

    @property
    def passed(self) -> bool:
        """True when the quarantined share is within the table's limit."""
        return bool(self.audit["passed"])


def stage_table(
    config: ProjectConfig,
    table: str,
    loaded_at: dt.datetime | None = None,
    sample: int | None = None,
    labels: Collection[str] | None = None,
    suppression: Suppression | None = None,
) -> Staged:
    """Read one source, apply the row rules (`cxdata.validate.rules`) and split its rows; nothing is dropped.

    Structural problems (unreadable file, missing column, unreachable database)
    raise `IngestError`; bad rows never do: they are in ``quarantined``. With
    ``sample``, only the first ``sample`` records of each file (or of the query)
    are read, as `cxdata check` does; with ``labels``, only those files of a file source (see
    `cxdata.io.partitions`). An event table's rows carry their ``partition_day``, the project-zone day of
    their event, null where the event time is missing or unreadable. With ``suppression``, the rows carrying
    an erased person's identifier are dropped before the split and counted as ``rows_suppressed``
    (`cxdata.privacy.suppress`); the rows of days before the table's retention are dropped too, counted as
    ``rows_expired`` (`cxdata.privacy.retention`).

    >>> staged = stage_table(load_config("cxdata.yaml"), "orders")   # doctest: +SKIP
    >>> staged.audit["rows_in"] == staged.accepted.height + staged.quarantined.height   # doctest: +SKIP
    True
    """
    source = config.sources[table]
    stamp = loaded_at or dt.datetime.now(dt.UTC)
    labelled = read_labelled(config, table, limit=sample, labels=labels)
    if not labelled:
        return _nothing_read(config, table, stamp)
    try:
        staged = [standardise(p, table, source, config.timezone, source.label, stamp, True) for _, p in labelled]
        originals = _originals(labelled, staged, table, source)
        names = {c for frame in staged for c in frame.collect_schema().names()}
        flagged = {c.removeprefix(UNREADABLE_PREFIX) for c in names if c.startswith(UNREADABLE_PREFIX)}
        found = rules.checks(table, config.validation, stamp, flagged)
        # Extra columns present in only some files still line up; canonical ones already share types.
        joined = staged[0] if len(staged) == 1 else pl.concat(staged, how="diagonal_relaxed")
        joined = with_partition_day(joined, table, config.timezone)
        internal = (RECORD_COLUMN, BLANK_COLUMN, RAW_PREFIX, UNREADABLE_PREFIX)
        keep = [c for c in joined.collect_schema().names() if not c.startswith(internal)]
        frame = quarantine.mark(joined, found).collect()
    except pl.exceptions.PolarsError as exc:
        raise IngestError(f"source {table!r} ({source.label}): {_unreadable_file(exc)}") from exc
    # blank lines are no records: skipped, and counted in the audit rather than quarantined
    blank = int(frame[BLANK_COLUMN].sum())
    frame = frame.filter(~pl.col(BLANK_COLUMN))
    erased = suppressed_rows(frame, config, suppression)
    expired = _expired(frame, config, table, stamp)
    frame = frame.filter(~erased & ~expired)
    accepted, quarantined = quarantine.split(frame, found, originals, keep, carried(table))
    limit = config.validation.quarantine_limit(table)
    audit = quarantine.audit_row(
        table, source.label, frame.height, quarantined, limit, stamp, blank, int(erased.sum()),
        int((expired & ~erased).sum()),
    )  # fmt: skip
    return Staged(accepted, quarantined, audit)


def _expired(frame: pl.DataFrame, config: ProjectConfig, table: str, now: dt.datetime) -> pl.Series:
    """A boolean per row: whether its day lies before the table's retention (`cxdata.privacy.retention`)."""
    cutoff = expired_before(config, table, now)
    if cutoff is None or PARTITION_COLUMN not in frame.columns:
        return pl.Series("expired", [False] * frame.height, dtype=pl.Boolean)
    return (frame[PARTITION_COLUMN] < cutoff).fill_null(False)


def carried(table: str) -> list[str]:
    """The parsed columns an event table's quarantined rows keep: the day and the primary key, so a restated
    day replaces its own quarantined rows and a repeated key is found among them (`cxdata.io.partitions`)."""
    key = schema.table(table).primary_key
    return [PARTITION_COLUMN, *([key] if key else [])] if partitioned(table) else []


def _nothing_read(config: ProjectConfig, table: str, stamp: dt.datetime) -> Staged:
    """The load of no file: empty frames in the staged shape, and an audit row counting nothing."""
    source = config.sources[table]
    columns = {c.name: c.dtype for c in schema.table(table).columns}
    lineage = {SOURCE_COLUMN: pl.String(), LOADED_AT_COLUMN: schema.UTC_TIMESTAMP}
    days = {PARTITION_COLUMN: pl.Date()} if partitioned(table) else {}
    accepted = pl.DataFrame(schema={**columns, **lineage, **days})
    quarantined = pl.DataFrame(
        schema={**quarantine.QUARANTINE_SCHEMA, **{c: accepted.schema[c] for c in carried(table)}}
    )
    limit = config.validation.quarantine_limit(table)
    return Staged(accepted, quarantined, quarantine.audit_row(table, source.label, 0, quarantined, limit, stamp))


def load_table(config: ProjectConfig, table: str, loaded_at: dt.datetime | None = None) -> pl.DataFrame:
    """The accepted rows of one source as its canonical table (see `stage_table`).

    Raises `QuarantineError` when more rows fail the row rules than
    ``validation.quarantine_limit(table)`` allows, `IngestError` when the
    source cannot be read at all.

    >>> orders = load_table(load_config("cxdata.yaml"), "orders")   # doctest: +SKIP
    >>> orders.schema["ordered_at"]                                # doctest: +SKIP
    Datetime(time_unit='us', time_zone='UTC')
    """
    staged = stage_table(config, table, loaded_at)
    if not staged.passed:
        raise quarantine.threshold_error(staged.audit, staged.quarantined)
    return staged.accepted


def _originals(
    labelled: list[tuple[str, pl.LazyFrame]], staged: list[pl.LazyFrame], table: str, source: SourceConfig
) -> quarantine.Originals:
    """For each part's `_source`, the frame column that holds each of its source columns' raw value."""
    originals: quarantine.Originals = {}
    for (label, part), frame in zip(labelled, staged, strict=True):
        available = [c for c in part.collect_schema().names() if c != SOURCE_COLUMN]
        mapping = map_columns(table, source, available, source.label)
        held = set(frame.collect_schema().names())
        where = {name: canonical for canonical, name in reversed(mapping.canonical.items()) if name is not None}
        where |= mapping.extras
        pairs = []
        for name in available:
            column = where[name]
            pairs.append((name, RAW_PREFIX + column if RAW_PREFIX + column in held else column))
        originals[label] = pairs
    return originals


def _unreadable_file(exc: pl.exceptions.PolarsError) -> str:
    """The reader's complaint in one line, with what to do about the common ones."""
    detail = str(exc).strip().splitlines()[0]
    if "utf-8" in detail.lower() or "utf8" in detail.lower():
        return f"the file is not UTF-8 ({detail}); set 'csv: {{encoding: latin-1}}' (or cp1252) for this source"
    if "more fields" in detail:
        return f"a row has more fields than the header ({detail}); check the separator ('csv: {{separator: ...}}')"
    if isinstance(exc, pl.exceptions.NoDataError) or "empty" in detail.lower():
        return f"the file is empty, not even a header ({detail})"
    return f"the file could not be read as {type(exc).__name__}: {detail}"


def _cast(
    expr: pl.Expr, dtype: pl.DataType, column: schema.Column, fmt: str | None, tz: str, decimal_comma: bool
) -> pl.Expr:
    if column.kind in ("id", "text"):
        return expr if dtype == pl.String else expr.cast(pl.String)
    if column.kind in ("amount", "score"):
        if dtype == pl.String:
            return _comma_number(expr) if decimal_comma else expr.str.strip_chars().cast(pl.Float64, strict=False)
        return expr.cast(pl.Float64, strict=False)
    if column.kind == "date":
        return _to_date(expr, dtype, fmt)
    if column.kind == "flag":
        return _to_flag(expr, dtype)
    return _to_utc(expr, dtype, fmt, tz)


# the spellings of yes and no that CRMs export; anything else is unreadable (quarantined), never a guess
_YES = ("true", "t", "yes", "y", "1", "si", "sí", "oui", "ja", "opt-in", "opted in", "granted", "subscribed")
_NO = ("false", "f", "no", "n", "0", "non", "nein", "opt-out", "opted out", "denied", "revoked", "unsubscribed")


def _to_flag(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Boolean:
        return expr
    text = expr.cast(pl.String).str.strip_chars().str.to_lowercase()
    if dtype.is_numeric():
        text = expr.cast(pl.Float64).cast(pl.String).str.replace(r"\.0$", "")
    return pl.when(text.is_in(_YES)).then(True).when(text.is_in(_NO)).then(False).otherwise(None)


# 26,10 or 1.234,56 or 1 234,56 (grouped by "." or a space in threes); anything else is unreadable, so a
# 26.10 in a decimal-comma file is quarantined rather than read as 2610
_COMMA_NUMBER = r"^[+-]?(\d+|\d{1,3}(\.\d{3})+)(,\d+)?$"


def _comma_number(expr: pl.Expr) -> pl.Expr:
    text = expr.str.strip_chars().str.replace_all(r"[ \u00a0\u202f](\d{3})", "$1")
    plain = text.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
    return pl.when(text.str.contains(_COMMA_NUMBER)).then(plain).cast(pl.Float64, strict=False)


def _to_date(expr: pl.Expr, dtype: pl.DataType, fmt: str | None) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        return expr.dt.date()
    if dtype == pl.Date:
        return expr
    text = expr.cast(pl.String).str.strip_chars()
    return pl.coalesce([text.str.to_date(f, strict=False) for f in ((fmt,) if fmt else _DATE_FORMATS)])


def _to_utc(expr: pl.Expr, dtype: pl.DataType, fmt: str | None, tz: str) -> pl.Expr:
    def localise(naive: pl.Expr) -> pl.Expr:
        # A wall-clock time that does not exist in the zone (DST gap) becomes unreadable, not shifted.
        return naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null").dt.convert_time_zone(
            "UTC"
        )

    if isinstance(dtype, pl.Datetime):
        moment = expr.dt.cast_time_unit("us")
        return moment.dt.convert_time_zone("UTC") if dtype.time_zone else localise(moment)
    if dtype == pl.Date:
        return localise(expr.cast(pl.Datetime("us")))
    text = expr.cast(pl.String).str.strip_chars()
    formats = (fmt,) if fmt else _AWARE_FORMATS + _NAIVE_FORMATS
    aware = [f for f in formats if "%z" in f or "%#z" in f or "%:z" in f]
    naive = [f for f in formats if f not in aware]
    parts = (
        [
            pl.coalesce(
                [text.str.to_datetime(f, time_unit="us", strict=False) for f in aware]
            ).dt.convert_time_zone("UTC")
        ]
        if aware
        else []
    )
    if naive:
        parts.append(localise(pl.coalesce([text.str.to_datetime(f, time_unit="us", strict=False) for f in naive])))
    return parts[0] if len(parts) == 1 else pl.coalesce(parts)
