"""Erase people: remove their rows from every table the project writes, keep their identifiers only as salted
hashes, and log what was done without a personal value.

    from cxdata.privacy import erase
    log = erase(wh, config, requests, now)    # requests: cxdata.privacy.people.REQUEST_SCHEMA

One call is one warehouse transaction: every deletion (`cxdata.privacy.tables.PERSONAL`), the new
`suppressed_identifiers` rows and the `erasure_log` rows become visible together, and a killed process leaves
the warehouse as it was before the call. Counts per table are those of the whole call (its batch): the
deletions run once per table for all its requests, as one request at a time would scan every table per person.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import polars as pl

from cxdata.config import ProjectConfig
from cxdata.errors import PrivacyError
from cxdata.identity.normalise import by_type
from cxdata.identity.records import TABLES as SOURCE_KEYS
from cxdata.privacy.hashing import HASH_COLUMN, salt, salted_hashes
from cxdata.privacy.people import REQUEST_SCHEMA, People, find_people, normalised_requests
from cxdata.privacy.suppress import SUPPRESSED
from cxdata.privacy.tables import PERSONAL, Match
from cxdata.warehouse import Warehouse

ERASURE_LOG = "erasure_log"
# a request id is stored in the log: letters, digits and ._:- only, so it cannot be an email or a name
REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")
_QUARANTINE_KEY = ["_source", "record"]


def erase(wh: Warehouse, config: ProjectConfig, requests: pl.DataFrame, now: dt.datetime) -> pl.DataFrame:
    """Carry out ``requests`` (REQUEST_SCHEMA: one row per identifier, a request may name several) in ``wh``;
    the `erasure_log` rows written, one per request."""
    requests = _checked(requests)
    secret = salt(config)  # before anything is read: no salt, no erasure
    normalised = normalised_requests(config, requests)
    people = find_people(wh, config, normalised)
    held = {source: _held_back(wh, config, source, people) for source in _quarantined_sources(wh)}
    hashes = salted_hashes(people.identifiers, secret)
    batch = f"erasure-{uuid.uuid4().hex[:12]}"
    with wh.transaction() as tx:
        counts: dict[str, int] = {}
        for table, matches in PERSONAL.items():
            for match in matches:
                keys = held.get(match.source) if match.how == "quarantine" else _keys(match, people)
                if keys is not None and keys.height:
                    counts[table] = counts.get(table, 0) + tx.delete_keys(table, keys, list(match.columns))
        fresh = _new_hashes(wh, hashes)
        tx.append(SUPPRESSED, fresh.select(
            "identifier_type", HASH_COLUMN, "request_id", pl.lit(now).alias("suppressed_at")
        ))  # fmt: skip
        log = _log(requests, people, fresh, counts, batch, now)
        tx.append(ERASURE_LOG, log)
    return log


def _checked(requests: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in REQUEST_SCHEMA if c not in requests.columns]
    if missing:
        raise PrivacyError(f"erasure requests lack column(s) {missing}; they need {list(REQUEST_SCHEMA)}")
    requests = requests.select(list(REQUEST_SCHEMA)).cast(REQUEST_SCHEMA)  # type: ignore[arg-type]
    bad = requests.filter(~pl.col("request_id").fill_null("").str.contains(REQUEST_ID.pattern))
    if bad.height:
        raise PrivacyError(
            f"erasure request id {bad['request_id'][0]!r} is not 1-80 letters, digits or ._:- (the id is kept in "
            "erasure_log, which holds no personal data: use a ticket number, not an address)"
        )
    # a request may name the person by several identifiers (one row each); the same one twice is one
    return requests.unique(subset=["request_id", "identifier_type", "identifier_value"], maintain_order=True)


def _keys(match: Match, people: People) -> pl.DataFrame | None:
    """The key rows that find the person's rows by ``match`` (columns named as the table's)."""
    if match.how in ("customer_key", "merge"):
        keys = pl.concat([people.keys, people.retired])
        return keys.select(pl.col("customer_key").alias(match.columns[0])).unique()
    if match.how == "record":
        return people.records.select("source_table", "record_id")
    if match.how == "source_key":
        rows = people.records.filter(pl.col("source_table") == match.source)
        return rows.select(pl.col("record_id").alias(match.columns[0]))
    if match.how == "identifier":
        return people.identifiers.select("identifier_type", "identifier_value")
    if match.how == "anonymous_id":
        ids = people.identifiers.filter(pl.col("identifier_type") == "anonymous_id")
        return ids.select(pl.col("identifier_value").alias("anonymous_id"))
    return None


def _quarantined_sources(wh: Warehouse) -> list[str]:
    held = [m.source for ms in PERSONAL.values() for m in ms if m.how == "quarantine" and m.source]
    return [source for source in held if wh.exists(f"quarantine_{source}")]


def _held_back(wh: Warehouse, config: ProjectConfig, source: str, people: People) -> pl.DataFrame:
    """The (_source, record) of the rows of quarantine_<source> that are the person's: a source row carrying
    one of their identifiers in its original values, or one of their record ids in the table's key column."""
    rows = wh.read(f"quarantine_{source}")
    if rows.is_empty() or people.identifiers.is_empty():
        return rows.select(_QUARANTINE_KEY).clear()
    columns = config.sources[source].columns if source in config.sources else {}
    originals = rows.select(*_QUARANTINE_KEY, pl.col("original").str.json_decode(infer_schema_length=None))
    decoded = originals.schema["original"]
    fields = {f.name for f in decoded.fields} if isinstance(decoded, pl.Struct) else set()
    identity = config.identity
    found = []
    for id_type in people.identifiers["identifier_type"].unique():
        name = columns.get(id_type, id_type)
        if name not in fields:
            continue
        values = originals.select(
            *_QUARANTINE_KEY,
            by_type(
                pl.col("original").struct.field(name).cast(pl.String), id_type, identity.default_region,
                identity.phone_regions,
            ).alias("identifier_value"),
        )  # fmt: skip
        wanted = people.identifiers.filter(pl.col("identifier_type") == id_type).select("identifier_value")
        found.append(values.join(wanted, on="identifier_value", how="semi").select(_QUARANTINE_KEY))
    key = SOURCE_KEYS[source][0]
    if key in rows.columns:
        ids = people.records.filter(pl.col("source_table") == source).select(pl.col("record_id").alias(key))
        found.append(rows.join(ids, on=key, how="semi").select(_QUARANTINE_KEY))
    return pl.concat(found).unique() if found else rows.select(_QUARANTINE_KEY).clear()


