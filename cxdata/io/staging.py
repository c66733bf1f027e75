"""Map a raw source onto its canonical table: rename, cast, parse times to UTC, keep extras.

`standardise` is the lazy transform; `load_table` collects it once and refuses
to hand on a frame in which a value could not be read, naming the source,
column and a sample of the bad values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from cxdata import schema
from cxdata.config import ProjectConfig, SourceConfig
from cxdata.errors import IngestError
from cxdata.io.readers import SOURCE_COLUMN, read_source

LOADED_AT_COLUMN = "_loaded_at"
_FLAG = "__unreadable__"
_SAMPLE = 5

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
        elif column.required or column.name in source.columns:
            missing.append(f"{column.name!r} (source column {name!r})")
        else:
            canonical[column.name] = None
    if missing:
        raise IngestError(
            f"source {table!r} ({label}): missing column(s) {', '.join(missing)}; the source has "
            f"{', '.join(repr(c) for c in available)}; map them under 'sources.{table}.columns' in the config"
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
    raw: pl.LazyFrame, table: str, source: SourceConfig, timezone: str, label: str, loaded_at: dt.datetime
) -> pl.LazyFrame:
    """The canonical lazy frame, plus one boolean `__unreadable__<column>` flag per parsed column.

    A flag is true where the source held a value that could not be read as the
    contract's type; `load_table` turns any true flag into an error.
    """
    available = list(raw.collect_schema().names())
    types = raw.collect_schema()
    mapping = map_columns(table, source, available, label)
    spec = schema.table(table)
    columns, flags = [], []
    for column in spec.columns:
        name = mapping.canonical[column.name]
        if name is None:
            columns.append(pl.lit(None, dtype=column.dtype).alias(column.name))
            continue
        parsed = _cast(pl.col(name), types[name], column, source.formats.get(column.name), timezone)
        columns.append(parsed.alias(column.name))
        if column.kind not in ("id", "text"):
            flags.append((pl.col(name).is_not_null() & parsed.is_null()).alias(_FLAG + column.name))
    extras = [pl.col(src).alias(dst) for src, dst in mapping.extras.items()]
    lineage = [
        pl.col(SOURCE_COLUMN) if SOURCE_COLUMN in available else pl.lit(label).alias(SOURCE_COLUMN),
        pl.lit(loaded_at, dtype=schema.UTC_TIMESTAMP).alias(LOADED_AT_COLUMN),
    ]
    return raw.select(*columns, *extras, *lineage, *flags)


def load_table(config: ProjectConfig, table: str, loaded_at: dt.datetime | None = None) -> pl.DataFrame:
    """Read one configured source as its canonical table, or raise an `IngestError` naming the bad values.

    >>> orders = load_table(load_config("cxdata.yaml"), "orders")   # doctest: +SKIP
    >>> orders.schema["ordered_at"]                                # doctest: +SKIP
    Datetime(time_unit='us', time_zone='UTC')
    """
    source = config.sources[table]
    parts = read_source(config, table)
    stamp = loaded_at or dt.datetime.now(dt.UTC)
    try:
        staged = [standardise(part, table, source, config.timezone, source.label, stamp) for part in parts]
        # Extra columns present in only some files still line up; canonical ones already share types.
        frame = (staged[0] if len(staged) == 1 else pl.concat(staged, how="diagonal_relaxed")).collect()
    except pl.exceptions.PolarsError as exc:
        raise IngestError(f"source {table!r} ({source.label}): {_unreadable_file(exc)}") from exc
    flag_columns = [c for c in frame.columns if c.startswith(_FLAG)]
    problems = _unreadable(frame, flag_columns, parts, table, source, config.timezone)
    problems += _required_nulls(frame, table, flag_columns)
    if problems:
        raise IngestError(f"source {table!r} ({source.label}): " + "; ".join(problems))
    return frame.drop(flag_columns)


def _unreadable(
    frame: pl.DataFrame,
    flags: list[str],
    parts: list[pl.LazyFrame],
    table: str,
    source: SourceConfig,
    timezone: str,
) -> list[str]:
    counts = frame.select(pl.col(flags).sum()).row(0, named=True) if flags else {}
    problems = []
    for flag, count in counts.items():
        if not count:
            continue
        column = schema.table(table).column(flag.removeprefix(_FLAG))
        source_name = source.columns.get(column.name, column.name)
        # Error path only: read the raw column again to quote the values exactly as the source has them.
        values = pl.concat(
            [p.select(pl.col(source_name).cast(pl.String).alias("_value")) for p in parts]
        ).collect()
        bad = _locate(pl.concat([values, frame.select(flag, SOURCE_COLUMN)], how="horizontal"), pl.col(flag))
        shown = ", ".join(f"{v!r} ({where})" for v, where in zip(bad["_value"], bad["_where"], strict=True))
        problems.append(
            f"column {column.name!r} (source column {source_name!r}) has {count} value(s) that are not "
            f"{_expected(column, source.formats.get(column.name), timezone)}, e.g. {shown}"
        )
    return problems


def _required_nulls(frame: pl.DataFrame, table: str, flags: list[str]) -> list[str]:
    # A value that was there but unreadable is already reported; only count values the source left empty.
    empty = {
        column: pl.col(column).is_null() & ~pl.col(_FLAG + column)
        if _FLAG + column in flags
        else pl.col(column).is_null()
        for column in schema.table(table).required
    }
    counts = frame.select(expr.sum().alias(column) for column, expr in empty.items()).row(0, named=True)
    problems = []
    for column, count in counts.items():
        if count:
            where = _locate(frame, empty[column]).get_column("_where").to_list()
            problems.append(f"required column {column!r} is empty in {count} row(s), e.g. {', '.join(where)}")
    return problems


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


def _locate(frame: pl.DataFrame, predicate: pl.Expr) -> pl.DataFrame:
    """The first offending rows, each with a `_where` like "record 12 of data/orders.csv" (header not counted)."""
    record = pl.int_range(1, pl.len() + 1).over(SOURCE_COLUMN)
    return (
        frame.with_columns(_where=pl.format("record {} of {}", record, pl.col(SOURCE_COLUMN)))
        .filter(predicate)
        .head(_SAMPLE)
    )


def _expected(column: schema.Column, fmt: str | None, timezone: str) -> str:
    if column.kind == "timestamp":
        wanted = f"timestamps in format {fmt!r}" if fmt else "ISO 8601 timestamps"
        return f"{wanted} that exist in {timezone} (naive times are read in that zone)"
    if column.kind == "date":
        return f"dates in format {fmt!r}" if fmt else "ISO dates (YYYY-MM-DD)"
    return "numbers (a dot as decimal separator, no thousands separator)"


def _cast(expr: pl.Expr, dtype: pl.DataType, column: schema.Column, fmt: str | None, tz: str) -> pl.Expr:
    if column.kind in ("id", "text"):
        return expr if dtype == pl.String else expr.cast(pl.String)
    if column.kind in ("amount", "score"):
        if dtype == pl.String:
            return expr.str.strip_chars().cast(pl.Float64, strict=False)
        return expr.cast(pl.Float64, strict=False)
    if column.kind == "date":
        return _to_date(expr, dtype, fmt)
    return _to_utc(expr, dtype, fmt, tz)


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
