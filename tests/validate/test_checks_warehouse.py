"""check_table on DuckDB and PostgreSQL: referential integrity, row-count change and the validation_runs log."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxdata.validate.checks import RUNS_TABLE, check_table

NOW = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)


def orders(n: int, keys: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "customer_key": [keys[i % len(keys)] for i in range(n)],
            "ordered_at": pl.datetime_range(
                pl.datetime(2024, 1, 1, time_zone="UTC"),
                pl.datetime(2024, 1, 1, time_zone="UTC"),
                "1d",
                eager=True,
            ).extend_constant(None, 0)[0],
            "amount": [10.0] * n,
            "is_refund": [False] * n,
            "order_number": [1] * n,
        }
    )


def test_an_orphan_customer_key_fails_the_referential_check_and_is_named(wh, config):
    wh.publish(
        "dim_customer", pl.DataFrame({"customer_key": ["k1", "k2"], "journey_stage": ["research", "lapsed"]})
    )
    wh.publish("fct_orders", orders(6, ["k1", "k2", "k_orphan", None]))
    report = check_table(wh, config, "fct_orders", "r1", NOW)
    assert not report.passed("error")
    (failure,) = [f for f in report.failures("error") if f.kind == "in_table"]
    assert failure.column == "customer_key"
    assert failure.samples == ("k_orphan",)
    assert failure.unexpected_count == 1
    assert report.docs_index is not None and report.docs_index.is_file()
    assert report.docs_index.is_relative_to(config.docs_dir)


def test_clean_facts_pass_and_facts_without_reference_checks_skip_it(wh, config):
    wh.publish(
        "dim_customer", pl.DataFrame({"customer_key": ["k1", "k2"], "journey_stage": ["research", "lapsed"]})
    )
    wh.publish("fct_orders", orders(4, ["k1", "k2", None]))
    assert check_table(wh, config, "fct_orders", "r1", NOW).passed("error")
    wh.publish("fct_orders", orders(4, ["k9"]))
    assert check_table(wh, config, "fct_orders", "r2", NOW, referential=False).passed("error")


def test_row_count_change_warns_on_the_second_run_and_runs_are_logged(wh, config):
    stg = pl.DataFrame({"order_id": [f"o{i}" for i in range(100)], "amount": [1.0] * 100})
    wh.publish("stg_orders", stg)
    first = check_table(wh, config, "stg_orders", "run-1", NOW)
    assert first.passed("warn") and first.change is None and first.rows == 100
    wh.publish("stg_orders", stg.head(50))
    second = check_table(wh, config, "stg_orders", "run-2", NOW + dt.timedelta(days=1))
    assert second.passed("error")
    assert second.previous_rows == 100 and second.change == pytest.approx(-0.5)
    (drift,) = second.failures("warn")
    assert drift.kind == "row_count_between" and drift.observed == "50"
    runs = wh.read(RUNS_TABLE).sort("checked_at")
    assert runs.select("run_id", "table_name", "rows", "errors_failed", "warnings_failed").rows() == [
        ("run-1", "stg_orders", 100, 0, 0),
        ("run-2", "stg_orders", 50, 0, 1),
    ]
    assert runs["checked_at"].to_list() == [NOW, NOW + dt.timedelta(days=1)]  # each run's start
    assert wh.column_comments(RUNS_TABLE)["warnings_failed"]
