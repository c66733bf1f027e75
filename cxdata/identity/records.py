"""Identifiers per record: every record of the canonical tables and the identifier nodes it carries.

Records get one global integer ``rec`` in canonical order: tables in ``TABLES``
order, then event time (records without one last), then record id. Staged row
order means nothing (a restated day's rows are replaced wherever they sit), and
an incremental run numbers a subset of the records: only an order defined by
the records themselves numbers a subset as the whole would. Each identifier a record carries is normalised with
`cxdata.identity.normalise` and checked against the blocklist, both as
normalised and as raw trimmed lower-case text, so ``" N/A "`` and
``test@test.com`` are caught whatever the spelling. A blocked value keeps its
raw lower-case spelling (placeholders are not personal data) so the mart can
show it; a value that normalisation rejects (a malformed email) and that is not
on the blocklist is simply dropped — it can never link.

Memory is what limits this step (tens of millions of identifier rows), so
identifier strings live only while one table column is processed: each value
becomes a 64-bit hash at once, and the distinct ``(id_type, value)`` pairs —
the graph's nodes — are kept aside with their first and last sighting. Two
values with one hash would join strangers, so collisions are checked for and
the extraction repeated with another seed if one ever shows up.

Besides the four configured types there is one internal type, ``ticket``: a
ticket's own id and a survey's ``ticket_id``, so a survey joins the customer of
the ticket it followed. It ranks below every configured type and has no limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from cxdata.config import IdentityConfig
from cxdata.identity import normalise
from cxdata.schema import UTC_TIMESTAMP

# Table -> (primary key, event time column); the order comes first in the canonical record numbering.
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
_SEEDS = (0x5EED, 0xC0FFEE, 0xBADA55)
_GOLDEN = 0x9E3779B97F4A7C15  # spreads the per-type salt over all 64 bits
# links sort on one packed u64: rec (29 bits) | tier (3 bits) | node (32 bits)
_REC_BITS, _TIER_BITS, _NODE_BITS = 29, 3, 32


def id_types(config: IdentityConfig) -> list[str]:
    """Identifier types in priority order: the configured ones, then the internal ``ticket`` and ``record``."""
    return [*config.priority, TICKET, RECORD]


def columns_needed(table: str, available: list[str], probabilistic: bool = False) -> list[str]:
    """The columns of canonical ``table`` that identity reads: key, event time, identifiers (and the CRM's
    names and postcode when probabilistic matching is on)."""
    key, time_col = TABLES[table]
    wanted = [key, time_col, *_LINKING, *(["ticket_id"] if table in ("tickets", "surveys") else [])]
    if probabilistic and table == "customers":
        wanted += ["first_name", "last_name", "postcode", "country"]
    return [c for c in dict.fromkeys(wanted) if c in available]


@dataclass(frozen=True)
class Extracted:
    """Records, identifier nodes and the links between them.

    ``records``: rec (u32), source_table (enum), record_id (str), event_time (UTC datetime).
    ``nodes``: node (u32; age order: first_seen, type priority, then a fixed hash), id_type (enum), value,
    first_seen, last_seen, records (u32), first_rec (u32), tier (i32).
    ``rec``, ``node``, ``tier``: one entry per (record, identifier) link, sorted by rec, tier, node.
    ``blocked``: id_type, value, first_seen, last_seen, records of the blocklisted values seen.
    ``blocked_links``: rec, id_type, value of every record carrying a blocklisted value.
    """

    records: pl.DataFrame
    nodes: pl.DataFrame
    rec: np.ndarray
    node: np.ndarray
    tier: np.ndarray
    blocked: pl.DataFrame
    blocked_links: pl.DataFrame


class _Collision(Exception):
    pass


def extract(tables: Mapping[str, pl.DataFrame | pl.LazyFrame], config: IdentityConfig) -> Extracted:
    """Number every record of the given tables and list the normalised identifiers each carries."""
    for seed in _SEEDS:
        try:
            return _extract(tables, config, seed)
        except _Collision:
            continue
    raise RuntimeError("identifier hashes collided under every seed tried; this cannot happen by chance")


def _extract(tables: Mapping[str, pl.DataFrame | pl.LazyFrame], config: IdentityConfig, seed: int) -> Extracted:
    types = id_types(config)
    type_enum = pl.Enum(types)
    phones = _PhoneCache(config)
    records, links, uniques, blocked = [], [], [], []
    offset = 0
    for name, (key, time_col) in TABLES.items():
        if name not in tables:
            continue
        lazy = tables[name].lazy()
        columns = lazy.collect_schema().names()
        carried = [c for c in _LINKING if c in columns]
        if name in ("tickets", "surveys") and "ticket_id" in columns:
            carried.append("ticket_id")
        time = pl.col(time_col).cast(UTC_TIMESTAMP) if time_col in columns else pl.lit(None, UTC_TIMESTAMP)
        base = lazy.select(pl.col(key).cast(pl.String).alias("record_id"), time.alias("event_time")).collect()
        n = base.height
        # canonical order: one permutation, applied to each identifier column as it is read
        order = pl.Series(_canonical_order(base))
        base = base[order]
        if offset + n >= 1 << _REC_BITS:
            raise ValueError(f"identity resolution handles fewer than {1 << _REC_BITS:,} records")
        # a column read from the warehouse shares its Arrow batch with the columns read with it, freed only
        # when all of them are: kept columns are copied into buffers of their own (rechunk, and `_compact` for
        # strings), and each identifier column is read on its own, so a table's identifier text is never all
        # in memory at once (1.1 GB less at 20M records, and 0.8 GB off the extraction peak)
        stamps = base.select(pl.int_range(offset, offset + n, dtype=pl.UInt32).alias("rec"), "event_time")
        records.append(
            stamps.select("rec", pl.lit(name, SOURCE_TABLE).alias("source_table"), base["record_id"], "event_time")
            .rechunk()
            .pipe(_compact, "record_id")
        )
        stamps = records[-1].select("rec", "event_time")  # the copies just made, not a second one
        del base
        for column in carried:
            id_type = TICKET if column == "ticket_id" else column
            tier = types.index(id_type)
            values = lazy.select(pl.col(column).cast(pl.String)).collect().to_series()
            if values.len() != n:
                raise RuntimeError(
                    f"table {name!r} changed while identity read it: {n:,} rows, then {values.len():,}"
                )
            values = values.gather(order)
            rows = _identifier_rows(stamps.with_columns(values), column, id_type, config, phones)
            del values
            blocked.append(
                rows.filter("blocked")
                .select("rec", pl.lit(id_type).alias("id_type"), "value", "event_time")
                .pipe(_compact, "value")
            )
            salt = (tier + 1) * _GOLDEN % (1 << 64)
            # a second, independent hash only to detect collisions of the first: grouping on integers is
            # several times cheaper than on the strings themselves
            usable = rows.filter(~pl.col("blocked")).with_columns(
                (pl.col("value").hash(seed) ^ pl.lit(salt, pl.UInt64)).alias("h"),
                (pl.col("value").hash(seed + 1) ^ pl.lit(salt, pl.UInt64)).alias("h2"),
            )
            links.append(usable.select("rec", "h"))
            uniques.append(
                usable.group_by("h")
                .agg(
                    pl.col("value").first(),
                    pl.col("h2").min().alias("h2_min"),
                    pl.col("h2").max().alias("h2_max"),
                    pl.col("event_time").min().alias("first_seen"),
                    pl.col("event_time").max().alias("last_seen"),
                    pl.len().cast(pl.UInt32).alias("records"),
                    pl.col("rec").min().alias("first_rec"),
                )
                .with_columns(pl.lit(tier, pl.Int32).alias("tier"))
                .pipe(_compact, "value")
            )
        offset += n
        del stamps, lazy, order
    # each step frees what it consumed before the next allocates: the distinct values are a gigabyte at 20M
    # records and the record links half of one, and holding both through the join set this step's peak
    nodes = _nodes(uniques, type_enum)
    del uniques
    rec, node, tier = _links(links, nodes)
    del links
    return Extracted(
        records=pl.concat(records) if records else pl.DataFrame(schema=_RECORD_SCHEMA),
        nodes=nodes.select("node", "id_type", "value", "first_seen", "last_seen", "records", "first_rec", "tier"),
        rec=rec,
        node=node,
        tier=tier,
        blocked=_blocked_values(blocked),
        blocked_links=(pl.concat(blocked) if blocked else pl.DataFrame(schema=_BLOCKED_SCHEMA)).select(
            "rec", "id_type", "value"
        ),
    )


def _nodes(uniques: list[pl.DataFrame], type_enum: pl.Enum) -> pl.DataFrame:
    """The graph's nodes from each table's distinct values, numbered in age order (see `Extracted`)."""
    types = type_enum.categories.to_list()
    nodes = (
        (pl.concat(uniques) if uniques else pl.DataFrame(schema=_UNIQUE_SCHEMA))
        .group_by("h")
        .agg(
            pl.col("tier").first(),
            pl.col("value").first(),
            pl.col("h2_min").min(),
            pl.col("h2_max").max(),
            pl.col("first_seen").min(),
            pl.col("last_seen").max(),
            pl.col("records").sum(),
            pl.col("first_rec").min(),
        )
    )
    if (nodes["h2_min"] != nodes["h2_max"]).any():
        raise _Collision
    return (
        # ties of first sighting and type are broken by the hash: arbitrary but the same on every run
        nodes[_node_order(nodes["first_seen"], nodes["tier"].to_numpy(), nodes["h"].to_numpy())]
        .with_row_index("node")
        .with_columns(
            pl.col("tier").replace_strict(list(range(len(types))), types, return_dtype=type_enum).alias("id_type")
        )
    )


def _links(links: list[pl.DataFrame], nodes: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rec, node and tier of every record-identifier link, sorted by rec, tier, node."""
    packed = (
        (pl.concat(links) if links else pl.DataFrame(schema={"rec": pl.UInt32, "h": pl.UInt64}))
        .join(nodes.select("h", "node", "tier"), on="h")
        .select(
            (
                pl.col("rec").cast(pl.UInt64) * (1 << (_TIER_BITS + _NODE_BITS))
                + pl.col("tier").cast(pl.UInt64) * (1 << _NODE_BITS)
                + pl.col("node").cast(pl.UInt64)
            ).sort()
        )
        .to_series()
        .to_numpy()
    )
    node_mask = np.uint64((1 << _NODE_BITS) - 1)
    tier_mask = np.uint64((1 << _TIER_BITS) - 1)
    rec = (packed >> np.uint64(_TIER_BITS + _NODE_BITS)).astype(np.int64)
    tier = ((packed >> np.uint64(_NODE_BITS)) & tier_mask).astype(np.int32)
    node = (packed & node_mask).astype(np.int64)
    return rec, node, tier


