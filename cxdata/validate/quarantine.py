"""Split a standardised frame into accepted and quarantined rows, and account for every one.

`mark` adds one boolean per check to the lazy frame, so rules cost one pass
inside the same collect as parsing; `split` then describes only the failing
rows (rule, all rules, column, raw value, record, original source values),
which are few, so the per-row text is never built for the rows that pass.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import polars as pl

from cxdata import schema
from cxdata.errors import QuarantineError
from cxdata.validate.hints import hints
from cxdata.validate.rules import RULES, Check

SOURCE_COLUMN = "_source"
LOADED_AT_COLUMN = "_loaded_at"
RECORD_COLUMN = "__record__"
BLANK_COLUMN = "__blank__"
RAW_PREFIX = "__raw__"
FAILED_COLUMN = "__failed__"
_CHECK_PREFIX = "__check__"
_ORIGINAL_PREFIX = "__original__"
_SAMPLES = 5
_MASK = "•••"

QUARANTINE_SCHEMA = pl.Schema(
    {
        "rule": pl.String(),
        "rules": pl.String(),
        "failed_column": pl.String(),
        "failed_value": pl.String(),
        SOURCE_COLUMN: pl.String(),
        "record": pl.Int64(),
        "original": pl.String(),
        LOADED_AT_COLUMN: schema.UTC_TIMESTAMP,
    }
)

# Which frame column holds each source column's raw value, per `_source`: the JSON `original` is built from it.
Originals = dict[str, list[tuple[str, str]]]


def mark(frame: pl.LazyFrame, checks: Sequence[Check]) -> pl.LazyFrame:
    """The frame with one boolean column per check (its guard, if it has one) and `__failed__` over them."""
    flags = [(c.fails if c.guard is None else c.guard).alias(f"{_CHECK_PREFIX}{i}") for i, c in enumerate(checks)]
    return frame.with_columns(flags).with_columns(_failed(len(checks)))


def settle(frame: pl.DataFrame, checks: Sequence[Check]) -> pl.DataFrame:
    """Replace each guarded check's guard column by its exact result, evaluated only where the guard was true."""
    updates = []
    for i, check in enumerate(checks):
        name = f"{_CHECK_PREFIX}{i}"
        if check.guard is None or not frame[name].any():
            continue
        if frame[name].all():  # a whole-frame guard (repeated keys): decide on the whole frame
            updates.append(frame.select(check.fails.alias(name)).to_series())
            continue
        where = frame.select(pl.arg_where(pl.col(name))).to_series()
        exact = frame[where].select(check.fails).to_series()
        updates.append(pl.repeat(False, frame.height, eager=True).scatter(where, exact).alias(name))
    return frame.with_columns(updates).with_columns(_failed(len(checks))) if updates else frame


def _failed(count: int) -> pl.Expr:
    names = [f"{_CHECK_PREFIX}{i}" for i in range(count)]
    return (pl.any_horizontal(pl.col(names)) if names else pl.lit(False)).alias(FAILED_COLUMN)


