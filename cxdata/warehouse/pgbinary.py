"""PostgreSQL's binary COPY format, built a column at a time from a stored frame's buffers.

Binary COPY spares the server parsing text (floats and timestamps above all)
and the client rendering it. Every field is its 4-byte big-endian length (-1 for
null) and its value in PostgreSQL's send format: integers and floats big-endian,
dates as days and timestamps as microseconds since 2000-01-01, times as
microseconds, intervals as (microseconds, days 0, months 0), text and bytea as
their bytes. numpy lays out each column's fields and Arrow joins them into rows,
so no Python code runs per row. Numeric columns (decimals, UInt64) have no
such simple layout: frames holding one are sent as CSV instead.
"""

from __future__ import annotations

import functools

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
TRAILER = b"\xff\xff"
_PG_EPOCH_DAYS = 10_957  # 2000-01-01 in days since 1970-01-01
_PG_EPOCH_US = _PG_EPOCH_DAYS * 86_400 * 1_000_000

# polars dtype to the big-endian numpy type of its PostgreSQL column (see cxdata.warehouse.types)
_FIXED: dict[type[pl.DataType], str] = {
    pl.Boolean: "u1",
    pl.Int8: ">i2",
    pl.Int16: ">i2",
    pl.Int32: ">i4",
    pl.Int64: ">i8",
    pl.UInt8: ">i2",
    pl.UInt16: ">i4",
    pl.UInt32: ">i8",
    pl.Float32: ">f4",
    pl.Float64: ">f8",
    pl.Date: ">i4",
    pl.Datetime: ">i8",
    pl.Time: ">i8",
    pl.Duration: ">i8",
}
_BYTES = (pl.String, pl.Binary)


@functools.cache
def _nothing() -> pa.Scalar:
    # made on first use, not at import: building any Arrow scalar or array imports pandas (pyarrow's shim)
    return pa.scalar(b"", pa.large_binary())


def encodable(schema: pl.Schema) -> bool:
    """Whether every column of a stored frame's ``schema`` has a binary layout here."""
    return all(dtype.base_type() in _FIXED or dtype.base_type() in (*_BYTES, pl.Null) for dtype in schema.values())


def _field_array(fields: np.ndarray, valid: np.ndarray | None) -> pa.Array:
    """Rows of ``fields`` (an n x k uint8 array: length then value) as binary values; an invalid row keeps only
    its first 4 bytes (the -1 length)."""
    n, width = fields.shape
    if valid is None or valid.all():
        data, offsets = fields.reshape(-1), np.arange(0, (n + 1) * width, width, dtype=np.int64)
    else:
        keep = np.ones(fields.shape, dtype=bool)
        keep[:, 4:] = valid[:, None]
        data = fields[keep]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.where(valid, width, 4), out=offsets[1:])
    return pa.Array.from_buffers(pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _lengths(lengths: np.ndarray) -> np.ndarray:
    return lengths.astype(">i4").view(np.uint8).reshape(-1, 4)


def _fixed_column(series: pl.Series) -> pa.Array:
    dtype = series.dtype
    valid = series.is_not_null().to_numpy() if series.null_count() else None
    values = series.to_physical().fill_null(0)
    if isinstance(dtype, pl.Date):
        values = values - _PG_EPOCH_DAYS
    elif isinstance(dtype, pl.Datetime):
        values = values - _PG_EPOCH_US  # stored frames hold microseconds
    elif isinstance(dtype, pl.Time):
        values = values // 1_000  # nanoseconds to microseconds, already truncated by stored_frame
    big_endian = values.to_numpy().astype(_FIXED[dtype.base_type()], copy=False)
    if isinstance(dtype, pl.Duration):
        # an interval: microseconds, then days and months, both zero
        zeros = np.zeros((len(series), 8), np.uint8)
        big_endian = np.concatenate([big_endian.view(np.uint8).reshape(-1, 8), zeros], axis=1)
    raw = np.ascontiguousarray(big_endian).view(np.uint8).reshape(len(series), -1)
    width = raw.shape[1]
    fields = np.empty((len(series), 4 + width), dtype=np.uint8)
    fields[:, :4] = _lengths(np.full(len(series), width) if valid is None else np.where(valid, width, -1))
    fields[:, 4:] = raw
    return _field_array(fields, valid)


def _bytes_column(series: pl.Series) -> pa.Array:
    values = series.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(pa.large_binary())
    valid = pc.is_valid(values)
    lengths = pc.if_else(valid, pc.binary_length(values), -1).to_numpy(zero_copy_only=False)
    prefix = _field_array(_lengths(lengths), None)
    return pc.binary_join_element_wise(prefix, pc.fill_null(values, _nothing()), _nothing())


def _null_column(height: int) -> pa.Array:
    return _field_array(_lengths(np.full(height, -1)), None)


def encode_rows(chunk: pl.DataFrame) -> memoryview:
    """The rows of ``chunk`` (a stored frame, `encodable`) as binary COPY tuples, without header or trailer."""
    height = chunk.height
    counts = np.full(height, chunk.width, ">i2").view(np.uint8).reshape(-1, 2)
    arrays = [_field_array(counts, None)]
    for series in chunk.iter_columns():
        if series.dtype == pl.Null:
            arrays.append(_null_column(height))
        elif isinstance(series.dtype, _BYTES):
            arrays.append(_bytes_column(series))
        else:
            arrays.append(_fixed_column(series))
    rows = pc.binary_join_element_wise(*arrays, _nothing())
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64, count=height + 1, offset=rows.offset * 8)
    return memoryview(rows.buffers()[2])[offsets[0] : offsets[-1]]
