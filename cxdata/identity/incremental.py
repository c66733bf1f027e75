"""Incremental identity: resolve again only the customers a delta can touch, with the keys a full run gives.

The delta is the records that are new or changed (``upserted``) and those that
are gone. The previous state is what the last run wrote: ``identity_record_keys``,
``customer_identity`` and the link table (`cxdata.identity.links`).

The closure K of previous keys to resolve again:

1. the keys of every record carrying an identifier of an upserted record, and
   the keys of the gone and changed records;
2. then, until nothing is added: the keys of every record carrying a value of a
   type with a sharing limit found on K's records. Whether such a value links or
   is shared depends on how many higher-tier components its records fall in,
   which changes when they merge or split, so all of its records are resolved
   together.

The subset S (records of K, minus the gone, plus the upserted) is then closed:
no identifier is carried both by a record of S and by one outside it (a value
without a limit is always linked, so all its records share one key; a limited
value pulls all its records in). The graph of all records is therefore the
disjoint union of S's graph and the rest, which is the last run's graph of the
same records, keeping its keys. `resolve` on S alone, with ``previous`` = the
linked rows of K's keys and fresh keys numbered from the global next number,
decides every sharing limit, survivor, split, merge, founder and fresh key as
the full run does: node age and record order (`records`) are orders defined by
the records themselves, so over S they are the full orders restricted to S,
and every fresh component lies in S. The ``blocked`` rows of
``customer_identity`` count records on both sides, so those of the values the
delta carries are counted again over the updated link table.

A full resolve is run instead when S exceeds ``max_share`` of the records, when
there is no previous state, or when probabilistic CRM matching is on (it is
fitted on every CRM record).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl

from cxdata.config import IdentityConfig
from cxdata.identity import keys as ks
from cxdata.identity.links import IDENTIFIER, RECORD_ID, blocked_identity, record_links
from cxdata.identity.records import TABLES, Extracted, extract
from cxdata.identity.resolve import IdentityResult, resolve

KEY = "customer_key"


@dataclass(frozen=True)
class IdentityState:
    """What an identity run leaves: record_keys, customer_identity and links, as `resolve` returns them.

    A *partial* state (``records`` set: how many records the whole state holds) holds only the rows a delta
    reaches (see `StateLoader`); it can be updated incrementally but not resolved in full.
    """

    record_keys: pl.DataFrame
    customer_identity: pl.DataFrame
    links: pl.DataFrame
    records: int | None = None

    @classmethod
    def of(cls, result: IdentityResult) -> IdentityState:
        """The state a full resolve (run ``with_links``) leaves."""
        if result.links is None:
            raise ValueError("the identity result has no link table: resolve it with with_links=True")
        return cls(result.record_keys, result.customer_identity, result.links)


# (usable identifiers of the upserted records, the changed and gone records (source_table, record_id), the
# blocked identifiers of the upserted records, the types with a sharing limit) -> the partial state holding
# every row of the closure's customers and records, and every link carrying one of those blocked values or
# one the changed and gone records carried
StateLoader = Callable[[pl.DataFrame, pl.DataFrame, pl.DataFrame, list[str]], IdentityState]


@dataclass(frozen=True)
class IncrementalResult:
    """Rows to replace in the previous state, the merge log and the customers touched.

    Delete the ``replaced_records`` (source_table, record_id) from record_keys and links and the
    ``replaced_identifiers`` (identifier_type, identifier_value) from customer_identity, then insert
    ``record_keys``, ``links`` and ``customer_identity``; append ``identity_merges``. ``closure`` holds the
    previous keys resolved again, ``touched`` every key (old or new) whose records, their content or their
    identifiers changed.
    """

    mode: str
    reason: str
    closure: pl.DataFrame
    growth: list[int]
    replaced_records: pl.DataFrame
    replaced_identifiers: pl.DataFrame
    record_keys: pl.DataFrame
    customer_identity: pl.DataFrame
    links: pl.DataFrame
    identity_merges: pl.DataFrame
    touched: pl.DataFrame
    subset_records: int
    total_records: int
    resolved: bool = True  # False: a full resolve is needed and was left to the caller (a partial state)


def closure(
    state: IdentityState, values: pl.LazyFrame, seeds: pl.LazyFrame, limited: list[str]
) -> tuple[pl.DataFrame, list[int]]:
    """The previous keys to resolve again (``customer_key``) and the closure's size after each round.

    ``values`` (identifier_type, identifier_value) are the identifiers of the upserted records, ``seeds``
    (source_table, record_id) the gone and changed records, ``limited`` the types with a sharing limit.
    """
    rk = state.record_keys.lazy().select(*RECORD_ID, KEY)
    links = state.links.lazy().filter(pl.col("status").is_null() | (pl.col("status") != "blocked"))
    carrying = links.join(values.unique(), on=IDENTIFIER, how="semi").select(RECORD_ID)
    found = pl.concat([carrying, seeds.select(RECORD_ID)]).unique()
    keys = rk.join(found, on=RECORD_ID, how="semi").select(KEY).unique().collect()
    growth = [keys.height]
    while True:  # one round per step of the chain of limited values; a chain is short
        records = rk.join(keys.lazy(), on=KEY, how="semi").select(RECORD_ID)
        limited_values = (
            links.filter(pl.col("identifier_type").is_in(limited))
            .join(records, on=RECORD_ID, how="semi")
            .select(IDENTIFIER)
            .unique()
        )
        more = rk.join(
            links.join(limited_values, on=IDENTIFIER, how="semi").select(RECORD_ID).unique(),
            on=RECORD_ID,
            how="semi",
        ).select(KEY)
        grown = pl.concat([keys.lazy(), more]).unique().collect()
        if grown.height == keys.height:
            return keys.sort(KEY), growth
        keys = grown
        growth.append(keys.height)


def update(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame],
    upserted: pl.DataFrame,
    gone: pl.DataFrame,
    state: IdentityState | StateLoader | None,
    config: IdentityConfig,
    max_share: float,
    run_id: str = "manual",
    now: dt.datetime | None = None,
    retired: pl.DataFrame | None = None,
    next_number: int | None = None,
) -> IncrementalResult:
    """Bring ``state`` up to ``tables`` (every current record) given the delta: ``upserted`` and ``gone`` list
    (source_table, record_id). Equal to a full `resolve` of ``tables`` with ``previous`` = the state's
    customer_identity (see module docs). Fresh keys are numbered after the state's keys and after every key
    of the merge log ``retired`` (old_key, new_key), so a key a merge retired is never given again.

    ``tables`` may offer ``subset(table, record_ids) -> LazyFrame``: then only the records resolved again
    are read from it (a warehouse reads them by key instead of scanning the table). ``state`` may be a
    `StateLoader`, called once the delta's identifiers are known, with ``next_number`` the global next key
    number; a full resolve is then left to the caller (``resolved`` False)."""
    now = now or dt.datetime.now(dt.UTC)
    if state is None:
        number = ks.next_key_number(None, retired) if next_number is None else next_number
        return _full(tables, state, config, run_id, now, "no previous identity state", number)
    if config.probabilistic.enabled:
        reason = "probabilistic CRM matching is fitted on every CRM record"
        if callable(state):
            return _unresolved(reason)
        number = ks.next_key_number(state.customer_identity, retired) if next_number is None else next_number
        return _full(tables, state, config, run_id, now, reason, number)
    upserted = upserted.select(RECORD_ID).unique()
    gone = gone.select(RECORD_ID).unique()
    delta = _links_of(extract(_subset(tables, upserted), config))
    seeds = pl.concat([gone, upserted]).lazy()
    limited = [t for t in config.max_customers_per_identifier if t in config.priority]
    usable = delta.lazy().filter(pl.col("status").is_null()).select(IDENTIFIER)
    if callable(state):
        blocked = delta.filter(pl.col("status") == "blocked").select(IDENTIFIER).unique()
        state = state(usable.unique().collect(), seeds.collect(), blocked, limited)
    if next_number is None:
        next_number = ks.next_key_number(state.customer_identity, retired)
    known = state.record_keys.lazy().select(RECORD_ID)
    keys, growth = closure(state, usable, seeds, limited)

    replaced = state.record_keys.lazy().join(keys.lazy(), on=KEY, how="semi").select(RECORD_ID).collect()
    subset = pl.concat([replaced.join(gone, on=RECORD_ID, how="anti"), upserted]).unique()
    total = (
        (state.record_keys.height if state.records is None else state.records)
        - gone.join(known.collect(), on=RECORD_ID, how="semi").height
        + upserted.join(known.collect(), on=RECORD_ID, how="anti").height
    )
    if subset.height > max_share * total:
        reason = f"the closure holds {subset.height:,} of {total:,} records, over the share {max_share}"
        if state.records is not None:
            return _unresolved(reason, keys, growth, subset.height, total)
        return _full(tables, state, config, run_id, now, reason, next_number)

    previous = state.customer_identity.lazy().filter(pl.col("status") == "linked").join(keys.lazy(), on=KEY)
    sub = resolve(
        _subset(tables, subset),
        config,
        previous=previous,
        run_id=run_id,
        now=now,
        next_number=next_number,
        with_links=True,
    )
    # blocked values: those the delta's records carry (now or before), counted over the updated link table
    old_delta_links = state.links.lazy().join(seeds, on=RECORD_ID, how="semi")
    blocked_values = (
        pl.concat([old_delta_links, delta.lazy()])
        .filter(pl.col("status") == "blocked")
        .select(IDENTIFIER)
        .unique()
    )
    kept_links = state.links.lazy().join(replaced.lazy(), on=RECORD_ID, how="anti")
    links_after = pl.concat([kept_links, IdentityState.of(sub).links.lazy()])
    identity = pl.concat(
        [
            sub.customer_identity.lazy().filter(pl.col("status") != "blocked"),
            blocked_identity(links_after, blocked_values, run_id),
        ]
    ).collect()
    shared_before = (
        state.links.lazy().filter(pl.col("status") == "shared").join(replaced.lazy(), on=RECORD_ID, how="semi")
    )
    replaced_identifiers = (
        pl.concat(
            [
                previous.select(IDENTIFIER),
                shared_before.select(IDENTIFIER),
                blocked_values,
            ]
        )
        .unique()
        .collect()
    )
    reason = f"{keys.height:,} previous customers, {subset.height:,} records resolved again"
    return _result(
        "incremental", reason, keys, growth, replaced, replaced_identifiers, sub, identity, state, upserted, total
    )


def apply(state: IdentityState, result: IncrementalResult) -> IdentityState:
    """``state`` with ``result``'s replacements made: the state a full resolve would leave."""
    return IdentityState(
        record_keys=_replace(state.record_keys, result.replaced_records, RECORD_ID, result.record_keys),
        customer_identity=_replace(
            state.customer_identity, result.replaced_identifiers, IDENTIFIER, result.customer_identity
        ),
        links=_replace(state.links, result.replaced_records, RECORD_ID, result.links),
    )


