"""The last identity run's state as the warehouse holds it: whole, or only the part a delta reaches.

An incremental run needs the rows of the customers its closure holds
(`cxdata.identity.incremental.closure`), not the whole state: `state_loader`
walks the closure in the warehouse, round by round, reading only the new keys'
records, their links, and the records carrying a limited value found on them,
all by key (`Warehouse.read(where_in=)`, indexed on PostgreSQL). The partial
state it returns holds every row of the closure's records and customers, so the
closure computed over it is the closure over the whole state.
"""

from __future__ import annotations

import polars as pl

from cxdata.identity.incremental import KEY, IdentityState, StateLoader
from cxdata.identity.keys import next_key_number
from cxdata.identity.links import IDENTIFIER, LINK_SCHEMA, RECORD_ID
from cxdata.schema import UTC_TIMESTAMP
from cxdata.warehouse import Warehouse

RECORD_KEYS = "identity_record_keys"
IDENTITY = "customer_identity"
LINKS = "identity_links"
IDENTITY_SCHEMA = {
    "identifier_type": pl.String,
    "identifier_value": pl.String,
    "customer_key": pl.String,
    "status": pl.String,
    "first_seen": UTC_TIMESTAMP,
    "last_seen": UTC_TIMESTAMP,
    "records": pl.Int64,
    "run_id": pl.String,
}
KEYS_SCHEMA = dict.fromkeys(["source_table", "record_id", KEY, "linked_by"], pl.String)
# keys are C + a zero-padded number, so the longest, then the greatest text, is the greatest number
_TOP_KEY_SQL = (
    "select customer_key, status from customer_identity where status = 'linked' and customer_key is not null "
    "order by length(customer_key) desc, customer_key desc limit 1"
)
_UNBLOCKED = pl.col("status").is_null() | (pl.col("status") != "blocked")


def read_state(wh: Warehouse) -> IdentityState:
    """The last run's identity tables, whole, in the dtypes `resolve` gives them."""
    return IdentityState(
        record_keys=wh.read(RECORD_KEYS, columns=list(KEYS_SCHEMA)).cast(KEYS_SCHEMA),
        customer_identity=wh.read(IDENTITY, columns=list(IDENTITY_SCHEMA)).cast(IDENTITY_SCHEMA),
        links=wh.read(LINKS, columns=list(LINK_SCHEMA)).cast(LINK_SCHEMA),
    )


def next_number(wh: Warehouse, retired: pl.DataFrame | None) -> int:
    """The number of the next fresh key: after every linked key of customer_identity and of the merge log
    ``retired`` (old_key, new_key)."""
    return next_key_number(wh.query(_TOP_KEY_SQL), retired)


def state_loader(wh: Warehouse) -> StateLoader:
    """A `StateLoader` reading the part of the stored state a delta reaches (see module docs)."""

    def links_of(keys: pl.DataFrame) -> pl.DataFrame:
        return wh.read(LINKS, columns=list(LINK_SCHEMA), where_in=keys).cast(LINK_SCHEMA)

    def keys_of(keys: pl.DataFrame) -> pl.DataFrame:
        return wh.read(RECORD_KEYS, columns=list(KEYS_SCHEMA), where_in=keys).cast(KEYS_SCHEMA)

    def load(
        values: pl.DataFrame, seeds: pl.DataFrame, blocked: pl.DataFrame, limited: list[str]
    ) -> IdentityState:
        seed_links = links_of(seeds.select(RECORD_ID))
        carrying = links_of(values.select(IDENTIFIER)).filter(_UNBLOCKED)
        found = keys_of(pl.concat([carrying.select(RECORD_ID), seeds.select(RECORD_ID)]).unique())
        record_keys, links = [found], [seed_links, carrying]
        keys = found.select(KEY).drop_nulls().unique()
        fresh, seen = keys, pl.DataFrame(schema={c: pl.String for c in IDENTIFIER})
        while fresh.height:  # one round per step of a chain of limited values, as `closure` goes
            rows = keys_of(fresh)
            their_links = links_of(rows.select(RECORD_ID))
            record_keys.append(rows)
            links.append(their_links)
            values = (
                their_links.filter(pl.col("identifier_type").is_in(limited) & _UNBLOCKED)
                .select(IDENTIFIER)
                .unique()
                .join(seen, on=IDENTIFIER, how="anti")
            )
            seen = pl.concat([seen, values])
            carriers = links_of(values).filter(_UNBLOCKED)
            links.append(carriers)
            more = keys_of(carriers.select(RECORD_ID).unique())
            record_keys.append(more)
            fresh = more.select(KEY).drop_nulls().unique().join(keys, on=KEY, how="anti")
            keys = pl.concat([keys, fresh])
        # the blocked rows of customer_identity count every record carrying the value
        blocked_values = pl.concat(
            [blocked.select(IDENTIFIER), seed_links.filter(pl.col("status") == "blocked").select(IDENTIFIER)]
        ).unique()
        links.append(links_of(blocked_values).filter(pl.col("status") == "blocked"))
        all_links = pl.concat(links).unique()
        identity = pl.concat(
            [
                wh.read(IDENTITY, columns=list(IDENTITY_SCHEMA), where_in=keys),
                wh.read(IDENTITY, columns=list(IDENTITY_SCHEMA), where_in=all_links.select(IDENTIFIER).unique()),
            ]
        )
        return IdentityState(
            record_keys=pl.concat(record_keys).unique(),
            customer_identity=identity.cast(IDENTITY_SCHEMA).unique(),
            links=all_links,
            records=wh.row_count(RECORD_KEYS),
        )

    return load
