"""What changed for a fact mart since its last build: the staged days restated since, and the customers
identity touched since, so `cxdata.marts.incremental` rebuilds only their rows.

``mart_inputs`` keeps, per fact mart, what its last build read: the ``stg_partitions`` version of each day
of each staged table (`cxdata.io.consumed`), the identity run whose keys it took and a fingerprint of the
settings and code that shape its rows. The next build reads again only the days whose version differs and
the customers of the last identity run's ``identity_touched``, and only when that run changed the state the
mart read (``identity_runs.after_run_id``); anything the bookkeeping cannot vouch for asks for a full build,
with the reason.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import polars as pl

from cxdata.config import ProjectConfig
from cxdata.identity.step import TOUCHED, latest_run
from cxdata.io.consumed import changed_days, consumed_rows, staged_versions
from cxdata.io.days import PARTITION_COLUMN
from cxdata.model_runs import cxdata_version
from cxdata.warehouse import Warehouse

INPUTS = "mart_inputs"
# the customers whose fact rows an update built again or removed, for customer_activity to follow (a null key:
# the fact was built whole); customer_activity's build removes the rows it followed
FACT_TOUCHED = "mart_touched"
KEY = pl.Schema({"customer_key": pl.String()})
FACT_TOUCHED_SCHEMA = pl.Schema({"mart": pl.String(), "run_id": pl.String(), "customer_key": pl.String()})


@dataclass(frozen=True)
class FactDelta:
    """What a fact mart reads again: per staged table, the days restated since its last build
    (partition_day); the customers identity touched since (customer_key); the ``mart_inputs`` rows to publish
    with it; and ``full_reason``, why it must be built whole (None when the delta can be trusted)."""

    mart: str
    days: dict[str, pl.DataFrame]
    touched: pl.DataFrame
    inputs: pl.DataFrame
    full_reason: str | None


def fingerprint(config: ProjectConfig) -> str:
    """The md5 of what shapes a fact row besides its inputs: the currency, the journey settings and the
    code's version. Any change rebuilds the facts whole."""
    shaping = {"currency": config.currency, "journey": config.journey.model_dump(), "cxdata": cxdata_version()}
    return hashlib.md5(json.dumps(shaping, sort_keys=True).encode(), usedforsecurity=False).hexdigest()


def fact_delta(wh: Warehouse, config: ProjectConfig, mart: str, tables: list[str]) -> FactDelta:
    """The delta of ``mart``, built from the staged ``tables``, against what its last build read."""
    versions = {table: staged_versions(wh, table) for table in tables}
    identity = latest_run(wh)
    shaped = fingerprint(config)
    inputs = pl.concat([consumed_rows(table, versions[table]) for table in tables]).select(
        pl.lit(mart).alias("mart"),
        pl.all(),
        pl.lit(None if identity is None else identity["run_id"], pl.String).alias("identity_run_id"),
        pl.lit(shaped).alias("mart_config"),
    )
    consumed = wh.read(INPUTS, where={"mart": mart}) if wh.exists(INPUTS) else None
    reason = _distrust(wh, mart, tables, versions, consumed, identity, shaped)
    if reason is not None:
        return FactDelta(mart, {}, pl.DataFrame(schema=KEY), inputs, reason)
    assert consumed is not None and identity is not None
    days = {}
    for table in tables:
        known = consumed.filter(pl.col("source_table") == table).cast({PARTITION_COLUMN: pl.Date})
        found = changed_days(versions[table], known)  # type: ignore[arg-type]
        if found is None:
            return FactDelta(mart, {}, pl.DataFrame(schema=KEY), inputs, f"stg_{table} was read whole last time")
        days[table] = found
    return FactDelta(mart, days, touched_since(wh, identity, consumed["identity_run_id"][0]), inputs, None)


def touched_since(wh: Warehouse, identity: dict, read: str) -> pl.DataFrame:
    """The customers (customer_key) identity touched since a build that read identity run ``read``, once
    `identity_distrust` vouched for it: the latest run's ``identity_touched``, none when no run came since."""
    if identity["run_id"] == read:
        return pl.DataFrame(schema=KEY)
    return wh.read(TOUCHED, columns=["customer_key"], where={"run_id": identity["run_id"]}).cast(KEY)


def _distrust(
    wh: Warehouse,
    mart: str,
    tables: list[str],
    versions: dict[str, pl.DataFrame | None],
    consumed: pl.DataFrame | None,
    identity: dict | None,
    shaped: str,
) -> str | None:
    """Why ``mart`` cannot be updated from the delta, or None."""
    if not wh.exists(mart):
        return f"{mart} does not exist yet"
    if consumed is None or consumed.is_empty():
        return f"no record of what the last build of {mart} read"
    if set(consumed["mart_config"]) != {shaped}:
        return "the currency, journey settings or cxdata version changed since the last build"
    if set(consumed["source_table"]) != set(tables):
        return "the tables it is built from changed since the last build"
    whole = [table for table in tables if versions[table] is None]
    if whole:
        return f"stg_{whole[0]} is not staged by day"
    return identity_distrust(identity, set(consumed["identity_run_id"]))


def identity_distrust(identity: dict | None, last: set) -> str | None:
    """Why the customers of the latest identity run's ``identity_touched`` (``identity``, its `latest_run`
    row) cannot stand for every customer identity changed since a build that read the identity runs ``last``
    (one run id expected), or None."""
    if identity is None or len(last) != 1 or None in last:
        return "no identity run log to follow"
    (read,) = last
    if identity["run_id"] == read:
        # no identity run since, unless this one ran again after the build read it (a retried step)
        return "identity ran again since the last build" if identity["after_run_id"] == read else None
    if identity["mode"] != "incremental":
        return "identity resolved every customer again"
    if identity["after_run_id"] != read:
        return "identity ran more than once since the last build"
    return None


def fact_touched_rows(mart: str, run_id: str, customers: pl.DataFrame | None) -> pl.DataFrame:
    """The ``mart_touched`` rows saying that run ``run_id`` built again or removed the rows of ``mart`` of
    ``customers`` (a frame with customer_key; None: every row, the mart was built whole)."""
    if customers is None:
        return pl.DataFrame(
            {"mart": [mart], "run_id": [run_id], "customer_key": [None]}, schema=FACT_TOUCHED_SCHEMA
        )
    keys = customers.select(pl.col("customer_key").cast(pl.String)).drop_nulls().unique().sort("customer_key")
    return keys.select(pl.lit(mart).alias("mart"), pl.lit(run_id).alias("run_id"), "customer_key")
