"""Declarative automation over a generated project: observation of the source files, staging of the changed
days inside the lookback, the build after it, and the staging freshness check."""

import datetime as dt
import itertools
import os
import time
import warnings
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from cxdata.config import load_config
from cxdata.synth import SynthParams, generate_project
from cxdata.synth.days import deliver, hold_back_days
from pipelines.automation import due_day
from pipelines.definitions import build_definitions
from pipelines.phases import FRESHNESS_CHECK, STAGING_JOB, range_tags, run_phases

# one worker builds the module's project once for both tests
pytestmark = pytest.mark.xdist_group("automation_conditions")

EVENTS = ("orders", "tickets", "surveys", "touches", "web_events")
STAGING = {dg.AssetKey(f"stg_{t}") for t in EVENTS}
RAW = {dg.AssetKey(f"raw_{t}") for t in (*EVENTS, "customers", "touchpoint_costs")}
BUILD = {dg.AssetKey(name) for name in ("customer_identity", "fct_orders", "dim_customer", "cx_report")}


_MOMENTS = itertools.count(int(time.time()) - 3600)


def arrive(files) -> None:
    """Deliver held-back files, each with an mtime past the observation's settling time."""
    deliver(files)
    settle(*(file.destination for file in files))


def settle(*paths) -> None:
    moment = next(_MOMENTS)
    for path in paths:
        os.utime(path, (moment, moment))


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A project whose last 40 days were held back; all of them but the 6th and the last delivered and
    staged (the staging phase only), on an ephemeral instance."""
    project = generate_project(tmp_path_factory.mktemp("auto"), SynthParams(customers=80, seed=11))
    held = hold_back_days(project.config_path, days=40)
    settle(*(path for path in (project.config_path.parent / "data").rglob("*") if path.is_file()))
    days = sorted(held)
    for day in days[:-1]:
        if day != days[5]:
            arrive(held[day])
    config = load_config(project.config_path)
    defs = build_definitions(config)
    with warnings.catch_warnings(), dg.DagsterInstance.ephemeral() as instance:
        warnings.simplefilter("ignore")
        staged = run_phases(defs, config, instance, build=[])
        assert all(result.success for result in staged.values())
        yield config, defs, instance, held, days


class Ticks:
    """Evaluations of the automation conditions in a row, each a given number of minutes after the first,
    the cursor carried over."""

    def __init__(self, defs, instance, start: dt.datetime):
        self.defs, self.instance, self.start, self.cursor = defs, instance, start, None

    def at(self, minutes: float) -> dg.EvaluateAutomationConditionsResult:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = dg.evaluate_automation_conditions(
                self.defs,
                self.instance,
                evaluation_time=self.start + dt.timedelta(minutes=minutes),
                cursor=self.cursor,
            )
        self.cursor = result.cursor
        return result


def requested(result, keys) -> dict[str, set]:
    return {
        key.to_user_string(): result.get_requested_partitions(key) for key in keys if result.get_num_requested(key)
    }


def observe(defs, instance, partition: str) -> None:
    """What the observation runs the conditions asked for do: observe every raw source."""
    job = defs.resolve_implicit_global_asset_job_def()
    daily = [key for key in RAW if defs.resolve_assets_def(key).partitions_def is not None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for keys, partition_key in ((daily, partition), (sorted(RAW - set(daily)), None)):
            result = job.execute_in_process(instance=instance, asset_selection=keys, partition_key=partition_key)
            assert result.success


def stage(defs, config, instance, days: set[str]) -> None:
    first, last = (dt.date.fromisoformat(day) for day in (min(days), max(days)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = defs.resolve_job_def(STAGING_JOB).execute_in_process(
            instance=instance, tags=range_tags(config, first, last), raise_on_error=False
        )
    assert result.success


def test_changed_days_are_observed_staged_inside_the_lookback_and_built_once(history):
    config, defs, instance, held, days = history
    latest, inside, outside = days[-1], days[-3], days[5]
    # evaluated the day after the last day of data, in the project's zone: today is a partition too
    start = dt.datetime.combine(latest + dt.timedelta(days=1), dt.time(10, 2), ZoneInfo(config.timezone))
    today = (latest + dt.timedelta(days=1)).isoformat()
    ticks = Ticks(defs, instance, start)
    assert ticks.at(0).total_requested == 0  # the first evaluation never requests anything

    # a cron tick later: one observation run of the latest partition (and of the snapshots)
    first = ticks.at(5)
    assert requested(first, RAW) == {
        **{f"raw_{t}": {today} for t in EVENTS},
        "raw_customers": {None},
        "raw_touchpoint_costs": {None},
    }
    assert not requested(first, STAGING | BUILD)
    observe(defs, instance, today)
    # every day was staged from the files it has now: the observation reports none, so no day restages; the
    # snapshots' first observation asks for the build from their staging down
    sixth = ticks.at(6)  # no cron tick passed: no new observation
    assert not requested(sixth, STAGING | RAW)
    assert requested(sixth, BUILD) == {key.to_user_string(): {None} for key in BUILD}
    ticks.at(7)

    # new data on the latest day: observed at the next tick, then the staging of that day alone
    arrive(held[latest])
    assert requested(ticks.at(10), RAW)["raw_orders"] == {today}
    observe(defs, instance, today)
    staging = requested(ticks.at(11), STAGING)
    assert staging and all(partitions == {latest.isoformat()} for partitions in staging.values())
    stage(defs, config, instance, {latest.isoformat()})
    third = ticks.at(12)
    assert requested(third, BUILD) == {key.to_user_string(): {None} for key in BUILD}
    assert not requested(third, STAGING)
    assert not requested(ticks.at(13), BUILD | STAGING)  # requested once

    # a changed file of a day inside the lookback restages only that day
    changed = next(file.destination for file in held[inside] if file.destination.suffix == ".csv")
    with changed.open("a", encoding="utf-8") as handle:
        handle.write("\n")  # a blank line: new bytes, the same rows
    settle(changed)
    observe(defs, instance, today)
    table = changed.parent.name.removesuffix("_files")
    assert requested(ticks.at(14), STAGING) == {f"stg_{table}": {inside.isoformat()}}

    stage(defs, config, instance, {inside.isoformat()})
    ticks.at(14.5)

    # a day staged before automation observed its change (as `cxdata run` does) is not staged again
    before = next(file.destination for file in held[days[-2]] if file.destination.suffix == ".csv")
    with before.open("a", encoding="utf-8") as handle:
        handle.write("\n")
    settle(before)
    stage(defs, config, instance, {days[-2].isoformat()})
    ticks.at(14.55)  # the staging's own tick, then the observation's
    observe(defs, instance, today)
    assert not requested(ticks.at(14.6), STAGING)

    # a day outside the lookback, and nothing at all, request nothing
    arrive(held[outside])
    observe(defs, instance, today)
    assert not requested(ticks.at(14.7), STAGING)
    observe(defs, instance, today)
    assert not requested(ticks.at(14.8), STAGING | RAW)


def test_the_staging_freshness_check_runs_at_its_deadline_and_sees_the_due_day(history):
    config, defs, instance, _, _ = history
    zone = ZoneInfo(config.timezone)
    checks = {dg.AssetCheckKey(key, FRESHNESS_CHECK) for key in STAGING}
    ticks = Ticks(defs, instance, dt.datetime(2026, 7, 2, 6, 50, tzinfo=zone))
    ticks.at(0)
    before, after = ticks.at(5), ticks.at(15)  # 06:55, then 07:05: the deadline passed
    fired = {r.key for r in after.results if r.key in checks and r.true_subset.size}
    assert fired == checks and not {r.key for r in before.results if r.key in checks and r.true_subset.size}

    due = due_day(dt.datetime.now(zone)).isoformat()
    fresh = next(c for c in defs.asset_checks if FRESHNESS_CHECK in {k.name for k in c.check_keys})

    def verdict() -> bool:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = dg.materialize(
                [fresh, *(defs.resolve_assets_def(key) for key in STAGING)],
                selection=dg.AssetSelection.checks(dg.AssetCheckKey(dg.AssetKey("stg_orders"), FRESHNESS_CHECK)),
                instance=instance,
            )
        (evaluation,) = result.get_asset_check_evaluations()
        return evaluation.passed

    assert not verdict()  # the day due is not staged
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        defs.resolve_job_def(STAGING_JOB).execute_in_process(
            instance=instance, partition_key=due, asset_selection=[dg.AssetKey("stg_orders")]
        )
    assert verdict()