def _replace(frame: pl.DataFrame, gone: pl.DataFrame, on: list[str], rows: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([frame.join(gone, on=on, how="anti"), rows.select(frame.columns)], how="vertical_relaxed")


def _subset(tables: Mapping[str, pl.DataFrame | pl.LazyFrame], ids: pl.DataFrame) -> dict[str, pl.LazyFrame]:
    """Each table's rows whose record is in ``ids`` (source_table, record_id)."""
    out = {}
    by_key = getattr(tables, "subset", None)
    for name, (key, _) in TABLES.items():
        if name not in tables:
            continue
        wanted = ids.filter(pl.col("source_table") == name)["record_id"]
        if by_key is not None:
            out[name] = by_key(name, wanted)
        else:
            out[name] = tables[name].lazy().filter(pl.col(key).cast(pl.String).is_in(wanted.implode()))
    return out


def _links_of(extracted: Extracted) -> pl.DataFrame:
    """The link rows of records not yet resolved: status null, or blocked."""
    return record_links(extracted.records, extracted.rec, extracted.node, extracted.nodes, extracted.blocked_links)


def _unresolved(
    reason: str, keys: pl.DataFrame | None = None, growth: list[int] | None = None, subset: int = 0, total: int = 0
) -> IncrementalResult:
    """A full resolve left to the caller, which holds only part of the state."""
    none = pl.DataFrame()
    keys = pl.DataFrame(schema={KEY: pl.String}) if keys is None else keys
    return IncrementalResult(
        "full", reason, keys, growth or [], none, none, none, none, none, none, none, subset, total, resolved=False
    )


def _full(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame],
    state: IdentityState | None,
    config: IdentityConfig,
    run_id: str,
    now: dt.datetime,
    reason: str,
    next_number: int,
) -> IncrementalResult:
    previous = None if state is None else state.customer_identity
    full = resolve(
        tables, config, previous=previous, run_id=run_id, now=now, next_number=next_number, with_links=True
    )
    if state is None:  # nothing to replace: an empty state of the same columns
        done = IdentityState.of(full)
        state = IdentityState(done.record_keys.clear(), done.customer_identity.clear(), done.links.clear())
    keys = state.record_keys.select(KEY).unique().sort(KEY)
    replaced = state.record_keys.select(RECORD_ID)
    upserted = full.record_keys.select(RECORD_ID)  # every record counts as changed
    identifiers = state.customer_identity.select(IDENTIFIER).unique()
    return _result(
        "full",
        reason,
        keys,
        [keys.height],
        replaced,
        identifiers,
        full,
        full.customer_identity,
        state,
        upserted,
        full.record_keys.height,
    )


