"""The identity step: resolve identities over the staged tables and publish the keys with their merge log.

What the orchestrated identity asset does, without the orchestrator, so a notebook can run the same thing:

    with Warehouse(config.warehouse) as wh:
        profiles = identity_step(wh, config, run_context(wh, config, run_id="notebook"))

A run is incremental when the warehouse holds the last run's identity tables and
record hashes (`cxdata.identity.delta`): only the components the changed records
touch are resolved again (`cxdata.identity.incremental.update`) and their rows
replaced by key. Otherwise, on a full refresh, or when the changed records reach
too far (``incremental.max_identity_share``), everything is resolved and the
tables are published whole. Both give the same keys. Either way one transaction
writes the keys, the identity rows, the link table, the merge log, the record
hashes, what was consumed and the customers touched (``identity_touched``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping

import polars as pl

from cxdata.config import ProjectConfig
from cxdata.identity.delta import HASHES, INPUTS, Delta, counts, distrust, identity_delta
from cxdata.identity.incremental import IncrementalResult, update
from cxdata.identity.keys import next_key_number
from cxdata.identity.links import IDENTIFIER, RECORD_ID
from cxdata.identity.records import TABLES, columns_needed
from cxdata.identity.resolve import resolve
from cxdata.identity.stored import LINKS, RECORD_KEYS, next_number, state_loader
from cxdata.profile import Profile, table_profile
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse
from cxdata.warehouse.transaction import Transaction

IDENTITY_TABLES = ("customers", "orders", "tickets", "surveys", "web_events", "touches")
TOUCHED = "identity_touched"
# one row per identity run: which run's state it changed, so a step reading identity_touched knows whether
# those are all the customers changed since it last read them
RUNS = "identity_runs"
_RUNS_SCHEMA = {
    "run_id": pl.String,
    "after_run_id": pl.String,
    "sequence": pl.Int64,
    "mode": pl.String,
    "touched_customers": pl.Int64,
    "finished_at": pl.Datetime("us", "UTC"),
}
_STATE = (RECORD_KEYS, "customer_identity", LINKS)
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

    def subset(self, table: str, record_ids: pl.Series) -> pl.LazyFrame:
        """The rows of ``table`` whose key is one of ``record_ids`` (text), read by key."""
        name, (key, _) = f"stg_{table}", TABLES[table]
        columns = columns_needed(table, self._wh.columns(name), self._probabilistic)
        dtype = self._wh.read(name, columns=[key], limit=0).schema[key]
        wanted = record_ids.rename(key).to_frame().cast({key: dtype})
        return self._wh.read(name, columns=columns, where_in=wanted).lazy()


def identity_step(
    wh: Warehouse, config: ProjectConfig, run: RunContext, full_refresh: bool = False
) -> dict[str, Profile]:
    """Resolve identities over the staged tables, keeping keys stable against the previous run's mapping: only
    the changed records' components when the warehouse holds the last run's state, else (or with
    ``full_refresh``) everything. The merge log and first-seen times carry ``run``'s id and start."""
    names = [t for t in IDENTITY_TABLES if t in config.sources]
    tables = _StagedInputs(wh, names, config)
    # a key a merge retired is never given again: fresh keys are numbered after the merge log's too
    retired = wh.read("identity_merges", columns=["old_key", "new_key"]) if wh.exists("identity_merges") else None
    reason = "a full refresh was asked for" if full_refresh else None
    if reason is None and not all(wh.exists(name) for name in _STATE):
        reason = "no identity tables (with their link table) of an earlier run"
    reason = reason or distrust(wh, config, names)
    if reason is not None:
        return _full(wh, config, run, tables, retired, reason)
    delta = identity_delta(wh, config, names, None)
    # only the rows of the customers the delta reaches are read (`cxdata.identity.stored`)
    result = update(
        tables,
        delta.upserted,
        delta.gone,
        state_loader(wh),
        config.identity,
        config.incremental.max_identity_share,
        run.run_id,
        run.now,
        retired,
        next_number=next_number(wh, retired),
    )
    if not result.resolved:  # past the share: resolved in full here, without holding the state
        return _full(
            wh, config, run, tables, retired, result.reason, dataclasses.replace(delta, full_reason=result.reason)
        )
    facts = _facts(result, delta)
    touched = _touched(result.touched, run, "incremental")
    return _publish_changes(wh, result, delta, touched, _run_row(wh, run, "incremental", touched), facts)