def split(
    frame: pl.DataFrame,
    checks: Sequence[Check],
    originals: Originals,
    keep: Sequence[str],
    carry: Sequence[str] = (),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(accepted rows with only the ``keep`` columns, quarantined rows in the shape of `QUARANTINE_SCHEMA` plus
    the ``carry`` columns)."""
    frame = settle(frame, checks)
    bad = frame.filter(pl.col(FAILED_COLUMN))
    # Nothing failed: the frame is handed on as is, without a filter copying every column.
    accepted = (frame if bad.is_empty() else frame.filter(~pl.col(FAILED_COLUMN))).select(keep)
    return accepted, describe(bad, checks, originals, carry)


def describe(
    bad: pl.DataFrame, checks: Sequence[Check], originals: Originals, carry: Sequence[str] = ()
) -> pl.DataFrame:
    """One quarantine row per failing row: its first rule by priority, all its rules, and where it came from;
    plus the ``carry`` columns as parsed (an event table's day and primary key)."""
    if bad.is_empty():
        return pl.concat([QUARANTINE_SCHEMA.to_frame(), bad.select(carry)], how="horizontal")
    hit = [pl.col(f"{_CHECK_PREFIX}{i}") for i in range(len(checks))]

    def first(values: list[pl.Expr]) -> pl.Expr:
        chain = pl.when(hit[0]).then(values[0])
        for condition, value in zip(hit[1:], values[1:], strict=True):
            chain = chain.when(condition).then(value)
        return chain.otherwise(None)

    def raw(column: str) -> pl.Expr:
        name = RAW_PREFIX + column if RAW_PREFIX + column in bad.columns else column
        return pl.col(name).cast(pl.String)

    of_rule = {rule: [h for h, c in zip(hit, checks, strict=True) if c.rule == rule] for rule in RULES}
    per_rule = [pl.when(pl.any_horizontal(h)).then(pl.lit(rule)) for rule, h in of_rule.items() if h]
    described = bad.with_row_index("__order__").select(
        "__order__",
        first([pl.lit(c.rule) for c in checks]).alias("rule"),
        pl.concat_str(per_rule, separator=",", ignore_nulls=True).alias("rules"),
        first([pl.lit(c.column) for c in checks]).alias("failed_column"),
        first([raw(c.column) for c in checks]).alias("failed_value"),
        pl.col(SOURCE_COLUMN),
        pl.col(RECORD_COLUMN).cast(pl.Int64).alias("record"),
        pl.col(LOADED_AT_COLUMN),
        *(pl.col(c) for c in carry),
        # Prefixed, so a source column called `value` or `rule` cannot collide with the quarantine columns.
        *(pl.col(c).alias(_ORIGINAL_PREFIX + c) for c in _holders(originals)),
    )
    parts = []
    for (label,), part in described.partition_by(SOURCE_COLUMN, maintain_order=True, as_dict=True).items():
        pairs = originals.get(str(label), [])
        encoded = (
            pl.struct(
                pl.col(_ORIGINAL_PREFIX + column).cast(pl.String).alias(name) for name, column in pairs
            ).struct.json_encode()
            if pairs
            else pl.lit("{}")
        )
        parts.append(part.with_columns(encoded.alias("original")))
    return (
        pl.concat(parts).sort("__order__").select(*QUARANTINE_SCHEMA.names(), *carry).cast(dict(QUARANTINE_SCHEMA))
    )


def _holders(originals: Originals) -> list[str]:
    return list(dict.fromkeys(column for pairs in originals.values() for _, column in pairs))


def by_rule(quarantined: pl.DataFrame) -> dict[str, int]:
    """Quarantined rows counted by their first failing rule, in rule priority order."""
    counts = dict(quarantined.group_by("rule").len().iter_rows())
    return {rule: int(counts[rule]) for rule in RULES if rule in counts}


def audit_row(
    table: str,
    source: str,
    rows_in: int,
    quarantined: pl.DataFrame,
    threshold: float,
    loaded_at: dt.datetime,
    blank_lines: int = 0,
    suppressed: int = 0,
    expired: int = 0,
) -> dict[str, object]:
    """The `load_audit` row of one load: what came in (records, and blank lines skipped), what went on, what
    was held back and why, and the rows dropped before the split: of erased people (``suppressed``) and of
    days past the table's retention (``expired``), neither in ``rows_in``'s accepted or quarantined share."""
    counts = by_rule(quarantined)
    held = quarantined.height
    return {
        "table_name": table,
        "source": source,
        "rows_in": rows_in + suppressed + expired,
        "blank_lines": blank_lines,
        "rows_suppressed": int(suppressed),
        "rows_expired": int(expired),
        "rows_accepted": rows_in - held,
        "rows_quarantined": held,
        "quarantined_by_rule": json.dumps(counts),
        "threshold": threshold,
        "passed": share(rows_in, held) <= threshold,
        "loaded_at": loaded_at,
    }


def share(rows_in: int, quarantined: int) -> float:
    """The quarantined share of a load (0 for an empty source)."""
    return quarantined / rows_in if rows_in else 0.0


def samples(quarantined: pl.DataFrame, limit: int = _SAMPLES) -> list[str]:
    """Up to ``limit`` failing rows, one of each rule first, as "'x' in column 'c' (record n of file)"."""
    ranked = quarantined.with_row_index("__i__").with_columns(__first__=pl.col("rule").is_first_distinct())
    chosen = ranked.sort(["__first__", "__i__"], descending=[True, False]).head(limit)
    shown = []
    for row in chosen.iter_rows(named=True):  # at most `limit` rows: text for a message
        value = row["failed_value"]
        if row["failed_column"] in schema.PERSONAL_COLUMNS and value is not None:
            value = _MASK
        what = "an empty value" if value is None or not value.strip() else repr(value)
        shown.append(
            f"{row['rule']}: {what} in column {row['failed_column']!r} "
            f"(record {row['record']} of {row[SOURCE_COLUMN]})"
        )
    return shown


def threshold_error(audit: dict[str, object], quarantined: pl.DataFrame, report: object = None) -> QuarantineError:
    """The error that stops a run whose quarantined share is over the table's limit."""
    table, rows_in, held = audit["table_name"], int(audit["rows_in"]), int(audit["rows_quarantined"])
    counts = ", ".join(f"{rule} {count}" for rule, count in by_rule(quarantined).items())
    part = share(rows_in, held)
    message = (
        f"source {table!r} ({audit['source']}): {held} of {rows_in} row(s) ({part:.1%}) failed the "
        f"row rules, more than the limit of {float(audit['threshold']):.1%} for table {table!r} "
        f"(validation.max_quarantine_share, or validation.table_max_quarantine_share.{table}), so the run stops "
        f"here. By rule: {counts}. For example: {'; '.join(samples(quarantined))}. Every failing row is in the "
        f"warehouse table quarantine_{table} with its rule and original values, and the counts are in load_audit; "
        "fix the source, or raise the limit if these rows are expected."
    )
    found = hints(str(table), quarantined)
    if found:
        message += " Hint: " + "; ".join(found) + "."
    return QuarantineError(message, report)
