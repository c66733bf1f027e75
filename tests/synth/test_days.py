"""Holding back a generated project's last days (cxdata.synth.days): nothing lost, each day in its own file."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.config import load_config
from cxdata.io import stage_table
from cxdata.io.partitions import file_sources
from cxdata.synth import SynthParams, generate_project
from cxdata.synth.days import deliver, hold_back_days

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def staged(config) -> dict[str, pl.DataFrame]:
    """Every source's accepted and quarantined rows, without lineage and in a stable order."""
    found = {}
    for table in config.sources:
        loaded = stage_table(config, table, loaded_at=NOW)
        accepted = loaded.accepted.drop("_source", "_loaded_at", strict=False)
        found[table] = accepted.sort(accepted.columns, nulls_last=True)
        found[f"quarantine_{table}"] = loaded.quarantined.select("rule", "failed_value").sort(
            "rule", "failed_value"
        )
    return found


def test_held_back_days_come_back_as_daily_files_and_nothing_is_lost(tmp_path):
    project = generate_project(tmp_path / "p", SynthParams(customers=150, seed=3))
    config_path = tmp_path / "p" / "cxdata.yaml"
    before = staged(load_config(config_path, environ={}))
    held = hold_back_days(config_path, days=2)
    config = load_config(config_path, environ={})
    history = staged(config)
    days = sorted(held)
    assert len(days) == 2 and days[1] - days[0] == dt.timedelta(days=1)
    event_tables = [t for t in config.sources if file_sources(config, t)]
    assert {"orders", "web_events"} <= set(event_tables)
    # the history holds no row of a held-back day, and fewer rows than the whole project
    for table in event_tables:
        assert history[table].filter(pl.col("partition_day") >= days[0]).is_empty(), table
    assert history["orders"].height < before["orders"].height
    for day in days:
        deliver(held[day])
    after = staged(load_config(config_path, environ={}))
    assert project.row_counts["orders"] > 0
    for name, frame in before.items():
        assert after[name].equals(frame), name