def _new_hashes(wh: Warehouse, hashes: pl.DataFrame) -> pl.DataFrame:
    """One row per hash not suppressed yet (the first request naming it)."""
    fresh = hashes.sort("request_id").unique(subset=["identifier_type", HASH_COLUMN], keep="first")
    if wh.exists(SUPPRESSED) and fresh.height:
        known = wh.read(SUPPRESSED, columns=["identifier_type", HASH_COLUMN], where_in=fresh.select(
            "identifier_type", HASH_COLUMN
        ))  # fmt: skip
        fresh = fresh.join(known, on=["identifier_type", HASH_COLUMN], how="anti")
    return fresh.sort("request_id", "identifier_type", HASH_COLUMN)


def _log(
    requests: pl.DataFrame,
    people: People,
    fresh: pl.DataFrame,
    counts: dict[str, int],
    batch: str,
    now: dt.datetime,
) -> pl.DataFrame:
    per_request = [
        people.keys.group_by("request_id").agg(pl.len().alias("customers")),
        people.records.group_by("request_id").agg(pl.len().alias("records")),
        fresh.group_by("request_id").agg(pl.len().alias("identifiers_suppressed")),
        people.shared.group_by("request_id").agg(pl.len().alias("identifiers_shared_kept")),
    ]
    log = requests.group_by("request_id").agg(
        pl.col("identifier_type").unique().sort().str.join("+").alias("requested_by"), pl.col("received_at").min()
    )
    for part in per_request:
        log = log.join(part.cast({"request_id": pl.String}), on="request_id", how="left")
    tables = json.dumps(dict(sorted(counts.items())))
    return (
        log.with_columns(
            pl.col(c).fill_null(0).cast(pl.Int64)
            for c in ("customers", "records", "identifiers_suppressed", "identifiers_shared_kept")
        )
        .with_columns(
            pl.when(pl.col("customers") > 0).then(pl.lit("erased")).otherwise(pl.lit("not_found")).alias("status"),
            pl.lit(now).alias("erased_at"),
            pl.lit(batch).alias("batch_id"),
            pl.lit(tables).alias("batch_rows_deleted"),
            pl.lit(None, pl.String).alias("rejected_reason"),
        )
        .sort("request_id")
    )
