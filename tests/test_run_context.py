"""The run context: one run id, scoring moment and start time for every step of a run."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxdata.config import ProjectConfig, SourceConfig
from cxdata.run_context import TABLE, RunContext, end_of_day, resolve_as_of, run_context
from cxdata.warehouse import Warehouse

UTC = dt.UTC
STARTED = dt.datetime(2026, 7, 2, 6, 0, tzinfo=UTC)


def test_end_of_day_is_local_midnight_in_utc():
    assert end_of_day(dt.date(2026, 6, 30), "Europe/Madrid") == dt.datetime(
        2026, 6, 30, 21, 59, 59, 999999, tzinfo=dt.UTC
    )
    assert end_of_day(dt.date(2026, 1, 31), "UTC") == dt.datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)


def test_a_context_holds_aware_moments_in_utc():
    madrid = dt.timezone(dt.timedelta(hours=2))
    run = RunContext("r", dt.datetime(2026, 7, 1, 1, 0, tzinfo=madrid), STARTED)
    assert run.as_of == dt.datetime(2026, 6, 30, 23, 0, tzinfo=UTC) and run.as_of.tzinfo is UTC
    with pytest.raises(ValueError, match="as_of must be timezone-aware"):
        RunContext("r", dt.datetime(2026, 7, 1), STARTED)


def project(timezone: str = "Europe/Madrid", as_of: dt.date | None = None) -> ProjectConfig:
    return ProjectConfig(
        name="ctx", sources={"orders": SourceConfig(path="orders.csv")}, timezone=timezone, as_of=as_of
    )


def events(column: str, *moments: dt.datetime) -> pl.DataFrame:
    return pl.DataFrame({column: list(moments)}, schema={column: pl.Datetime("us", "UTC")})


@pytest.fixture
def wh(warehouse_target):
    url, schema = warehouse_target
    with Warehouse(url, schema=schema) as warehouse:
        yield warehouse


def test_default_as_of_is_the_end_of_the_last_event_day_in_the_project_zone(wh):
    wh.publish("stg_orders", events("ordered_at", dt.datetime(2026, 6, 1, tzinfo=UTC)))
    # the latest event is a ticket at 00:30 on 1 July in Madrid, still 30 June in UTC
    wh.publish("stg_tickets", events("opened_at", dt.datetime(2026, 6, 30, 22, 30, tzinfo=UTC)))
    wh.publish("stg_surveys", events("responded_at"))  # staged but empty
    assert resolve_as_of(wh, project()) == (dt.datetime(2026, 7, 1, 21, 59, 59, 999999, tzinfo=UTC), "events")
    assert resolve_as_of(wh, project("UTC"))[0] == dt.datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=UTC)
    # the config's day wins over the events
    configured = project(as_of=dt.date(2026, 5, 31))
    assert resolve_as_of(wh, configured) == (dt.datetime(2026, 5, 31, 21, 59, 59, 999999, tzinfo=UTC), "config")


def test_without_staged_events_or_a_configured_day_there_is_no_as_of(wh):
    wh.publish("stg_orders", events("ordered_at"))
    with pytest.raises(ValueError, match="no events to take as_of from"):
        resolve_as_of(wh, project())


def test_the_first_step_stores_the_context_and_later_steps_of_the_run_read_it(wh):
    wh.publish("stg_orders", events("ordered_at", dt.datetime(2026, 6, 30, 10, tzinfo=UTC)))
    first = run_context(wh, project(), "run-1", STARTED)
    # more data arrives during the run: a later step of the same run still describes the same moment
    wh.publish("stg_orders", events("ordered_at", dt.datetime(2026, 7, 9, 10, tzinfo=UTC)))
    again = run_context(wh, project(), "run-1", STARTED + dt.timedelta(minutes=5))
    other = run_context(wh, project(), "run-2", STARTED + dt.timedelta(days=1))
    stored = wh.read(TABLE).sort("run_id")
    assert first == again == RunContext("run-1", end_of_day(dt.date(2026, 6, 30), "Europe/Madrid"), STARTED)
    assert other.as_of == end_of_day(dt.date(2026, 7, 9), "Europe/Madrid")
    assert stored["run_id"].to_list() == ["run-1", "run-2"]
    assert stored["as_of"].to_list() == [first.as_of, other.as_of]
    assert stored["started_at"].to_list() == [STARTED, other.now] and set(stored["as_of_from"]) == {"events"}
    assert wh.column_comments(TABLE)["as_of"]
