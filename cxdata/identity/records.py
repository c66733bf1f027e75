"""Identifiers per record: every record of the canonical tables with the normalised identifiers it carries.

Records get one global integer ``rec`` (tables in ``TABLES`` order, rows in
input order). Each identifier a record carries becomes one row of a long frame
``(rec, id_type, value, blocked)``; values are normalised with
`cxdata.identity.normalise` and then checked against the blocklist, both as
normalised and as raw trimmed lower-case text, so ``" N/A "`` and
``test@test.com`` are caught whatever the spelling. A blocked value keeps its
raw lower-case spelling as ``value`` (placeholders are not personal data) so
the mart can show it; a value that normalisation rejects (a malformed email)
and that is not on the blocklist is simply dropped — it can never link.

Besides the four configured types there is one internal type, ``ticket``: a
ticket's own id and a survey's ``ticket_id``, so a survey joins the customer of
the ticket it followed. It ranks below every configured type and has no limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from cxdata.config import IdentityConfig
from cxdata.identity import normalise
from cxdata.schema import UTC_TIMESTAMP

# Table -> (primary key, event time column); the order fixes the global record numbering.
TABLES: dict[str, tuple[str, str]] = {
    "customers": ("customer_ref", "created_at"),
    "orders": ("order_id", "ordered_at"),
    "tickets": ("ticket_id", "opened_at"),
    "surveys": ("response_id", "responded_at"),
    "web_events": ("event_id", "occurred_at"),
    "touches": ("touch_id", "occurred_at"),
}
SOURCE_TABLE = pl.Enum(list(TABLES))
TICKET = "ticket"  # internal: links a survey to the ticket it followed
RECORD = "record"  # internal: the stand-in identifier of a record that carries no linking identifier
_LINKING = ("customer_ref", "email", "phone", "anonymous_id")


def id_types(config: IdentityConfig) -> list[str]:
    """Identifier types in priority order: the configured ones, then the internal ``ticket`` and ``record``."""
    return [*config.priority, TICKET, RECORD]


@dataclass(frozen=True)
class Extracted:
    """Records and the identifiers they carry.

    ``records``: rec (u32), source_table (enum), record_id (str), event_time (UTC datetime).
    ``ids``: rec, id_type (enum, priority order), value (str), blocked (bool), event_time.
    """

    records: pl.DataFrame
    ids: pl.DataFrame


def extract(tables: dict[str, pl.DataFrame | pl.LazyFrame], config: IdentityConfig) -> Extracted:
    """Number every record of the given tables and list the normalised identifiers each carries."""
    type_enum = pl.Enum(id_types(config))
    records, ids, offset = [], [], 0
    for name, (key, time_col) in TABLES.items():
        if name not in tables:
            continue
        lazy = tables[name].lazy()
        columns = set(lazy.collect_schema().names())
        carried = [c for c in _LINKING if c in columns]
        if name in ("tickets", "surveys") and "ticket_id" in columns:
            carried.append("ticket_id")
        time = pl.col(time_col).cast(UTC_TIMESTAMP) if time_col in columns else pl.lit(None, UTC_TIMESTAMP)
        frame = lazy.select(
            pl.col(key).cast(pl.String).alias("record_id"),
            time.alias("event_time"),
            *[pl.col(c).cast(pl.String) for c in carried],
        ).collect()
        frame = frame.with_row_index("rec", offset)
        offset += frame.height
        records.append(
            frame.select("rec", pl.lit(name, SOURCE_TABLE).alias("source_table"), "record_id", "event_time")
        )
        for column in carried:
            id_type = TICKET if column == "ticket_id" else column
            ids.append(_identifier_rows(frame.lazy(), column, id_type, config, type_enum))
    if not records:
        empty_records = pl.DataFrame(
            schema={
                "rec": pl.UInt32,
                "source_table": SOURCE_TABLE,
                "record_id": pl.String,
                "event_time": UTC_TIMESTAMP,
            }
        )
        return Extracted(empty_records, _empty_ids(type_enum))
    if not ids:
        return Extracted(pl.concat(records), _empty_ids(type_enum))
    all_ids = pl.concat(ids).collect()
    return Extracted(pl.concat(records), _phones(all_ids, config, type_enum))


def _empty_ids(type_enum: pl.Enum) -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "rec": pl.UInt32,
            "id_type": type_enum,
            "value": pl.String,
            "blocked": pl.Boolean,
            "event_time": UTC_TIMESTAMP,
        }
    )


def _phones(ids: pl.DataFrame, config: IdentityConfig, type_enum: pl.Enum) -> pl.DataFrame:
    """Normalise phone rows once per distinct raw value across all tables (parsing is the expensive part)."""
    is_phone = pl.col("id_type") == "phone"
    raw = ids.filter(is_phone & pl.col("blocked").is_null())
    if raw.height == 0:
        return ids.filter(pl.col("blocked").is_not_null())
    values = raw["value"].unique()
    distinct = pl.DataFrame([values, _parse_phones(values, config.default_region, tuple(config.phone_regions))])
    blocklist = _blocklist(config, "phone")
    phones = (
        raw.join(distinct, on="value", how="left")
        .with_columns(pl.col("value").str.strip_chars().str.to_lowercase().alias("raw_key"))
        .with_columns((pl.col("raw_key").is_in(blocklist) | pl.col("norm").is_in(blocklist)).alias("blocked"))
        .filter(pl.col("blocked") | pl.col("norm").is_not_null())
        .select(
            "rec",
            pl.lit("phone", type_enum).alias("id_type"),
            pl.when(pl.col("blocked")).then(pl.col("raw_key")).otherwise(pl.col("norm")).alias("value"),
            "blocked",
            "event_time",
        )
    )
    return pl.concat([ids.filter(pl.col("blocked").is_not_null()), phones])


def _parse_phones(values: pl.Series, default_region: str | None, regions: tuple[str, ...]) -> pl.Series:
    # libphonenumber is pure Python (~50 µs a number, GIL-bound) and dominates this module's time; a
    # process pool would halve it on 2 cores but would re-import a caller's unguarded __main__, so no.
    return values.to_frame().select(normalise.phone(pl.col("value"), default_region, regions).alias("norm"))[
        "norm"
    ]


def _blocklist(config: IdentityConfig, id_type: str) -> list[str]:
    values = [*config.blocklist.get("any", []), *config.blocklist.get(id_type, [])]
    return sorted({v.strip().lower() for v in values})


def _identifier_rows(
    frame: pl.LazyFrame, column: str, id_type: str, config: IdentityConfig, type_enum: pl.Enum
) -> pl.LazyFrame:
    raw = pl.col(column)
    if id_type == "phone":
        # raw for now (blocked stays null as the marker): `_phones` parses each distinct value once
        return frame.filter(raw.is_not_null()).select(
            "rec",
            pl.lit(id_type, type_enum).alias("id_type"),
            raw.alias("value"),
            pl.lit(None, pl.Boolean).alias("blocked"),
            "event_time",
        )
    # customer_ref, anonymous_id and ticket ids are opaque ids: trimmed text
    norm = normalise.email(raw) if id_type == "email" else normalise.customer_ref(raw)
    blocklist = _blocklist(config, id_type)
    raw_key = raw.str.strip_chars().str.to_lowercase()
    return (
        frame.filter(raw.is_not_null())
        .select(
            "rec",
            "event_time",
            raw_key.alias("raw_key"),
            norm.alias("norm"),
        )
        .with_columns(
            (pl.col("raw_key").is_in(blocklist) | pl.col("norm").str.to_lowercase().is_in(blocklist)).alias(
                "blocked"
            )
        )
        .filter(pl.col("blocked") | pl.col("norm").is_not_null())
        .select(
            "rec",
            pl.lit(id_type, type_enum).alias("id_type"),
            pl.when(pl.col("blocked")).then(pl.col("raw_key")).otherwise(pl.col("norm")).alias("value"),
            "blocked",
            "event_time",
        )
    )
