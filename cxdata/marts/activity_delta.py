"""Which customers' customer_activity rows can have changed since its last build, or why it must be built
whole.

The touched customers T are, since the last build:

- the customers identity touched (its ``identity_touched``, followed through ``identity_runs`` as the fact
  marts do, `cxdata.marts.delta.identity_distrust`);
- the customers whose fact rows an update built again or removed (``mart_touched``, written by the fact
  updates in their transaction, `cxdata.marts.incremental`);
- the customers whose aggregates change only because as_of moved from the last build's to this one's: a time
  of one of their rows falls between the two (sql/int_customers_as_of_moved.query.sql, run in the warehouse).

``customer_activity_builds`` keeps what the last build read: its as_of, the identity run, the fact tables
and a fingerprint of the settings and code. An earlier as_of, a changed fingerprint or fact set, a fact
built whole, an identity run that cannot be followed or any missing bookkeeping asks for a full build, with
the reason.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache

import polars as pl

from cxdata.config import ProjectConfig
from cxdata.identity.step import latest_run
from cxdata.marts.activity import AS_OF_STAMPS
from cxdata.marts.delta import (
    FACT_TOUCHED,
    FACT_TOUCHED_SCHEMA,
    KEY,
    fingerprint,
    identity_distrust,
    touched_since,
)
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse
from cxdata.warehouse.comments import _statements, sql_dir

ACTIVITY = "customer_activity"
BUILDS = "customer_activity_builds"
MOVED = "int_customers_as_of_moved.query.sql"
CONTACT_TYPES = {"customer_ref": "customer_ref", "email": "email", "phone": "phone"}  # bound as :customer_ref...
_UTC = pl.Datetime("us", "UTC")
BUILDS_SCHEMA = pl.Schema(
    {
        "run_id": pl.String(),
        "as_of": _UTC,
        "identity_run_id": pl.String(),
        "fact_tables": pl.String(),
        "activity_config": pl.String(),
        "mode": pl.String(),
        "mode_reason": pl.String(),
        "customers_rebuilt": pl.Int64(),
    }
)


@dataclass(frozen=True)
class ActivityDelta:
    """What customer_activity builds again: the touched customers (customer_key) and how many each source
    gave; the ``mart_touched`` runs (mart, run_id) it followed, to clear; the latest identity run; and
    ``full_reason``, why it must be built whole (None when the delta can be trusted)."""

    touched: pl.DataFrame
    sources: dict[str, int]
    followed: pl.DataFrame
    identity_run_id: str | None
    full_reason: str | None


@cache
def moved_queries() -> dict[str, str]:
    """The statements of sql/int_customers_as_of_moved.query.sql by the table each reads."""
    statements = _statements((sql_dir() / MOVED).read_text(encoding="utf-8"))
    return {re.search(r"\bfrom\s+(\w+)", s, re.I).group(1): s for s in statements}  # type: ignore[union-attr]


def moved_customers(wh: Warehouse, tables: list[str], after: dt.datetime, as_of: dt.datetime) -> pl.DataFrame:
    """The customers (customer_key) with a row of ``tables`` whose time in ``AS_OF_STAMPS`` falls in
    (``after``, ``as_of``]: those whose activity changes when as_of moves from one to the other."""
    queries = moved_queries()
    parts = [pl.DataFrame(schema=KEY)]
    for table in tables:
        params = {"after": after, "as_of": as_of}
        if table == "customer_identity":
            params |= {"linked": "linked", **CONTACT_TYPES}
        parts.append(wh.query(queries[table], params).select(pl.col("customer_key").cast(pl.String)))
    return pl.concat(parts).unique()


def activity_delta(wh: Warehouse, config: ProjectConfig, run: RunContext, facts: list[str]) -> ActivityDelta:
    """The delta of customer_activity, built from the fact tables ``facts``, at ``run``'s as_of."""
    queued = wh.read(FACT_TOUCHED) if wh.exists(FACT_TOUCHED) else pl.DataFrame(schema=FACT_TOUCHED_SCHEMA)
    followed = queued.select("mart", "run_id").unique()
    identity = latest_run(wh)
    identity_run = None if identity is None else identity["run_id"]
    last = wh.read(BUILDS) if wh.exists(BUILDS) else None
    reason = _distrust(wh, config, run, facts, last, identity)
    if reason is None:
        whole = queued.filter(pl.col("customer_key").is_null())
        if whole.height:
            reason = f"{whole['mart'][0]} was built whole since the last build"
    if reason is not None:
        return ActivityDelta(pl.DataFrame(schema=KEY), {}, followed, identity_run, reason)
    assert last is not None and identity is not None
    after = last["as_of"][0]
    tables = [t for t in [*facts, "customer_identity"] if t in AS_OF_STAMPS and wh.exists(t)]
    by_source = {
        "identity": touched_since(wh, identity, last["identity_run_id"][0]),
        "facts": queued.select("customer_key").unique(),
        "time": moved_customers(wh, tables, after, run.as_of) if run.as_of > after else pl.DataFrame(schema=KEY),
    }
    touched = pl.concat([frame.cast(KEY) for frame in by_source.values()]).drop_nulls().unique()
    sources = {source: frame.height for source, frame in by_source.items()}
    return ActivityDelta(touched, sources, followed, identity_run, None)


def build_row(config: ProjectConfig, run: RunContext, facts: list[str], delta: ActivityDelta) -> pl.DataFrame:
    """The ``customer_activity_builds`` row of a build from ``delta`` (full when it has a ``full_reason``)."""
    row = {
        "run_id": run.run_id,
        "as_of": run.as_of,
        "identity_run_id": delta.identity_run_id,
        "fact_tables": ",".join(sorted(facts)),
        "activity_config": fingerprint(config),
        "mode": "full" if delta.full_reason else "incremental",
        "mode_reason": delta.full_reason,
        "customers_rebuilt": None if delta.full_reason else delta.touched.height,
    }
    return pl.DataFrame([row], schema=BUILDS_SCHEMA)


def _distrust(
    wh: Warehouse,
    config: ProjectConfig,
    run: RunContext,
    facts: list[str],
    last: pl.DataFrame | None,
    identity: dict | None,
) -> str | None:
    """Why customer_activity cannot be updated from the delta, or None."""
    if not wh.exists(ACTIVITY):
        return f"{ACTIVITY} does not exist yet"
    if last is None or last.height != 1:
        return f"no record of what the last build of {ACTIVITY} read"
    if last["activity_config"][0] != fingerprint(config):
        return "the currency, journey settings or cxdata version changed since the last build"
    if last["fact_tables"][0] != ",".join(sorted(facts)):
        return "the fact tables it is built from changed since the last build"
    if run.as_of < last["as_of"][0]:
        return f"as_of moved back, before the last build's ({last['as_of'][0].isoformat()})"
    if not wh.exists(FACT_TOUCHED):
        return "no record of the fact updates since the last build"
    return identity_distrust(identity, {last["identity_run_id"][0]})
