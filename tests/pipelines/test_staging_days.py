"""The staging assets restage only the event days whose files are new or changed; a full refresh loads whole."""

from __future__ import annotations

import dagster as dg
import polars as pl

from cxdata.config import load_config
from cxdata.synth import SynthParams, generate_project
from cxdata.synth.days import deliver, hold_back_days
from cxdata.warehouse import Warehouse
from pipelines.definitions import build_definitions
from pipelines.staging import FULL_REFRESH_TAG

EVENT_TABLES = ["orders", "tickets", "surveys", "web_events", "touches"]


def stage(config, tags: dict[str, str] | None = None) -> dg.ExecuteInProcessResult:
    defs = build_definitions(config)
    staging = [a for a in defs.assets if len(a.keys) == 1 and a.key.to_user_string().startswith("stg_")]
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(staging, resources=defs.resources, instance=instance, tags=tags)


def state(config) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    with Warehouse(config.warehouse) as wh:
        tables = {}
        for table in EVENT_TABLES:
            for name in (f"stg_{table}", f"quarantine_{table}"):
                frame = wh.read(name).drop("_loaded_at")
                tables[name] = frame.sort(frame.columns, nulls_last=True)
        return tables, wh.read("load_audit")


def test_a_new_day_restages_only_that_day_and_equals_a_full_refresh(tmp_path):
    project = generate_project(tmp_path / "p", SynthParams(customers=150, seed=5))
    held = hold_back_days(project.config_path, days=1)
    (day,) = held
    config = load_config(project.config_path)
    first = stage(config)
    deliver(held[day])
    second = stage(config)
    after_day, audit = state(config)
    latest = audit.filter(pl.col("run_id") == second.run_id)
    events = latest.filter(pl.col("table_name").is_in(EVENT_TABLES))
    # the event tables with rows that day restaged it, the others nothing, the snapshots were loaded whole
    arrived = {file.destination.parent.name.removesuffix("_files") for file in held[day]}
    assert events.height == len(EVENT_TABLES) and "orders" in arrived
    got = events.filter(pl.col("table_name").is_in(arrived))
    assert set(got["first_day"]) == {day} and set(got["last_day"]) == {day}
    assert set(events.filter(~pl.col("table_name").is_in(arrived))["days_restated"]) <= {0}
    assert latest.filter(~pl.col("table_name").is_in(EVENT_TABLES))["days_restated"].null_count() == 2
    assert audit.filter(pl.col("run_id") == first.run_id)["days_restated"].null_count() == len(config.sources)
    third = stage(config, tags={FULL_REFRESH_TAG: "true"})
    whole, audit = state(config)
    assert audit.filter(pl.col("run_id") == third.run_id)["days_restated"].null_count() == len(config.sources)
    for name, frame in whole.items():
        assert after_day[name].equals(frame), name
