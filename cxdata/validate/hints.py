"""What to add to a source's config when its unreadable values all look like one known way of writing them.

A run never guesses a day/month order or a decimal mark (a wrong guess would load wrong numbers silently), but
when the quarantined values of a column all read one way, the error can name the config line that reads them:
``formats: {ordered_at: '%d/%m/%Y'}`` for dates, ``csv: {decimal_comma: true}`` for amounts. Where both day/month
and month/day read every value, the data cannot tell, and the hint says so.
"""

from __future__ import annotations

import polars as pl

from cxdata import schema

_TIMES = ("", " %H:%M", " %H:%M:%S")
_DAY_FIRST = (*(f"%d{sep}%m{sep}%Y{time}" for sep in "/-." for time in _TIMES), "%d/%m/%y")
_MONTH_FIRST = tuple(f.replace("%d", "@").replace("%m", "%d").replace("@", "%m") for f in _DAY_FIRST)
_COMPACT = ("%Y%m%d", "%Y%m%d %H:%M:%S", "%Y/%m/%d", "%Y/%m/%d %H:%M:%S")
_COMMA_NUMBER = r"^\s*[+-]?(\d+|\d{1,3}([. ]\d{3})+),\d+\s*$"


def _best(values: pl.Series, formats: tuple[str, ...]) -> tuple[str | None, float]:
    """The format reading the most of ``values`` and the share it reads."""
    best, share = None, 0.0
    for fmt in formats:
        read = values.str.to_datetime(fmt, strict=False).is_not_null().mean() or 0.0
        if read > share:
            best, share = fmt, float(read)
    return best, share


def _date_hint(table: str, column: str, values: pl.Series) -> str | None:
    day, day_share = _best(values, _DAY_FIRST)
    month, month_share = _best(values, _MONTH_FIRST)
    compact, compact_share = _best(values, _COMPACT)
    where = f"column {column!r} of source {table!r}: the unreadable values (e.g. {values[0]!r})"
    line = f"under sources.{table} in the config"
    if day_share == 1.0 and month_share == 1.0:
        return (
            f"{where} read both as day/month and as month/day, which the data cannot decide: add "
            f"formats: {{{column}: '{day}'}} or formats: {{{column}: '{month}'}} {line}, whichever the source uses"
        )
    for fmt, share, order in ((day, day_share, "day/month"), (month, month_share, "month/day")):
        if share == 1.0:
            return f"{where} read as {order}/year: add formats: {{{column}: '{fmt}'}} {line}"
    if compact_share == 1.0:
        return f"{where} read as {compact}: add formats: {{{column}: '{compact}'}} {line}"
    return None


def hints(table: str, quarantined: pl.DataFrame) -> list[str]:
    """One hint per column whose unparseable values all read one known way (see the module doc)."""
    unreadable = quarantined.filter(pl.col("rule") == "unparseable").drop_nulls("failed_value")
    spec = schema.table(table)
    found = []
    for (column,), rows in unreadable.partition_by("failed_column", as_dict=True, maintain_order=True).items():
        kind = spec.column(str(column)).kind if str(column) in spec.column_names else None
        values = rows["failed_value"].str.strip_chars().unique(maintain_order=True)
        if kind in ("timestamp", "date"):
            hint = _date_hint(table, str(column), values)
            if hint:
                found.append(hint)
        elif kind in ("amount", "score") and values.str.contains(_COMMA_NUMBER).all():
            found.append(
                f"column {column!r} of source {table!r}: the unreadable values (e.g. {values[0]!r}) use a decimal "
                f"comma: add csv: {{decimal_comma: true}} under sources.{table} in the config"
            )
    return found
