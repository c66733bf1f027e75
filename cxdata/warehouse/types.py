"""Polars dtypes to warehouse column types and back, for DuckDB and PostgreSQL.

========================  =====================  ==========================  =====================
polars (published)        DuckDB                 PostgreSQL                  polars (read back)
========================  =====================  ==========================  =====================
Boolean                   BOOLEAN                boolean                     Boolean
Int8 / Int16              TINYINT / SMALLINT     smallint                    same; PG: Int16
Int32 / Int64             INTEGER / BIGINT       integer / bigint            same
UInt8 / UInt16            UTINYINT / USMALLINT   smallint / integer          same; PG: Int16 / Int32
UInt32 / UInt64           UINTEGER / UBIGINT     bigint / numeric(20,0)      same; PG: Int64 / Decimal(20,0)
Float16 / Float32         REAL                   real                        Float32
Float64                   DOUBLE                 double precision            Float64
Decimal(p, s)             DECIMAL(p,s)           numeric(p,s)                Decimal(p, s)
String/Categorical/Enum   VARCHAR                text                        String
Null (all-null column)    VARCHAR                text                        String
Date                      DATE                   date                        Date
Datetime(unit)            TIMESTAMP              timestamp                   Datetime("us")
Datetime(unit, tz)        TIMESTAMPTZ            timestamptz                 Datetime("us", "UTC")
Time                      TIME                   time                        Time
Duration(unit)            INTERVAL               interval                    Duration("us")
Binary                    BLOB                   bytea                       Binary
========================  =====================  ==========================  =====================

Both warehouses keep microseconds, so nanosecond datetimes, times and durations are
truncated to microseconds on publish. Aware datetimes are stored as instants and read
back in UTC, whatever zone the frame had. DuckDB has native unsigned and 1-byte
integers, so there every integer dtype round-trips exactly; PostgreSQL has neither,
so those go to the next wider signed type (UInt64 to numeric(20,0)) and come back as
that type with the same values. Nested and object dtypes (List, Array, Struct, Map,
Object) and 128-bit integers are refused with an error naming the column: flatten
them, or encode them as JSON text, before publishing.

Tables made by other means read the same way; on PostgreSQL an unconstrained
numeric becomes Decimal(38, s) with the scale its values need, and types with no
polars counterpart (uuid, json, arrays, ...) come back as their text form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from cxdata.warehouse.errors import WarehouseError
from cxdata.warehouse.identifiers import MAX_IDENTIFIER_LENGTH

DUCKDB = "duckdb"
POSTGRESQL = "postgresql"

# Polars caps decimals at 38 digits; so do DuckDB and Arrow.
MAX_DECIMAL_PRECISION = 38

_SIMPLE_TYPES: dict[type[pl.DataType], tuple[str, str]] = {
    pl.Boolean: ("BOOLEAN", "boolean"),
    pl.Int8: ("TINYINT", "smallint"),
    pl.Int16: ("SMALLINT", "smallint"),
    pl.Int32: ("INTEGER", "integer"),
    pl.Int64: ("BIGINT", "bigint"),
    pl.UInt8: ("UTINYINT", "smallint"),
    pl.UInt16: ("USMALLINT", "integer"),
    pl.UInt32: ("UINTEGER", "bigint"),
    pl.UInt64: ("UBIGINT", "numeric(20,0)"),
    pl.Float16: ("REAL", "real"),
    pl.Float32: ("REAL", "real"),
    pl.Float64: ("DOUBLE", "double precision"),
    pl.String: ("VARCHAR", "text"),
    pl.Categorical: ("VARCHAR", "text"),
    pl.Enum: ("VARCHAR", "text"),
    pl.Null: ("VARCHAR", "text"),
    pl.Date: ("DATE", "date"),
    pl.Time: ("TIME", "time"),
    pl.Duration: ("INTERVAL", "interval"),
    pl.Binary: ("BLOB", "bytea"),
}


def column_type(column: str, dtype: pl.DataType, dialect: str) -> str:
    """The warehouse type a column of ``dtype`` is published as; unsupported dtypes raise WarehouseError."""
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return "TIMESTAMP" if dialect == DUCKDB else "timestamp"
        return "TIMESTAMPTZ" if dialect == DUCKDB else "timestamptz"
    if isinstance(dtype, pl.Decimal):
        precision, scale = _decimal_shape(dtype)
        return f"DECIMAL({precision},{scale})" if dialect == DUCKDB else f"numeric({precision},{scale})"
    names = _SIMPLE_TYPES.get(dtype.base_type())
    if names is None:
        raise WarehouseError(
            f"column {column!r} has dtype {dtype}, which the warehouse cannot store: supported are booleans, "
            "integers up to 64 bits, floats, decimals, strings, categoricals, dates, datetimes, times, "
            "durations and binary; flatten nested values or encode them as JSON text before publishing"
        )
    return names[0] if dialect == DUCKDB else names[1]


def warehouse_columns(schema: pl.Schema, dialect: str) -> dict[str, str]:
    """Column name to warehouse type for a frame schema, after checking every name and dtype."""
    if not schema:
        raise WarehouseError("the frame has no columns; a warehouse table needs at least one")
    for column in schema:
        if not column or "\x00" in column:
            raise WarehouseError(f"column name {column!r} is empty or contains a NUL character")
        if dialect == POSTGRESQL and len(column.encode()) > MAX_IDENTIFIER_LENGTH:
            raise WarehouseError(
                f"column name {column!r} is longer than PostgreSQL's {MAX_IDENTIFIER_LENGTH}-byte identifier "
                "limit and would be silently truncated; rename it before publishing"
            )
    return {column: column_type(column, dtype, dialect) for column, dtype in schema.items()}


def _decimal_shape(dtype: pl.Decimal) -> tuple[int, int]:
    return dtype.precision or MAX_DECIMAL_PRECISION, dtype.scale or 0


def stored_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """A new frame holding exactly the values the warehouse will store (UTC, microseconds, plain strings)."""
    exprs: list[pl.Expr] = []
    for column, dtype in frame.schema.items():
        col = pl.col(column)
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:
                exprs.append(col.cast(pl.Datetime("us")))
            else:
                exprs.append(col.dt.convert_time_zone("UTC").cast(pl.Datetime("us", "UTC")))
        elif isinstance(dtype, pl.Duration):
            exprs.append(col.cast(pl.Duration("us")))
        elif isinstance(dtype, pl.Time):
            # Both warehouses keep microseconds; truncate here so both store the same value.
            exprs.append((col.cast(pl.Int64) // 1_000 * 1_000).cast(pl.Time))
        elif isinstance(dtype, pl.Decimal) and dtype.precision is None:
            exprs.append(col.cast(pl.Decimal(*_decimal_shape(dtype))))
        elif isinstance(dtype, (pl.Categorical, pl.Enum, pl.Null)):
            exprs.append(col.cast(pl.String))
        elif isinstance(dtype, pl.Float16):
            exprs.append(col.cast(pl.Float32))
        else:
            continue
    return frame.with_columns(exprs) if exprs else frame


def csv_frame(stored: pl.DataFrame) -> pl.DataFrame:
    """The stored frame with temporal and binary columns as PostgreSQL input text, ready for COPY CSV."""
    exprs: list[pl.Expr] = []
    for column, dtype in stored.schema.items():
        col = pl.col(column)
        if isinstance(dtype, pl.Datetime):
            # An explicit offset keeps the instant exact whatever the session time zone is.
            fmt = "%Y-%m-%d %H:%M:%S%.6f" + ("+00" if dtype.time_zone else "")
            exprs.append(col.dt.to_string(fmt))
        elif isinstance(dtype, pl.Time):
            exprs.append(col.dt.to_string("%H:%M:%S%.6f"))
        elif isinstance(dtype, pl.Duration):
            exprs.append(pl.concat_str(col.dt.total_microseconds(), pl.lit(" microseconds")).alias(column))
        elif isinstance(dtype, pl.Binary):
            exprs.append((pl.lit("\\x") + col.bin.encode("hex")).alias(column))
    return stored.with_columns(exprs) if exprs else stored


@dataclass(frozen=True)
class ReadColumn:
    """How one PostgreSQL column travels through COPY CSV: select expression, CSV dtype, final conversion."""

    select: str
    csv_dtype: pl.DataType
    finish: Callable[[pl.Series], pl.Series]


def _keep(series: pl.Series) -> pl.Series:
    return series


def _to(dtype: pl.DataType) -> Callable[[pl.Series], pl.Series]:
    return lambda series: series.cast(dtype)


# Timestamps travel as ISO text (the read pins DateStyle and TimeZone), which
# PostgreSQL prints and polars parses far faster than it computes epochs.
_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S%.f"
# Dates, times and intervals travel as integers: exact and cheap to compute.
_DURATION_US = "(extract(epoch from {c}) * 1000000)::int8"


def _utc_timestamps(series: pl.Series) -> pl.Series:
    return series.str.to_datetime(f"{_TIMESTAMP_FORMAT}%#z", time_unit="us").dt.convert_time_zone("UTC")


_PG_READS: dict[str, ReadColumn] = {
    "bool": ReadColumn("({c})::int", pl.Int32(), _to(pl.Boolean())),
    "int2": ReadColumn("{c}", pl.Int16(), _keep),
    "int4": ReadColumn("{c}", pl.Int32(), _keep),
    "int8": ReadColumn("{c}", pl.Int64(), _keep),
    "float4": ReadColumn("{c}", pl.Float32(), _keep),
    "float8": ReadColumn("{c}", pl.Float64(), _keep),
    "date": ReadColumn("({c} - date '1970-01-01')", pl.Int32(), _to(pl.Date())),
    "timestamp": ReadColumn(
        "{c}", pl.String(), lambda series: series.str.to_datetime(_TIMESTAMP_FORMAT, time_unit="us")
    ),
    "timestamptz": ReadColumn("{c}", pl.String(), _utc_timestamps),
    "time": ReadColumn(_DURATION_US, pl.Int64(), lambda series: (series * 1_000).cast(pl.Time())),
    "interval": ReadColumn(_DURATION_US, pl.Int64(), _to(pl.Duration("us"))),
    "bytea": ReadColumn("encode({c}, 'hex')", pl.String(), lambda series: series.str.decode("hex")),
    "text": ReadColumn("{c}", pl.String(), _keep),
    "varchar": ReadColumn("{c}", pl.String(), _keep),
    "bpchar": ReadColumn("{c}", pl.String(), _keep),
    "name": ReadColumn("{c}", pl.String(), _keep),
}

_PG_AS_TEXT = ReadColumn("({c})::text", pl.String(), _keep)


def _inferred_decimal(series: pl.Series) -> pl.Series:
    # The widest precision polars holds, as ad hoc queries give, with the scale the values need.
    decimals = series.str.to_decimal(inference_length=max(len(series), 1))
    return decimals.cast(pl.Decimal(MAX_DECIMAL_PRECISION, decimals.dtype.scale))


def postgres_read_column(type_name: str, typmod: int) -> ReadColumn:
    """The COPY plan for a PostgreSQL column of base type ``type_name`` (pg_type.typname) and ``typmod``."""
    if type_name == "numeric":
        if typmod >= 4:
            precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
            if precision <= MAX_DECIMAL_PRECISION:
                return ReadColumn("{c}", pl.String(), _to(pl.Decimal(precision, scale)))
        # Unconstrained (or wider than polars allows): the scale is read off the values, all of them.
        return ReadColumn("{c}", pl.String(), _inferred_decimal)
    return _PG_READS.get(type_name, _PG_AS_TEXT)


# Result dtypes of ad hoc PostgreSQL queries, by type OID (pg_type.oid).
PG_OID_DTYPES: dict[int, pl.DataType] = {
    16: pl.Boolean(),
    17: pl.Binary(),
    19: pl.String(),
    20: pl.Int64(),
    21: pl.Int16(),
    23: pl.Int32(),
    25: pl.String(),
    26: pl.Int64(),
    700: pl.Float32(),
    701: pl.Float64(),
    1042: pl.String(),
    1043: pl.String(),
    1082: pl.Date(),
    1083: pl.Time(),
    1114: pl.Datetime("us"),
    1184: pl.Datetime("us", "UTC"),
    1186: pl.Duration("us"),
}

# Types psycopg turns into Python objects polars cannot hold (UUID, dict, IP
# address, aware time, ...): queries load them as their text form instead.
PG_TEXT_OIDS: tuple[int, ...] = (114, 142, 650, 790, 829, 869, 1266, 2950, 3802)
PG_NUMERIC_OID = 1700
