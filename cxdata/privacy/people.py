"""Who an erasure request names: the customers, records and identifiers of each person, found through the
identity graph.

A request names one identifier (email, phone, customer_ref, normalised as identity normalises them) or a
customer_key. The person is every customer_key whose linked identifiers include it; their records are the
`identity_record_keys` rows with those keys; their identifiers every `identity_links` value on those records.
An identifier that some other customer's records also carry (a household phone, an email over its sharing
limit) belongs to that customer too: it is neither erased from their rows nor suppressed, and is counted.
An identifier asked for that the warehouse does not hold is still suppressed, so the person never arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from cxdata.config import ProjectConfig
from cxdata.config_sections import IDENTIFIER_TYPES
from cxdata.errors import PrivacyError
from cxdata.identity.normalise import by_type
from cxdata.warehouse import Warehouse

REQUEST_TYPES = (*IDENTIFIER_TYPES, "customer_key")
REQUEST_SCHEMA = {
    "request_id": pl.String,
    "identifier_type": pl.String,
    "identifier_value": pl.String,
    "received_at": pl.Datetime("us", "UTC"),
}
_RECORD = ["source_table", "record_id"]
_IDENTIFIER = ["identifier_type", "identifier_value"]


@dataclass(frozen=True)
class People:
    """The persons of a batch of requests.

    ``keys``: request_id, customer_key (current keys). ``retired``: request_id, customer_key: the keys merged
    into those over time (rows written before a merge, in histories and logs, still carry them).
    ``records``: request_id, source_table, record_id, customer_key.
    ``identifiers``: request_id, identifier_type, identifier_value: what is erased and suppressed (their own,
    and what was asked for). ``shared``: request_id, identifier_type, identifier_value: kept, since other
    customers' records carry them too.
    """

    keys: pl.DataFrame
    retired: pl.DataFrame
    records: pl.DataFrame
    identifiers: pl.DataFrame
    shared: pl.DataFrame


def normalised_identifiers(config: ProjectConfig, requests: pl.DataFrame) -> pl.DataFrame:
    """``requests`` (REQUEST_SCHEMA) with their identifier normalised as identity normalises it: null where it
    normalises to nothing (a malformed email, an impossible phone) or the type is unknown."""
    identity = config.identity
    kind = pl.col("identifier_type")
    value = pl.col("identifier_value")
    normalised = pl.when(kind == "customer_key").then(value.str.strip_chars())
    for id_type in IDENTIFIER_TYPES:
        normalised = normalised.when(kind == id_type).then(
            by_type(value, id_type, identity.default_region, identity.phone_regions)
        )
    return requests.with_columns(normalised.otherwise(None).replace("", None).alias("identifier_value")).sort(
        "request_id", "identifier_type"
    )


def normalised_requests(config: ProjectConfig, requests: pl.DataFrame) -> pl.DataFrame:
    """``requests`` (REQUEST_SCHEMA) with their identifier normalised; a value that normalises to nothing or an
    unknown type is a `PrivacyError` naming the request (never the value)."""
    unknown = requests.filter(~pl.col("identifier_type").is_in(REQUEST_TYPES))
    if unknown.height:
        row = unknown.row(0, named=True)
        raise PrivacyError(
            f"erasure request {row['request_id']!r}: unknown identifier type {row['identifier_type']!r}; "
            f"use one of {', '.join(REQUEST_TYPES)}"
        )
    normalised = normalised_identifiers(config, requests)
    unusable = normalised.filter(pl.col("identifier_value").is_null())
    if unusable.height:
        row = unusable.row(0, named=True)
        raise PrivacyError(
            f"erasure request {row['request_id']!r}: the {row['identifier_type']} given is not one "
            "(identity normalises it to nothing: check the spelling)"
        )
    return normalised


def find_people(wh: Warehouse, config: ProjectConfig, requests: pl.DataFrame) -> People:
    """The `People` of ``requests`` (already `normalised_requests`) in the warehouse ``wh``."""
    asked = requests.select("request_id", *_IDENTIFIER)
    by_key = asked.filter(pl.col("identifier_type") == "customer_key").select(
        "request_id", pl.col("identifier_value").alias("customer_key")
    )
    by_identifier = asked.filter(pl.col("identifier_type") != "customer_key")
    found = pl.DataFrame(schema={"request_id": pl.String, "customer_key": pl.String})
    if by_identifier.height and wh.exists("customer_identity"):
        linked = wh.read(
            "customer_identity", columns=[*_IDENTIFIER, "customer_key"], where_in=by_identifier.select(_IDENTIFIER)
        ).filter(pl.col("customer_key").is_not_null())
        found = by_identifier.join(linked, on=_IDENTIFIER).select("request_id", "customer_key")
    keys = pl.concat([found, by_key]).unique().sort("request_id", "customer_key")
    records = _records(wh, keys)
    links = _links(wh, records.select(_RECORD).unique())
    own = records.join(links, on=_RECORD).select("request_id", *_IDENTIFIER).unique()
    elsewhere = _carried_elsewhere(wh, own.select(_IDENTIFIER).unique(), records.select(_RECORD).unique())
    asked_ids = by_identifier.select("request_id", *_IDENTIFIER)
    wanted = pl.concat([own, asked_ids]).unique()
    shared = wanted.join(elsewhere, on=_IDENTIFIER, how="semi")
    identifiers = wanted.join(elsewhere, on=_IDENTIFIER, how="anti")
    return People(
        keys,
        _retired(wh, keys),
        records,
        identifiers.sort("request_id", *_IDENTIFIER),
        shared.sort("request_id", *_IDENTIFIER),
    )


def _retired(wh: Warehouse, keys: pl.DataFrame, rounds: int = 64) -> pl.DataFrame:
    """The keys merged into ``keys`` (request_id, customer_key), following merges back; only keys no record
    holds any more, since a split's old key lives on with the other part and is another customer's."""
    found = keys.clear()
    if keys.is_empty() or not wh.exists("identity_merges"):
        return found
    frontier = keys
    for _ in range(rounds):
        merged = wh.read(
            "identity_merges",
            columns=["old_key", "new_key"],
            where={"kind": "merge"},
            where_in=frontier.select(pl.col("customer_key").alias("new_key")).unique(),
        )
        older = frontier.join(merged, left_on="customer_key", right_on="new_key").select(
            "request_id", pl.col("old_key").alias("customer_key")
        )
        older = older.join(pl.concat([keys, found]), on=["request_id", "customer_key"], how="anti").unique()
        if older.is_empty():
            break
        found, frontier = pl.concat([found, older]), older
    if found.is_empty() or not wh.exists("identity_record_keys"):
        return found
    wanted = found.select("customer_key").unique()
    live = wh.read("identity_record_keys", columns=["customer_key"], where_in=wanted)
    return found.join(live.unique(), on="customer_key", how="anti").sort("request_id", "customer_key")


def _records(wh: Warehouse, keys: pl.DataFrame) -> pl.DataFrame:
    columns = ["source_table", "record_id", "customer_key"]
    if keys.is_empty() or not wh.exists("identity_record_keys"):
        return pl.DataFrame(schema={"request_id": pl.String, **dict.fromkeys(columns, pl.String)})
    rows = wh.read("identity_record_keys", columns=columns, where_in=keys.select("customer_key").unique())
    return keys.join(rows.with_columns(pl.col("source_table").cast(pl.String)), on="customer_key").select(
        "request_id", *columns
    )


def _links(wh: Warehouse, records: pl.DataFrame) -> pl.DataFrame:
    """The identifiers on ``records``: not identity's internal ticket and record ids, nor blocklisted
    placeholders (``test@test.com`` is nobody's, and suppressing it would drop everyone's rows carrying it)."""
    if records.is_empty() or not wh.exists("identity_links"):
        return pl.DataFrame(schema=dict.fromkeys([*_RECORD, *_IDENTIFIER], pl.String))
    links = wh.read("identity_links", columns=[*_RECORD, *_IDENTIFIER, "status"], where_in=records)
    return (
        links.with_columns(pl.col("source_table").cast(pl.String))
        .filter(pl.col("identifier_type").is_in(IDENTIFIER_TYPES) & (pl.col("status") != "blocked"))
        .drop("status")
    )


def _carried_elsewhere(wh: Warehouse, identifiers: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """The ``identifiers`` that a record not among ``records`` carries too."""
    if identifiers.is_empty() or not wh.exists("identity_links"):
        return pl.DataFrame(schema=dict.fromkeys(_IDENTIFIER, pl.String))
    carriers = wh.read("identity_links", columns=[*_RECORD, *_IDENTIFIER], where_in=identifiers)
    return (
        carriers.with_columns(pl.col("source_table").cast(pl.String))
        .join(records, on=_RECORD, how="anti")
        .select(_IDENTIFIER)
        .unique()
    )