def _full(
    wh: Warehouse,
    config: ProjectConfig,
    run: RunContext,
    tables: _StagedInputs,
    retired: pl.DataFrame | None,
    reason: str,
    delta: Delta | None = None,
) -> dict[str, Profile]:
    """Resolve every record and publish the tables whole; without ``delta`` (the days read again, when the
    step fell back to this past the share) every record is hashed, once the resolution's memory is freed."""
    # only what keys are inherited by: blocked and shared rows carry no key, and the other columns are
    # gigabytes at millions of identifiers; read lazily, when the keys are assigned after the graph is built
    previous = (
        wh.scan("customer_identity", where={"status": "linked"}).select(_PREVIOUS_COLUMNS)
        if wh.exists("customer_identity")
        else None
    )
    next_number = next_key_number(previous, retired)
    result = resolve(
        tables,
        config.identity,
        previous=previous,
        run_id=run.run_id,
        now=run.now,
        next_number=next_number,
        with_links=True,
    )
    keys = result.record_keys.select("customer_key")
    if result.identity_merges.height:
        keys = pl.concat([keys, result.identity_merges.select(customer_key="old_key")])
    facts = {**result.stats, "mode": "full", "mode_reason": reason}
    outputs = {
        "identity_merges": result.identity_merges,
        RECORD_KEYS: result.record_keys,
        "customer_identity": result.customer_identity,
        LINKS: result.links,
    }
    # the result's explanations hold the graph and every record, gigabytes that publishing does not need;
    # each output, too, goes as soon as it is staged
    del result, previous
    if delta is None:
        delta = identity_delta(wh, config, list(tables), reason)
        _same_records(delta.hashes, outputs[RECORD_KEYS])
    facts |= {**counts(delta), "scope": delta.scope}
    touched = _touched(keys, run, "full")
    return _publish_whole(wh, outputs, delta, touched, _run_row(wh, run, "full", touched), facts)


def _same_records(hashes: pl.DataFrame, record_keys: pl.DataFrame) -> None:
    """Raise unless the records hashed are as many per table as those resolved: a staged table changed in
    between (identity assumes its inputs hold still, as `records.extract` checks too)."""
    hashed = hashes.group_by("source_table").len()
    resolved = record_keys.group_by("source_table").len()
    differ = hashed.join(resolved, on="source_table", how="full", suffix="_resolved", nulls_equal=True).filter(
        pl.col("len").ne_missing(pl.col("len_resolved"))
    )
    if differ.height:
        raise RuntimeError(f"staged tables changed while identity read them: {differ.rows()}")


def _publish_whole(
    wh: Warehouse,
    outputs: dict[str, pl.DataFrame],
    delta: Delta,
    touched: pl.DataFrame,
    run_row: pl.DataFrame,
    facts: dict,
) -> dict[str, Profile]:
    profiles = {}
    facts = {**facts, "merges_this_run": outputs["identity_merges"].height, "touched_customers": touched.height}
    # keys and their merge log change together or not at all: a crash between them would lose the log
    with wh.transaction() as tx:
        for name in list(outputs):
            frame = outputs.pop(name)
            # the merge log keeps every run's events: this run's are added to what is there
            staged = tx.append(name, frame) if name == "identity_merges" else tx.publish(name, frame)
            if name != LINKS:
                profiles[name] = table_profile(frame, staged.seconds)
            del frame
        _publish_bookkeeping(tx, delta, touched, run_row)
    profiles["customer_identity"] = profiles["customer_identity"].with_facts(facts)
    return profiles


