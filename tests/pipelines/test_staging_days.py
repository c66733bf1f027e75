"""The staging assets restage only the event days whose files are new or changed; a full refresh loads whole;
a run of a range of daily partitions (a backfill) restages the days of that range, late ones included."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from cxdata.config import load_config
from cxdata.synth import SynthParams, generate_project
from cxdata.synth.days import deliver, hold_back_days
from cxdata.warehouse import Warehouse
from pipelines.definitions import build_definitions
from pipelines.phases import BUILD_JOB, STAGING_JOB, range_tags, run_phases
from pipelines.run import RUN_TAG
from pipelines.staging import FULL_REFRESH_TAG

EVENT_TABLES = ["orders", "tickets", "surveys", "web_events", "touches"]


def stage(config, tags: dict[str, str] | None = None) -> str:
    """A cxdata run's staging (phase 1 and the snapshot sources of phase 2); its run id."""
    defs = build_definitions(config)
    snapshots = [key for key in defs.resolve_job_def(BUILD_JOB).asset_layer.executable_asset_keys]
    snapshots = [key for key in snapshots if key.to_user_string().startswith("stg_")]
    with dg.DagsterInstance.ephemeral() as instance:
        results = run_phases(defs, config, instance, tags, build=snapshots)
    assert set(results) == {STAGING_JOB, BUILD_JOB} and all(r.success for r in results.values())
    (run_id,) = {r.dagster_run.tags[RUN_TAG] for r in results.values()}
    assert results[STAGING_JOB].run_id == run_id  # the first phase's id is the cxdata run's
    return run_id


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
    latest = audit.filter(pl.col("run_id") == second)
    events = latest.filter(pl.col("table_name").is_in(EVENT_TABLES))
    # the event tables with rows that day restaged it, the others nothing, the snapshots were loaded whole
    arrived = {file.destination.parent.name.removesuffix("_files") for file in held[day]}
    assert events.height == len(EVENT_TABLES) and "orders" in arrived
    got = events.filter(pl.col("table_name").is_in(arrived))
    assert set(got["first_day"]) == {day} and set(got["last_day"]) == {day}
    assert set(events.filter(~pl.col("table_name").is_in(arrived))["days_restated"]) <= {0}
    assert latest.filter(~pl.col("table_name").is_in(EVENT_TABLES))["days_restated"].null_count() == 2
    assert audit.filter(pl.col("run_id") == first)["days_restated"].null_count() == len(config.sources)
    third = stage(config, tags={FULL_REFRESH_TAG: "true"})
    whole, audit = state(config)
    assert audit.filter(pl.col("run_id") == third)["days_restated"].null_count() == len(config.sources)
    for name, frame in whole.items():
        assert after_day[name].equals(frame), name


ORDERS = "order_id,customer_ref,ordered_at,amount\n"


def test_a_backfill_restages_the_days_of_its_range_late_ones_included(tmp_path, warehouse_target):
    url, schema = warehouse_target
    (tmp_path / "orders").mkdir()
    days = ["2024-01-01", "2024-01-10", "2024-02-01", "2024-02-20"]
    rows = "".join(f"{n},c{n},{day},{n}\n" for n, day in enumerate(days, 1))
    (tmp_path / "orders" / "a.csv").write_text(ORDERS + rows, encoding="utf-8")
    schema_line = f"warehouse_schema: {schema}\n" if schema else ""
    (tmp_path / "cxdata.yaml").write_text(
        f"name: b\nwarehouse: {url}\n{schema_line}incremental: {{start_date: 2024-01-01, lookback_days: 3}}\n"
        "sources:\n  orders: {path: orders}\n",
        encoding="utf-8",
    )
    config = load_config(tmp_path / "cxdata.yaml")
    defs = build_definitions(config)
    job = defs.resolve_job_def(STAGING_JOB)

    def staged(run_id: str) -> tuple[pl.DataFrame, dict]:
        with Warehouse(url, schema=schema) as wh:
            audit = wh.read("load_audit", where={"run_id": run_id}).row(0, named=True)
            return wh.read("stg_orders"), audit

    with dg.DagsterInstance.ephemeral() as instance:
        run_phases(defs, config, instance, build=[])
        # a day before the first partition, a day before the lookback and one inside it arrive
        late = "".join(
            f"{n},c{n},{day},{n}\n" for n, day in [(5, "2023-12-25"), (6, "2024-01-10"), (7, "2024-02-19")]
        )
        (tmp_path / "orders" / "b.csv").write_text(ORDERS + late, encoding="utf-8")
        daily = run_phases(defs, config, instance, build=[])[STAGING_JOB]
        rows, audit = staged(daily.run_id)
        assert set(rows["order_id"]) == {"1", "2", "3", "4", "7"}
        # the late days hold three rows: the one before the first partition and both of 2024-01-10
        assert (audit["first_day"], audit["last_day"], audit["rows_late"]) == (
            dt.date(2024, 2, 19), dt.date(2024, 2, 19), 3
        )  # fmt: skip
        # a backfill of the first partition up to 2024-01-10: the first partition holds the days before it too
        backfill = job.execute_in_process(
            instance=instance, tags=range_tags(config, dt.date(2024, 1, 1), dt.date(2024, 1, 10))
        )
        rows, audit = staged(backfill.run_id)
        assert set(rows["order_id"]) == {"1", "2", "3", "4", "5", "6", "7"}
        assert (audit["first_day"], audit["last_day"], audit["days_restated"], audit["rows_late"]) == (
            dt.date(2023, 12, 25), dt.date(2024, 1, 10), 3, 0
        )  # fmt: skip
        done = instance.get_materialized_partitions(dg.AssetKey("stg_orders"))
    # Dagster recorded each partition of the ranges: the backfill's ten days and the daily run's one
    assert {f"2024-01-{d:02d}" for d in range(1, 11)} | {"2024-02-19"} <= done
    assert "2024-01-11" not in done and "2024-02-01" not in done
