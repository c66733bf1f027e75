"""Compare two warehouses table by table: what a daily incremental run and a full rebuild must agree on.

    from cxdata.warehouse.compare import compare_warehouses

    verdicts = compare_warehouses("duckdb:///incremental.duckdb", "duckdb:///rebuilt.duckdb")
    different = [v for v in verdicts if not v.equal]

Every base table of either schema, and each view standing for a mart
(`MART_VIEWS`), is compared, apart from the tables that describe runs
(`RUN_TABLES`), and every column apart from those that say when
or in which run a row was written (`RUN_COLUMNS`): two runs differ there by
construction. Keys and text must be equal, floats equal to ``tolerance``
(absolute), and ``*_json`` columns equal as decoded values with their numbers to
``tolerance``, since a float's last printed digit may differ. Rows are compared
as sets (sorted), since no run promises a row order. A table of more than
``chunk_rows`` rows is compared in chunks, each the rows whose text column (an id
or key, where the table has one) falls in one md5 bucket group (`cxdata.shards`),
plus the rows where that column is null: a row can only match a row of the same
chunk, so memory holds one chunk of each side. The tests of incremental
runs (tests/pipelines/test_incremental.py) and benchmarks/incremental.py share
this one copy.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import polars as pl
from polars.testing import assert_frame_equal, assert_series_equal

from cxdata.shards import BUCKETS, shards
from cxdata.warehouse.core import Warehouse
from cxdata.warehouse.views import MART_VIEWS

TOLERANCE = 1e-9
# What a run writes about itself, not about customers.
RUN_TABLES = re.compile(
    r"^(load_audit|run_context|stg_files|stg_partitions|model_runs|model_artifacts|.*_checks?|check_results"
    r"|validation_runs|alerts|gx_.*|identity_inputs|identity_touched|identity_runs|mart_touched"
    r"|customer_activity_builds|shard_handoffs|sync_runs)$"
)
# Columns that say when or in which run a row was written. Names that also mean customer data are left out
# only in the tables where a run stamps them (`RUN_STAMPED`): stg_customers.created_at is when the CRM record
# was created, fct_web_sessions.started_at a session's start, customer_identity.first_seen an event time.
RUN_COLUMNS = re.compile(
    r"^(_loaded_at|run_id|.*_run_id|loaded_at|scored_at|fitted_at|merged_at|replayed_at|seen_ns|mtime_ns)$"
)
RUN_STAMPED = {"cx_alerts": {"created_at"}, "run_context": {"started_at", "finished_at"}}
_SHOWN = 240  # characters of a difference kept in its verdict
# each chunk scans the whole table in the warehouse (the md5 of every key), so the chunks cost rows^2 /
# CHUNK_ROWS there; a chunk of this size takes about a GB per side in memory
CHUNK_ROWS = 4_000_000


@dataclass(frozen=True)
class TableVerdict:
    """One table's comparison: its rows on the left, and the first difference found (None: equal)."""

    table: str
    rows: int
    difference: str | None = None

    @property
    def equal(self) -> bool:
        """Whether the two warehouses hold the same rows in this table."""
        return self.difference is None


def compare_warehouses(
    left: str,
    right: str,
    left_schema: str | None = None,
    right_schema: str | None = None,
    tolerance: float = TOLERANCE,
    relative: float = 0.0,
    chunk_rows: int = CHUNK_ROWS,
) -> list[TableVerdict]:
    """One verdict per table of either warehouse (by name), apart from `RUN_TABLES`: a table only one side
    holds, a different column set or different rows are differences. Each side is a warehouse URL and an
    optional schema, as `Warehouse` takes them; both may be schemas of one PostgreSQL database. Floats are
    equal within ``tolerance``, plus ``relative`` times the largest value of their column (sums taken in
    another order, e.g. by customer shard, differ in their last bits) and, inside JSON, of the value. Tables of
    more than ``chunk_rows`` rows are compared a chunk at a time."""
    verdicts = []
    with Warehouse(left, left_schema) as a, Warehouse(right, right_schema) as b:
        # the views standing for a mart are compared like the tables they replaced
        names_a, names_b = ({*wh.tables(), *(v for v in MART_VIEWS if wh.exists(v))} for wh in (a, b))
        for name in sorted(names_a | names_b):
            if RUN_TABLES.match(name):
                continue
            if name not in names_b:
                verdicts.append(TableVerdict(name, a.row_count(name), "only in the left warehouse"))
            elif name not in names_a:
                verdicts.append(TableVerdict(name, 0, "only in the right warehouse"))
            else:
                verdicts.append(_compare_table(a, b, name, tolerance, relative, chunk_rows))
    return verdicts


def _compared_columns(wh: Warehouse, name: str) -> list[str]:
    stamped = RUN_STAMPED.get(name, set())
    return [c for c in wh.columns(name) if not RUN_COLUMNS.match(c) and c not in stamped]