def _result(
    mode: str,
    reason: str,
    keys: pl.DataFrame,
    growth: list[int],
    replaced: pl.DataFrame,
    replaced_identifiers: pl.DataFrame,
    sub: IdentityResult,
    identity: pl.DataFrame,
    state: IdentityState,
    upserted: pl.DataFrame,
    total: int,
) -> IncrementalResult:
    old_keys = state.record_keys.join(replaced, on=RECORD_ID, how="semi")
    old_identity = state.customer_identity.join(replaced_identifiers, on=IDENTIFIER, how="semi").drop("run_id")
    new_identity = identity.drop("run_id")
    touched = pl.concat(
        [
            _changed_keys(old_keys, sub.record_keys),
            _changed_keys(sub.record_keys, old_keys),
            _changed_keys(old_identity, new_identity),
            _changed_keys(new_identity, old_identity),
            # a changed record's customers are touched even when its key stays
            old_keys.join(upserted, on=RECORD_ID, how="semi").select(KEY),
            sub.record_keys.join(upserted, on=RECORD_ID, how="semi").select(KEY),
        ]
    )
    return IncrementalResult(
        mode=mode,
        reason=reason,
        closure=keys,
        growth=growth,
        replaced_records=replaced,
        replaced_identifiers=replaced_identifiers,
        record_keys=sub.record_keys,
        customer_identity=identity,
        links=IdentityState.of(sub).links,
        identity_merges=sub.identity_merges,
        touched=touched.drop_nulls().unique().sort(KEY),
        subset_records=sub.record_keys.height,
        total_records=total,
    )


def _changed_keys(rows: pl.DataFrame, other: pl.DataFrame) -> pl.DataFrame:
    """Keys of the rows of ``rows`` that ``other`` does not hold exactly."""
    return rows.join(other.select(rows.columns), on=rows.columns, how="anti", nulls_equal=True).select(KEY)
