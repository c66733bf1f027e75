"""Check only the rows a run rewrote, between the runs that check a table whole.

A daily run rewrites a few days of a staged table and a few customers' rows of a fact; validating every row of
a table that size on every run costs more than the update itself. When a step says which rows it rewrote (a
frame of key values: the restated ``partition_day`` of a staged table, the record ids or visitors of a fact),
the check of that table reads only those rows:

- row rules (``not_null``, ``between``, ``in_set``, ``match_regex``, ``in_table``) run in Great Expectations
  on the rewritten rows, on DuckDB and PostgreSQL alike;
- keys (``unique``, ``compound_unique``) are counted in the warehouse over every row that shares a rewritten
  row's key, so a new row repeating an old row's key fails even though the old row was not rewritten;
- row counts (``row_count_between``, the change since the last run) use the whole table's count;
- distributions (``mean_between``, ``median_between``) describe the whole table and wait for the next whole
  check: the report lists them as skipped, with that reason.

A table is checked whole when its step rewrote all of it, and when its last whole check is
``models.refit_every_days`` or more before the run's start, so every rule still covers every row on the
models' cadence.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.validate.gx import SAMPLES, Failure
from cxdata.validate.suites import Spec
from cxdata.warehouse import Warehouse

ROW_KINDS = frozenset({"not_null", "between", "in_set", "match_regex", "in_table"})
KEY_KINDS = frozenset({"unique", "compound_unique"})
COUNT_KINDS = frozenset({"row_count_between"})
WHOLE, ROWS = "whole", "rows"  # validation_runs.scope


def rewritten_rows(wh: Warehouse, table: str, columns: list[str], keys: pl.DataFrame) -> pl.DataFrame:
    """The ``columns`` of the rows of ``table`` whose key columns (``keys``' columns) equal one of ``keys``' rows;
    a null in a one-column key also takes the rows where that column is null (a staged table's rows without a
    day, restated on every load)."""
    found = [wh.read(table, columns=columns, where_in=keys.drop_nulls())]
    if keys.width == 1 and keys.null_count().item() > 0:
        found.append(wh.read(table, columns=columns, where={keys.columns[0]: None}))
    return pl.concat(found, how="vertical_relaxed")


def split(specs: list[Spec]) -> tuple[list[Spec], list[Spec], list[Spec], tuple[str, ...]]:
    """``specs`` as (row rules, key rules, row-count rules) and the descriptions of the distribution rules left
    for the next whole check."""
    rows = [s for s in specs if s.kind in ROW_KINDS]
    keys = [s for s in specs if s.kind in KEY_KINDS]
    counts = [s for s in specs if s.kind in COUNT_KINDS]
    later = tuple(
        f"{s.description}: a distribution of the whole table, checked at its next whole check"
        for s in specs
        if s.kind not in ROW_KINDS | KEY_KINDS | COUNT_KINDS
    )
    return rows, keys, counts, later


def key_failures(
    wh: Warehouse, table: str, specs: list[Spec], rows: pl.DataFrame, read_by: list[str]
) -> list[Failure]:
    """One failure per key rule broken by a rewritten row: every row of the table sharing a rewritten row's key
    value is read, and the rows whose value is repeated are counted (nulls are not keys, as in GX). ``rows``
    were read by the columns ``read_by``: a key of those same columns already has every such row in them."""
    failures = []
    for spec in specs:
        columns = spec.needed_columns
        if set(columns) == set(read_by):
            held = rows.select(columns).drop_nulls()
        else:
            values = rows.select(columns).drop_nulls().unique()
            held = wh.read(table, columns=columns, where_in=values) if values.height else values
        repeated = held.filter(pl.struct(columns).is_duplicated())
        if repeated.height:
            shown = repeated.select(pl.concat_str(columns, separator=", ").alias("v")).unique(maintain_order=True)
            samples = tuple(shown["v"].head(SAMPLES))
            found = Failure(
                table, spec.kind, spec.column, spec.severity, spec.description, repeated.height, None, samples
            )
            failures.append(found)
    return failures


def count_failures(table: str, specs: list[Spec], rows: int) -> list[Failure]:
    """One failure per row-count rule the table's whole count breaks."""
    return [
        Failure(table, spec.kind, None, spec.severity, spec.description, None, str(rows), ())
        for spec in specs
        if (spec.min is not None and rows < spec.min) or (spec.max is not None and rows > spec.max)
    ]


def whole_check_due(wh: Warehouse, runs_table: str, table: str, now: dt.datetime, every_days: int) -> bool:
    """Whether ``table`` has no whole check in ``runs_table`` from less than ``every_days`` before ``now``."""
    if not wh.exists(runs_table) or "scope" not in wh.columns(runs_table):
        return True
    last = wh.query(
        f"select max(checked_at) as last from {runs_table} where table_name = :table and scope = :whole",
        {"table": table, "whole": WHOLE},
    )["last"][0]
    return last is None or now - last >= dt.timedelta(days=every_days)