def _compare_table(
    a: Warehouse, b: Warehouse, name: str, tolerance: float, relative: float, chunk_rows: int
) -> TableVerdict:
    columns, other = _compared_columns(a, name), _compared_columns(b, name)
    if columns != other:
        return TableVerdict(name, a.row_count(name), f"columns differ: {columns} against {other}")
    schema = a.read(name, columns=columns, limit=0).schema
    floats = [c for c in columns if not c.endswith("_json") and schema[c].is_float()] if relative else []
    scales = _float_scales(a, b, name, floats)
    rows = 0
    for label, chunk in _chunks(a, b, name, columns, schema, chunk_rows):
        x, y = (_sorted(wh.read(name, columns=columns, **chunk)) for wh in (a, b))
        rows += x.height
        try:
            _assert_close(x, y, tolerance, relative, scales)
        except AssertionError as exc:
            return TableVerdict(name, a.row_count(name), label + " ".join(str(exc).split())[:_SHOWN])
    return TableVerdict(name, rows)


def _assert_close(
    x: pl.DataFrame, y: pl.DataFrame, tolerance: float, relative: float, scales: dict[str, float]
) -> None:
    plain = [c for c in x.columns if not c.endswith("_json")]
    exact = [c for c in plain if c not in scales]
    assert_frame_equal(x.select(exact), y.select(exact), check_exact=False, rel_tol=0, abs_tol=tolerance)
    for column, scale in scales.items():  # within `relative` of the column's largest value
        bound = tolerance + relative * scale
        assert_series_equal(x[column], y[column], check_exact=False, rel_tol=0, abs_tol=bound)
    for column in sorted(set(x.columns) - set(plain)):
        _assert_json_close(x[column], y[column], column, tolerance, relative)


def _float_scales(a: Warehouse, b: Warehouse, name: str, floats: list[str]) -> dict[str, float]:
    """Each float column's largest absolute value over both sides, NaN aside, computed in the warehouse."""
    if not floats:
        return {}
    scales = dict.fromkeys(floats, 0.0)
    for wh in (a, b):
        # names are checked identifiers, quoted; NaN equals NaN and sorts above every number on both backends
        quoted = [wh._quote(c) for c in floats]
        nan = "cast('NaN' as double precision)"
        largest = ", ".join(f"max(abs({q})) filter (where {q} <> {nan}) as {q}" for q in quoted)
        row = wh.query(f"select {largest} from {wh._qualified(name)}").row(0, named=True)
        scales = {c: max(scales[c], float(row[c] or 0.0)) for c in floats}
    return scales


def _chunks(
    a: Warehouse, b: Warehouse, name: str, columns: list[str], schema: pl.Schema, chunk_rows: int
) -> list[tuple[str, dict]]:
    """The read filters that split the table, each with the words a difference found in it starts with: one
    empty filter for a table that fits in a chunk or has no text column; else the md5 bucket groups of its
    first id, key or text column, then that column's null rows."""
    rows = max(a.row_count(name), b.row_count(name))
    text = [c for c in columns if schema[c] == pl.String and not c.endswith("_json")]
    if rows <= chunk_rows or not text:
        return [("", {})]
    by = min(text, key=lambda c: (not c.endswith("_id"), not c.endswith("_key"), columns.index(c)))
    count = min(BUCKETS, -(-rows // chunk_rows))
    parts = [(f"{by} in md5 group {s.index}/{count}: ", {"shard": s, "shard_by": by}) for s in shards(count)]
    return [*parts, (f"rows with a null {by}: ", {"where": {by: None}})]


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    # keys and text first, floats last: a float that differs within the tolerance must not reorder rows
    floats = [c for c, dtype in frame.schema.items() if dtype.is_float()]
    order = [*(c for c in frame.columns if c not in floats), *floats]
    return frame.sort(order, nulls_last=True) if order else frame


def _assert_json_close(x: pl.Series, y: pl.Series, column: str, tolerance: float, relative: float) -> None:
    if x.len() != y.len():
        raise AssertionError(f"{column}: {x.len()} rows against {y.len()}")
    # only rows whose text differs are decoded
    differing = pl.DataFrame({"x": x, "y": y}).filter(pl.col("x").ne_missing(pl.col("y")))
    for left, right in differing.iter_rows():
        decoded = [json.loads(text) if text else text for text in (left, right)]
        if not _close(*decoded, tolerance, relative):
            raise AssertionError(f"{column}: JSON values differ beyond {tolerance}: {left} against {right}")


def _close(x: object, y: object, tolerance: float, relative: float = 0.0) -> bool:
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_close(x[k], y[k], tolerance, relative) for k in x)
    if isinstance(x, list) and isinstance(y, list):
        pairs = zip(x, y, strict=True)
        return len(x) == len(y) and all(_close(a, b, tolerance, relative) for a, b in pairs)
    if isinstance(x, bool) or isinstance(y, bool):
        return x == y
    if isinstance(x, float | int) and isinstance(y, float | int):
        return math.isclose(x, y, rel_tol=relative, abs_tol=tolerance)
    return x == y
