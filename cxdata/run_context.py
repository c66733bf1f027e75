"""One run, one moment: the id, the scoring moment and the start time every step of a run shares.

A run describes the world as of one moment, ``as_of``: every table it writes
that has an ``as_of`` column holds that moment, and every "when" it records
(a load, a check, a trained model, an alert, the report) is ``now``, the
moment the run started. Both are resolved once per run:

- ``as_of`` is the config's ``as_of`` day (or the command line's ``--as-of``),
  as the end of that day in the project's zone; without one, the end of the
  last day (in the project's zone) on which any staged event happened;
- ``now`` is when the run started, given by the orchestrator (the Dagster run
  record), so every step of the run gets the same one, in any process.

The first step that needs ``as_of`` resolves it from what is staged and stores
the context in the ``run_context`` table, keyed by run id; every later step of
the run reads it back from there (`run_context`). Staging runs before anything
is staged, so it takes only the run id and ``now``.

    with Warehouse(config.warehouse) as wh:
        run = run_context(wh, config, run_id="notebook")
        mart_step(wh, config, "dim_customer", run)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl

from cxdata import schema
from cxdata.config import ProjectConfig
from cxdata.warehouse import Warehouse

TABLE = "run_context"
# The staged tables of events and the time of each event: the default as_of is the end of the day of the last.
EVENT_TIMES = {f"stg_{table}": column for table, column in schema.EVENT_TIMES.items()}
_UTC = pl.Datetime("us", "UTC")
_SCHEMA = {"run_id": pl.String, "as_of": _UTC, "started_at": _UTC, "as_of_from": pl.String}


@dataclass(frozen=True)
class RunContext:
    """What every step of one run shares: its id, the moment it describes (``as_of``) and when it started
    (``now``), both timezone-aware and kept in UTC."""

    run_id: str
    as_of: dt.datetime
    now: dt.datetime

    def __post_init__(self) -> None:
        for name in ("as_of", "now"):
            moment = getattr(self, name)
            if moment.tzinfo is None:
                raise ValueError(f"RunContext.{name} must be timezone-aware, got {moment!r}")
            object.__setattr__(self, name, moment.astimezone(dt.UTC))


def end_of_day(day: dt.date, timezone: str) -> dt.datetime:
    """The last microsecond of ``day`` in the project's zone, in UTC: everything up to it counts as of that day."""
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=ZoneInfo(timezone))
    return (midnight - dt.timedelta(microseconds=1)).astimezone(dt.UTC)


def last_event(wh: Warehouse) -> dt.datetime | None:
    """The latest event of the staged event tables (orders, tickets, surveys, web events, touches), None when
    none is staged or all are empty."""
    found = []
    for table, column in EVENT_TIMES.items():
        if wh.exists(table):
            # the maximum is taken in the warehouse: only one value leaves it, not the whole column
            found.append(wh.query(f'select max("{column}") as at from "{table}"')["at"].cast(_UTC))
    moments = pl.concat(found).drop_nulls() if found else pl.Series("at", [], _UTC)
    return moments.max() if moments.len() else None


def resolve_as_of(wh: Warehouse, config: ProjectConfig) -> tuple[dt.datetime, str]:
    """The run's as_of and where it came from: the end of the config's ``as_of`` day ("config"), else the end of
    the project-zone day of the last staged event ("events"). Without either, a ValueError."""
    if config.as_of is not None:
        return end_of_day(config.as_of, config.timezone), "config"
    latest = last_event(wh)
    if latest is None:
        raise ValueError("no events to take as_of from: every staged event table is missing or empty; set as_of")
    return end_of_day(latest.astimezone(ZoneInfo(config.timezone)).date(), config.timezone), "events"


def run_context(wh: Warehouse, config: ProjectConfig, run_id: str, now: dt.datetime | None = None) -> RunContext:
    """The context of run ``run_id``: as stored in ``run_context`` by an earlier step of the run, else resolved
    (`resolve_as_of`; ``now`` defaults to the wall clock, for a run outside the orchestrator) and stored."""
    if wh.exists(TABLE):
        stored = wh.read(TABLE, columns=["as_of", "started_at"], where={"run_id": run_id})
        if stored.height:
            return RunContext(run_id, stored["as_of"][0], stored["started_at"][0])
    as_of, source = resolve_as_of(wh, config)
    run = RunContext(run_id, as_of, now or dt.datetime.now(dt.UTC))
    row = pl.DataFrame([{"run_id": run_id, "as_of": run.as_of, "started_at": run.now, "as_of_from": source}])
    # two steps of one run resolving at once store the same values; replacing by run id keeps one row
    with wh.transaction() as tx:
        tx.append(TABLE, row.cast(_SCHEMA), replace={"run_id": run_id})
    return run
