"""Every supported polars dtype survives publish and read on both warehouses; the rest is refused clearly."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cxdata.warehouse import WarehouseError

NAN, INF = float("nan"), float("inf")

STRINGS = [
    "plain",
    "",
    None,
    'say "hi", then leave',
    "line one\nline two\r\nline three",
    "ünïcödé 北京 🚀",
    "\\N NULL null back\\slash",
    "tab\there, 'single' quotes",
]
INSTANTS = [
    datetime(1900, 1, 1, 0, 0, 0, 1),
    datetime(1969, 12, 31, 23, 59, 59, 999_999),
    datetime(1970, 1, 1),
    datetime(2024, 2, 29, 12, 34, 56, 789_012),
    datetime(9999, 12, 31, 23, 59, 59, 999_999),
    None,
    datetime(1066, 10, 14, 9, 0, 0),
    datetime(1, 1, 1),
]

DAYS = [date(1066, 10, 14), date(1900, 1, 1), date(1969, 12, 31), date(1970, 1, 1)]
DAYS += [date(2000, 2, 29), date(9999, 12, 31), None, date(1, 1, 1)]
SPANS = [timedelta(0), timedelta(microseconds=1), timedelta(microseconds=-1), timedelta(days=10_000, seconds=1)]
SPANS += [timedelta(days=-3), None, timedelta(hours=36), timedelta(minutes=59, microseconds=59)]


def all_types() -> pl.DataFrame:
    """Eight rows covering every supported dtype with its edge values and a null."""
    return pl.DataFrame(
        [
            pl.Series("id", range(8), pl.Int32),
            pl.Series("bool", [True, False, None, True, False, True, None, False], pl.Boolean),
            pl.Series("i8", [-128, 127, None, 0, -1, 1, 42, -42], pl.Int8),
            pl.Series("i16", [-32768, 32767, None, 0, -1, 1, 42, -42], pl.Int16),
            pl.Series("i32", [-(2**31), 2**31 - 1, None, 0, -1, 1, 42, -42], pl.Int32),
            pl.Series("i64", [-(2**63), 2**63 - 1, None, 0, -1, 1, 42, -42], pl.Int64),
            pl.Series("u8", [0, 255, None, 1, 2, 3, 4, 5], pl.UInt8),
            pl.Series("u16", [0, 65535, None, 1, 2, 3, 4, 5], pl.UInt16),
            pl.Series("u32", [0, 2**32 - 1, None, 1, 2, 3, 4, 5], pl.UInt32),
            pl.Series("u64", [0, 2**64 - 1, None, 1, 2, 3, 4, 5], pl.UInt64),
            pl.Series("f32", [1.5, -3.4028235e38, None, NAN, INF, -INF, 0.1, 1e-30], pl.Float32),
            pl.Series("f64", [NAN, INF, -INF, None, -0.0, 1e-300, 5e-324, 1.7976931348623157e308], pl.Float64),
            pl.Series(
                "dec",
                [
                    Decimal("12.34"),
                    Decimal("-0.01"),
                    None,
                    Decimal("99999999.99"),
                    Decimal("0"),
                    *[Decimal("1.5")] * 3,
                ],
                pl.Decimal(10, 2),
            ),
            pl.Series(
                "dec_big", [Decimal(10**37), Decimal(-(10**37)), None, *[Decimal(7)] * 5], pl.Decimal(38, 0)
            ),
            pl.Series("str", STRINGS, pl.String),
            pl.Series("cat", ["a", "b", None, "a", "", "b", "a", "c"], pl.Categorical),
            pl.Series("enum", ["lo", "hi", None, "lo", "lo", "hi", "hi", "lo"], pl.Enum(["lo", "hi"])),
            pl.Series("nothing", [None] * 8, pl.Null),
            pl.Series(
                "day",
                DAYS,
                pl.Date,
            ),
            pl.Series("naive", INSTANTS, pl.Datetime("us")),
            pl.Series("aware", INSTANTS, pl.Datetime("us")).dt.replace_time_zone("UTC"),
            pl.Series(
                "clock",
                [
                    time(0),
                    time(23, 59, 59, 999_999),
                    time(12, 34, 56, 789),
                    None,
                    time(1),
                    time(2),
                    time(3),
                    time(4),
                ],
                pl.Time,
            ),
            pl.Series(
                "span",
                SPANS,
                pl.Duration("us"),
            ),
            pl.Series("blob", [b"", b"\x00\xff\x10", None, b"'\",\\\n", b"\x00", b"abc", b"", b"\xfe"], pl.Binary),
        ]
    )


def expected_back(frame: pl.DataFrame, dialect: str) -> pl.DataFrame:
    """The documented read-back dtypes: text for categoricals, wider signed integers on PostgreSQL."""
    casts = {"cat": pl.String, "enum": pl.String, "nothing": pl.String}
    if dialect == "postgresql":
        casts |= {"i8": pl.Int16, "u8": pl.Int16, "u16": pl.Int32, "u32": pl.Int64, "u64": pl.Decimal(20, 0)}
    return frame.with_columns(pl.col(name).cast(dtype) for name, dtype in casts.items())


def test_every_supported_dtype_round_trips(wh):
    frame = all_types()
    before = frame.clone()

    result = wh.publish("all_types", frame)

    assert result.rows == 8
    assert list(result.columns) == frame.columns
    back = wh.read("all_types").sort("id")
    assert_frame_equal(back, expected_back(frame, wh.dialect), check_exact=True)
    assert_frame_equal(frame, before)  # the caller's frame is untouched


def test_nan_and_infinities_are_kept_as_such(wh):
    # PostgreSQL stores NaN and +/-Infinity in real and double precision (and
    # treats NaN as equal to itself and larger than every number); DuckDB too.
    wh.publish("floats", pl.DataFrame({"x": [NAN, INF, -INF, 1.0]}))

    counts = wh.query(
        "select sum(case when x = cast('NaN' as double precision) then 1 else 0 end) as nans,"
        " sum(case when x = cast('Infinity' as double precision) then 1 else 0 end) as infs from floats"
    )
    back = wh.read("floats")["x"]

    assert counts.cast(pl.Int64).row(0) == (1, 1)
    assert back.is_nan().to_list() == [True, False, False, False]
    assert back.is_infinite().to_list() == [False, True, True, False]


def test_empty_string_and_null_stay_distinct(wh):
    wh.publish("texts", pl.DataFrame({"s": ["", None, '""', "NULL"]}))

    back = wh.read("texts")["s"]

    assert back.to_list() == ["", None, '""', "NULL"]
    assert wh.query("select count(*) as n from texts where s is null")["n"].item() == 1


def test_single_column_of_nulls_keeps_every_row(wh):
    wh.publish("nulls", pl.DataFrame({"s": pl.Series([None, None, "x", None], dtype=pl.String)}))

    assert wh.read("nulls")["s"].to_list() == [None, None, "x", None]


def test_zones_and_nanoseconds_are_stored_as_utc_microseconds(wh):
    madrid = pl.Series(
        "at", [datetime(2024, 7, 1, 12, 0, 0, 123_456), datetime(2024, 1, 1, 0, 0)], pl.Datetime("ns")
    ).dt.replace_time_zone("Europe/Madrid")
    frame = pl.DataFrame([madrid, pl.Series("naive_ns", [1_700_000_000_123_456_789, 0]).cast(pl.Datetime("ns"))])

    back = wh.read(wh.publish("zoned", frame).table)

    assert back.schema == pl.Schema({"at": pl.Datetime("us", "UTC"), "naive_ns": pl.Datetime("us")})
    assert back["at"].to_list() == [
        datetime(2024, 7, 1, 10, 0, 0, 123_456, tzinfo=UTC),
        datetime(2023, 12, 31, 23, 0, tzinfo=UTC),
    ]
    assert back["naive_ns"].to_list() == [datetime(2023, 11, 14, 22, 13, 20, 123_456), datetime(1970, 1, 1)]


def test_empty_frame_publishes_its_columns(wh):
    frame = all_types().clear()

    wh.publish("empty", frame)

    back = wh.read("empty")
    assert back.height == 0
    assert back.schema == expected_back(frame, wh.dialect).schema


def test_lazy_frames_are_collected(wh):
    result = wh.publish("lazy", pl.LazyFrame({"n": [1, 2, 3]}).filter(pl.col("n") > 1))

    assert result.rows == 2
    assert wh.read("lazy")["n"].to_list() == [2, 3]


def test_odd_column_names_are_quoted(wh):
    frame = pl.DataFrame({"Mixed Case": [1], 'quo"te': [2], "select": [3], "50%": [4], "a:b": [5], "ñandú": [6]})

    wh.publish("odd_columns", frame)

    assert_frame_equal(wh.read("odd_columns"), frame)


@pytest.mark.parametrize(
    ("series", "dtype_text"),
    [
        (pl.Series("tags", [["a"], ["b", "c"]]), "List"),
        (pl.Series("point", [{"x": 1}, {"x": 2}]), "Struct"),
        (pl.Series("thing", [object(), object()], dtype=pl.Object), "Object"),
    ],
)
def test_unsupported_dtypes_are_refused_naming_the_column(wh, series, dtype_text):
    with pytest.raises(WarehouseError, match=rf"column '{series.name}' has dtype {dtype_text}") as failure:
        wh.publish("nested", pl.DataFrame([pl.Series("id", [1, 2]), series]))

    assert "nested" in str(failure.value)
    assert not wh.exists("nested")


def test_query_results_are_typed(wh):
    frame = wh.query(
        "select cast(:n as bigint) as n, cast(:x as double precision) as x, cast(:s as varchar) as s,"
        " cast(:d as date) as d, cast(:t as timestamp with time zone) as t, cast(:ok as boolean) as ok",
        {
            "n": 7,
            "x": 0.5,
            "s": "it's",
            "d": date(1950, 5, 6),
            "t": datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC),
            "ok": True,
        },
    )

    assert frame.schema == pl.Schema(
        {
            "n": pl.Int64,
            "x": pl.Float64,
            "s": pl.String,
            "d": pl.Date,
            "t": pl.Datetime("us", "UTC"),
            "ok": pl.Boolean,
        }
    )
    assert frame.row(0) == (7, 0.5, "it's", date(1950, 5, 6), datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC), True)


def test_query_intervals_come_back_as_durations_with_and_without_parameters(wh):
    plain = wh.query("select interval '90 minutes' as gap, 1 as n")
    bound = wh.query(
        "select interval '90 minutes' * cast(:k as integer) as gap, cast(:k as integer) as n", {"k": 2}
    )

    assert plain.schema == bound.schema == pl.Schema({"gap": pl.Duration("us"), "n": pl.Int32})
    assert plain.row(0) == (timedelta(minutes=90), 1)
    assert bound.row(0) == (timedelta(minutes=180), 2)


def test_tables_made_by_sql_read_with_their_types(wh):
    wh.query(
        "create table made_by_sql (n numeric(12,3), v varchar(5), c char(2), s smallint, r real,"
        " t timestamp, b boolean)"
    )
    wh.query("insert into made_by_sql values (-123456789.125, 'abc', 'x', -7, 0.5, '1999-12-31 23:59:59.5', true)")

    back = wh.read("made_by_sql")

    assert back.schema == pl.Schema(
        {
            "n": pl.Decimal(12, 3),
            "v": pl.String,
            "c": pl.String,
            "s": pl.Int16,
            "r": pl.Float32,
            "t": pl.Datetime("us"),
            "b": pl.Boolean,
        }
    )
    assert back.row(0) == (
        Decimal("-123456789.125"),
        "abc",
        "x" if wh.dialect == "duckdb" else "x ",  # char(n) pads on PostgreSQL
        -7,
        0.5,
        datetime(1999, 12, 31, 23, 59, 59, 500_000),
        True,
    )
