"""stage_step on DuckDB and PostgreSQL: staged, quarantine and load_audit tables, thresholds, nothing lost."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from cxdata.config import load_config
from cxdata.errors import QuarantineError
from cxdata.io.step import stage_step
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse

NOW = dt.datetime.now(dt.UTC)  # the runs' start: rows after it (plus the tolerance) are in the future
LATER = NOW + dt.timedelta(minutes=1)


def orders_project(folder: Path, good: int, bad: list[str], limit: float = 0.05):
    rows = [f"o{i},2024-01-{1 + i % 28:02d},{i}.5" for i in range(good)]
    (folder / "orders.csv").write_text(
        "order_id,ordered_at,amount\n" + "\n".join(rows + bad) + "\n", encoding="utf-8"
    )
    (folder / "cxdata.yaml").write_text(
        f"name: q\nvalidation: {{max_quarantine_share: {limit}}}\nsources:\n  orders: {{path: orders.csv}}\n",
        encoding="utf-8",
    )
    return load_config(folder / "cxdata.yaml", environ={})


def test_stage_step_publishes_staged_quarantine_and_appends_the_audit(warehouse_target, tmp_path):
    url, db_schema = warehouse_target
    config = orders_project(tmp_path, 30, ["o99,2024-02-01,lots"])
    with Warehouse(url, schema=db_schema) as wh:
        first = stage_step(wh, config, "orders", "run-1", NOW)
        stage_step(wh, config, "orders", "run-2", LATER)
        staged, held, audit = (
            wh.read("stg_orders"),
            wh.read("quarantine_orders"),
            wh.read("load_audit").sort("loaded_at"),
        )
        comments = wh.column_comments("quarantine_orders") | wh.column_comments("load_audit")
        table_comment = wh.table_comment("load_audit")
    assert staged.height == 30 and held.height == 1
    row = held.row(0, named=True)
    assert (row["rule"], row["failed_column"], row["failed_value"], row["record"]) == (
        "unparseable",
        "amount",
        "lots",
        31,
    )
    assert json.loads(row["original"]) == {"order_id": "o99", "ordered_at": "2024-02-01", "amount": "lots"}
    assert audit["run_id"].to_list() == ["run-1", "run-2"]
    assert audit["loaded_at"].to_list() == [NOW, LATER]  # each load is stamped with its run's start
    assert (audit["rows_in"] == audit["rows_accepted"] + audit["rows_quarantined"]).all()
    assert audit["rows_quarantined"].to_list() == [1, 1]
    assert audit["passed"].to_list() == [True, True]
    assert json.loads(audit["quarantined_by_rule"][0]) == {"unparseable": 1}
    assert audit["threshold"].to_list() == [0.05, 0.05]
    assert first.staged.facts["rows_quarantined"] == 1 and first.staged.facts["rows_in"] == 31
    assert "The first rule the row fails" in (comments["rule"] or "") and comments["rows_in"]
    assert table_comment and "Appended on every run" in table_comment


def test_a_clean_load_replaces_the_quarantine_with_an_empty_table(warehouse_target, tmp_path):
    url, db_schema = warehouse_target
    with Warehouse(url, schema=db_schema) as wh:
        stage_step(wh, orders_project(tmp_path, 30, ["o1,2024-02-01,2"]), "orders", "dirty", NOW)
        assert wh.row_count("quarantine_orders") == 1
        stage_step(wh, orders_project(tmp_path, 30, []), "orders", "clean", LATER)
        assert wh.row_count("quarantine_orders") == 0
        assert set(wh.columns("quarantine_orders")) >= {
            "rule",
            "rules",
            "failed_column",
            "failed_value",
            "record",
            "original",
        }
        assert wh.read("load_audit").sort("loaded_at")["rows_quarantined"].to_list() == [1, 0]


def test_over_the_limit_publishes_everything_then_stops(warehouse_target, tmp_path):
    url, db_schema = warehouse_target
    config = orders_project(tmp_path, 3, ["x1,2024-02-01,-1", "x2,2999-01-01,1"], limit=0.2)
    with Warehouse(url, schema=db_schema) as wh:
        with pytest.raises(QuarantineError) as info:
            stage_step(wh, config, "orders", "stop", NOW)
        held, audit = wh.read("quarantine_orders"), wh.read("load_audit")
        assert wh.row_count("stg_orders") == 3
    message = str(info.value)
    assert "2 of 5 row(s) (40.0%)" in message and "limit of 20.0%" in message
    assert "negative_amount 1, future_time 1" in message
    assert "'-1' in column 'amount' (record 4 of orders.csv)" in message
    assert held["rule"].to_list() == ["negative_amount", "future_time"]
    assert audit.select("run_id", "passed").rows() == [("stop", False)]
    assert info.value.report.quarantine.rows == 2


def test_a_synthetic_project_stages_without_quarantine(tmp_path):
    project = generate_project(tmp_path / "p", SynthParams(customers=150, seed=5))
    config = load_config(project.config_path)
    with Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}") as wh:
        reports = {table: stage_step(wh, config, table, "synth", NOW) for table in config.sources}
        audit = wh.read("load_audit")
    assert {t: r.audit["rows_quarantined"] for t, r in reports.items()} == {t: 0 for t in config.sources}
    assert {t: r.audit["rows_in"] for t, r in reports.items()} == project.row_counts
    assert sorted(audit["table_name"]) == sorted(config.sources)
