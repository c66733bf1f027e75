"""The identity step: resolve identities over the staged tables and publish the keys with their merge log.

What the orchestrated identity asset does, without the orchestrator, so a notebook can run the same thing:

    with Warehouse(config.warehouse) as wh:
        profiles = identity_step(wh, config, run_context(wh, config, run_id="notebook"))
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import polars as pl

from cxdata.config import ProjectConfig
from cxdata.identity.keys import next_key_number
from cxdata.identity.records import columns_needed
from cxdata.identity.resolve import resolve
from cxdata.profile import Profile, table_profile
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse

IDENTITY_TABLES = ("customers", "orders", "tickets", "surveys", "web_events", "touches")
RECORD_KEYS = "identity_record_keys"
_PREVIOUS_COLUMNS = ["identifier_type", "identifier_value", "customer_key", "status", "first_seen"]


class _StagedInputs(Mapping[str, pl.LazyFrame]):
    """The staged identity inputs, as warehouse scans that resolution reads a column at a time.

    Resolution takes one table at a time and keeps only its record ids, times and the hashes of its identifiers,
    so reading on access lets each identifier column's strings go before the next is read instead of holding
    every input (a third of this step's peak memory) until resolution ends.
    """

    def __init__(self, wh: Warehouse, tables: list[str], config: ProjectConfig) -> None:
        self._wh, self._tables, self._probabilistic = wh, tables, config.identity.probabilistic.enabled

    def __getitem__(self, table: str) -> pl.LazyFrame:
        if table not in self._tables:
            raise KeyError(table)
        name = f"stg_{table}"
        # only keys, times and identifiers: the other columns would multiply this step's memory
        return self._wh.scan(name).select(columns_needed(table, self._wh.columns(name), self._probabilistic))

    def __contains__(self, table: object) -> bool:
        return table in self._tables  # without reading it, as Mapping's own test would

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)


def identity_step(wh: Warehouse, config: ProjectConfig, run: RunContext) -> dict[str, Profile]:
    """Resolve identities over the staged tables, keeping keys stable against the previous run's mapping; the
    merge log and first-seen times carry ``run``'s id and start."""
    tables = _StagedInputs(wh, [t for t in IDENTITY_TABLES if t in config.sources], config)
    # only what keys are inherited by: blocked and shared rows carry no key, and the other columns are
    # gigabytes at millions of identifiers; read lazily, when the keys are assigned after the graph is built
    previous = (
        wh.scan("customer_identity", where={"status": "linked"}).select(_PREVIOUS_COLUMNS)
        if wh.exists("customer_identity")
        else None
    )
    # a key a merge retired is never given again: fresh keys are numbered after the merge log's too
    retired = wh.read("identity_merges", columns=["old_key", "new_key"]) if wh.exists("identity_merges") else None
    next_number = next_key_number(previous, retired)
    result = resolve(
        tables, config.identity, previous=previous, run_id=run.run_id, now=run.now, next_number=next_number
    )
    facts = {**result.stats, "merges_this_run": result.identity_merges.height}
    outputs = {
        "identity_merges": result.identity_merges,
        RECORD_KEYS: result.record_keys,
        "customer_identity": result.customer_identity,
    }
    # the result's explanations hold the graph and every record, gigabytes that publishing does not need;
    # each output, too, goes as soon as it is staged
    del result, previous
    profiles = {}
    # keys and their merge log change together or not at all: a crash between them would lose the log
    with wh.transaction() as tx:
        for name in list(outputs):
            frame = outputs.pop(name)
            # the merge log keeps every run's events: this run's are added to what is there
            staged = tx.append(name, frame) if name == "identity_merges" else tx.publish(name, frame)
            profiles[name] = table_profile(frame, staged.seconds)
            del frame
    profiles["customer_identity"] = profiles["customer_identity"].with_facts(facts)
    return profiles