def _publish_changes(
    wh: Warehouse,
    result: IncrementalResult,
    delta: Delta,
    touched: pl.DataFrame,
    run_row: pl.DataFrame,
    facts: dict,
) -> dict[str, Profile]:
    records = pl.concat([result.replaced_records, result.record_keys.select(RECORD_ID)])
    identifiers = pl.concat([result.replaced_identifiers, result.customer_identity.select(IDENTIFIER)])
    facts = {**facts, "merges_this_run": result.identity_merges.height, "touched_customers": touched.height}
    profiles = {}
    with wh.transaction() as tx:
        staged = tx.append("identity_merges", result.identity_merges)
        profiles["identity_merges"] = table_profile(result.identity_merges, staged.seconds)
        staged = tx.replace_keys(RECORD_KEYS, result.record_keys, on=RECORD_ID, keys=records)
        profiles[RECORD_KEYS] = table_profile(result.record_keys, staged.seconds)
        staged = tx.replace_keys("customer_identity", result.customer_identity, on=IDENTIFIER, keys=identifiers)
        profiles["customer_identity"] = table_profile(result.customer_identity, staged.seconds)
        tx.replace_keys(LINKS, result.links, on=RECORD_ID, keys=records)
        _publish_bookkeeping(tx, delta, touched, run_row)
    # the profiles describe the tables as they are now, not the rows this run replaced; the checks read those
    keys = {
        RECORD_KEYS: result.record_keys.select(RECORD_ID),
        "customer_identity": result.customer_identity.select(IDENTIFIER),
    }
    for name in (RECORD_KEYS, "customer_identity"):
        written = profiles[name].rows
        profiles[name] = dataclasses.replace(
            profiles[name], rows=wh.row_count(name), rewritten=keys[name].unique()
        ).with_facts({"rows_replaced": written})
    merges = pl.DataFrame({"run_id": run_row["run_id"]})  # the log's rows of this run
    profiles["identity_merges"] = dataclasses.replace(profiles["identity_merges"], rewritten=merges)
    profiles["customer_identity"] = profiles["customer_identity"].with_facts(facts)
    return profiles


def _publish_bookkeeping(tx: Transaction, delta: Delta, touched: pl.DataFrame, run_row: pl.DataFrame) -> None:
    """The record hashes and inputs the delta of the next run starts from, the customers touched and the
    run's row in the identity run log."""
    # a full resolve past the share still hashed only the days read again: those rows are replaced
    if delta.replaced is None:
        tx.publish(HASHES, delta.hashes)
    else:
        tx.replace_keys(HASHES, delta.hashes, on=RECORD_ID, keys=delta.replaced)
    tx.publish(INPUTS, delta.inputs)
    tx.publish(TOUCHED, touched)
    tx.append(RUNS, run_row, replace={"run_id": run_row["run_id"][0]})


def _touched(keys: pl.DataFrame, run: RunContext, mode: str) -> pl.DataFrame:
    """The ``identity_touched`` rows: run_id, customer_key, mode."""
    return (
        keys.select(pl.col("customer_key").cast(pl.String))
        .drop_nulls()
        .unique()
        .sort("customer_key")
        .select(pl.lit(run.run_id).alias("run_id"), "customer_key", pl.lit(mode).alias("mode"))
    )


def _run_row(wh: Warehouse, run: RunContext, mode: str, touched: pl.DataFrame) -> pl.DataFrame:
    """This run's ``identity_runs`` row. ``after_run_id`` is the last identity run logged, whose state this one
    changed: the same run when a step is retried, so a reader of ``identity_touched`` that saw an earlier
    run does not take the retry's (smaller) set for everything changed since."""
    last = latest_run(wh)
    row = {
        "run_id": run.run_id,
        "after_run_id": None if last is None else last["run_id"],
        "sequence": 1 if last is None else last["sequence"] + 1,
        "mode": mode,
        "touched_customers": touched.height,
        "finished_at": run.now,
    }
    return pl.DataFrame([row], schema=_RUNS_SCHEMA)


def latest_run(wh: Warehouse) -> dict | None:
    """The last row of the identity run log (run_id, after_run_id, sequence, mode, ...), None before any."""
    if not wh.exists(RUNS):
        return None
    rows = wh.read(RUNS).sort("sequence", descending=True)  # one row a run: small
    return rows.row(0, named=True) if rows.height else None


def _facts(result: IncrementalResult, delta: Delta) -> dict:
    return {
        "mode": result.mode,
        "mode_reason": result.reason,
        "closure_customers": result.closure.height,
        "closure_growth": result.growth,
        "records_resolved": result.subset_records,
        "records": result.total_records,
        **counts(delta),
        "scope": delta.scope,
    }