def _blocked_values(blocked: list[pl.DataFrame]) -> pl.DataFrame:
    return (
        (pl.concat(blocked) if blocked else pl.DataFrame(schema=_BLOCKED_SCHEMA))
        .group_by("id_type", "value")
        .agg(
            pl.col("event_time").min().alias("first_seen"),
            pl.col("event_time").max().alias("last_seen"),
            pl.len().cast(pl.UInt32).alias("records"),
        )
        .sort("id_type", "value")
    )


def _compact(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """``frame`` with ``column``'s strings copied into buffers of their own.

    A filtered or grouped string column keeps viewing the buffers of the column it came from: the distinct
    values of a table's identifier would hold every row's text alive, gigabytes that the frame's estimated
    size does not show.
    """
    own = pl.from_arrow(frame[column].to_arrow(compat_level=pl.CompatLevel.oldest()))
    return frame.with_columns(own.alias(column))


def _canonical_order(base: pl.DataFrame) -> np.ndarray:
    """Row order by event_time (nulls last), then record_id: a sort on the time alone, then one on both
    columns over the rows whose time is tied only (polars' sort over both is ten times slower at 10M rows)."""
    order = base.select(pl.col("event_time").arg_sort(nulls_last=True)).to_series().to_numpy().copy()
    times = base["event_time"].gather(order)
    tied = (times.eq_missing(times.shift(1)) | times.eq_missing(times.shift(-1))).to_numpy()
    positions = np.flatnonzero(tied)
    if positions.size:
        # tied rows form whole runs of one time in time order, so sorting them on both columns and writing
        # them back into their own positions orders every run by record_id
        rows = order[positions]
        tied_rows = base[rows].with_columns(pl.Series("row", rows))
        order[positions] = tied_rows.sort("event_time", "record_id", nulls_last=True)["row"].to_numpy()
    return order


def _node_order(first_seen: pl.Series, tier: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Row order by first_seen (nulls last), then tier, then hash: one sort over two integer keys, a seventh
    of the time of polars' sort over the three columns at 6.2M identifiers (hashes are distinct per node)."""
    us = first_seen.dt.epoch("us")
    low, high = us.min(), us.max()
    # microseconds since the earliest sighting (years 1-9999 span < 2**59), nulls one past the latest
    offset = (us - low).fill_null(high - low + 1).to_numpy() if low is not None else np.zeros(len(us), np.int64)
    key = (offset.astype(np.int64) << _TIER_BITS) | tier.astype(np.int64)
    keys = pl.DataFrame({"key": key, "h": np.asarray(h, dtype=np.uint64)})
    return keys.select(pl.arg_sort_by("key", "h")).to_series().to_numpy()


_RECORD_SCHEMA = {
    "rec": pl.UInt32,
    "source_table": SOURCE_TABLE,
    "record_id": pl.String,
    "event_time": UTC_TIMESTAMP,
}
_UNIQUE_SCHEMA = {
    "h": pl.UInt64,
    "value": pl.String,
    "h2_min": pl.UInt64,
    "h2_max": pl.UInt64,
    "first_seen": UTC_TIMESTAMP,
    "last_seen": UTC_TIMESTAMP,
    "records": pl.UInt32,
    "first_rec": pl.UInt32,
    "tier": pl.Int32,
}
_BLOCKED_SCHEMA = {"rec": pl.UInt32, "id_type": pl.String, "value": pl.String, "event_time": UTC_TIMESTAMP}


class _PhoneCache:
    """Raw phone text -> E.164 (or null), parsed once per distinct raw value over all tables."""

    def __init__(self, config: IdentityConfig) -> None:
        self.default_region = config.default_region
        self.regions = tuple(config.phone_regions)
        self.known = pl.DataFrame(schema={"value": pl.String, "norm": pl.String})

    def normalised(self, raw: pl.Series) -> pl.DataFrame:
        """``value`` (raw) and ``norm`` for the distinct values of ``raw``."""
        fresh = raw.drop_nulls().unique().to_frame("value").join(self.known, on="value", how="anti")
        if fresh.height:
            # libphonenumber is pure Python and GIL-bound; see `normalise.phone` for how it is kept off most values
            parsed = fresh.with_columns(
                normalise.phone(pl.col("value"), self.default_region, self.regions).alias("norm")
            )
            self.known = pl.concat([self.known, parsed])
        return self.known


def blocklist(config: IdentityConfig, id_type: str) -> list[str]:
    """The blocklisted values of ``id_type`` (its own and the ``any`` list), trimmed and lower-case."""
    values = [*config.blocklist.get("any", []), *config.blocklist.get(id_type, [])]
    return sorted({v.strip().lower() for v in values})


def _identifier_rows(
    frame: pl.DataFrame, column: str, id_type: str, config: IdentityConfig, phones: _PhoneCache
) -> pl.DataFrame:
    """rec, value, blocked, event_time for every non-null ``column`` value that is blocked or usable."""
    raw = (
        frame.lazy().filter(pl.col(column).is_not_null()).select("rec", "event_time", pl.col(column).alias("raw"))
    )
    if id_type == "phone":
        lookup = phones.normalised(frame[column]).lazy().rename({"value": "raw"})
        raw = raw.join(lookup, on="raw", how="left")
        norm = pl.col("norm")
    elif id_type == "email":
        norm = normalise.email(pl.col("raw"))
    else:  # customer_ref, anonymous_id and ticket ids are opaque ids: trimmed text
        norm = normalise.customer_ref(pl.col("raw"))
    listed = blocklist(config, id_type)
    return (
        raw.with_columns(norm.alias("norm"), pl.col("raw").str.strip_chars().str.to_lowercase().alias("raw_key"))
        .with_columns(
            (pl.col("raw_key").is_in(listed) | pl.col("norm").str.to_lowercase().is_in(listed)).alias("blocked")
        )
        .filter(pl.col("blocked") | pl.col("norm").is_not_null())
        .select(
            "rec",
            pl.when(pl.col("blocked")).then(pl.col("raw_key")).otherwise(pl.col("norm")).alias("value"),
            "blocked",
            "event_time",
        )
        .collect()
    )
