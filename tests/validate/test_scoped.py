"""Checks of the rows a run rewrote (`cxdata.validate.scoped` through `check_table(rewritten=)`), on DuckDB and
PostgreSQL: a broken rewritten row fails, a broken row the run did not rewrite waits for the whole check, a
rewritten row repeating an old row's key fails, row counts are the whole table's, distributions are skipped
with the reason, and a whole check comes back on the models' cadence."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.validate.checks import RUNS_TABLE, check_table

NOW = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
DAY = "partition_day"


def staged(days: dict[dt.date | None, list[tuple[str, float | None]]]) -> pl.DataFrame:
    """stg_orders rows (order_id, amount) per partition day."""
    rows = [(day, order, amount) for day, orders in days.items() for order, amount in orders]
    return pl.DataFrame(
        {
            DAY: [day for day, _, _ in rows],
            "order_id": [order for _, order, _ in rows],
            "ordered_at": [dt.datetime(2026, 3, 1, tzinfo=dt.UTC)] * len(rows),
            "amount": [amount for _, _, amount in rows],
        },
        schema_overrides={DAY: pl.Date(), "amount": pl.Float64()},
    )


D1, D2, D3 = dt.date(2026, 3, 7), dt.date(2026, 3, 8), dt.date(2026, 3, 9)
CLEAN = {D1: [("o1", 5.0), ("o2", 6.0)], D2: [("o3", 7.0)], None: [("o0", 1.0)]}


def days(*values: dt.date | None) -> pl.DataFrame:
    return pl.DataFrame({DAY: list(values)}, schema={DAY: pl.Date()})


def test_a_broken_rewritten_row_fails_and_a_broken_old_row_waits_for_the_whole_check(wh, config):
    wh.publish("stg_orders", staged({**CLEAN, D3: [("o4", 8.0)]}))
    assert check_table(wh, config, "stg_orders", "r1", NOW).scope == "whole"
    # day 1 breaks (not rewritten), day 3 is rewritten with a null amount
    wh.publish("stg_orders", staged({**CLEAN, D1: [("o1", None), ("o2", 6.0)], D3: [("o4", None), ("o5", 2.0)]}))
    report = check_table(wh, config, "stg_orders", "r2", NOW + dt.timedelta(days=1), rewritten=days(D3, None))
    assert report.scope == "rows" and report.rows_checked == 3  # o4, o5 and the row without a day
    assert report.rows == 6  # the table's, not the rows read
    (null,) = [f for f in report.failures("error") if f.kind == "not_null"]
    assert null.column == "amount" and null.unexpected_count == 1  # o4 alone: o1 was not rewritten
    assert any("median amount" in s and "next whole check" in s for s in report.skipped)
    # a week after the whole check, the same call checks every row and finds o1 too
    later = check_table(
        wh,
        config,
        "stg_orders",
        "r3",
        NOW + dt.timedelta(days=config.models.refit_every_days),
        rewritten=days(D3, None),
    )
    assert later.scope == "whole" and later.rows_checked == 6
    (null,) = [f for f in later.failures("error") if f.kind == "not_null"]
    assert null.unexpected_count == 2
    logged = wh.read(RUNS_TABLE).sort("run_id")
    assert logged.select("run_id", "scope", "rows_checked").rows() == [
        ("r1", "whole", 5), ("r2", "rows", 3), ("r3", "whole", 6),
    ]  # fmt: skip


def test_a_rewritten_row_repeating_an_old_rows_key_fails_the_key_rule(wh, config):
    wh.publish("stg_orders", staged(CLEAN))
    check_table(wh, config, "stg_orders", "r1", NOW)
    wh.publish("stg_orders", staged({**CLEAN, D3: [("o1", 3.0), ("o9", 4.0)]}))  # o1 is on day 1 already
    report = check_table(wh, config, "stg_orders", "r2", NOW, rewritten=days(D3))
    assert report.scope == "rows" and report.rows_checked == 2
    (repeated,) = [f for f in report.failures("error") if f.kind == "unique"]
    assert repeated.column == "order_id" and repeated.unexpected_count == 2 and repeated.samples == ("o1",)


def test_row_counts_are_the_whole_tables_and_clean_rewrites_pass(wh, config):
    wh.publish("stg_orders", staged(CLEAN))
    check_table(wh, config, "stg_orders", "r1", NOW)
    grown = {**CLEAN, D3: [(f"n{i}", 1.0) for i in range(8)]}  # 4 rows become 12: +200 %, over the 40 % warning
    wh.publish("stg_orders", staged(grown))
    report = check_table(wh, config, "stg_orders", "r2", NOW + dt.timedelta(minutes=30), rewritten=days(D3))
    assert report.scope == "rows" and report.passed("error")
    (change,) = report.failures("warn")
    assert change.kind == "row_count_between" and change.observed == "12"
    # a rewrite that changed nothing is a check of no rows that passes
    hour = NOW + dt.timedelta(hours=1)  # a later run: the count is compared with r2's
    empty = check_table(wh, config, "stg_orders", "r3", hour, rewritten=days(dt.date(2026, 1, 1)))
    assert empty.scope == "rows" and empty.rows_checked == 0 and empty.passed("error") and empty.passed("warn")


def test_a_fact_checks_the_rewritten_records_against_dim_customer(wh, config):
    wh.publish("dim_customer", pl.DataFrame({"customer_key": ["k1", "k2"]}))
    facts = pl.DataFrame(
        {
            "order_id": ["a", "b", "c"],
            "customer_key": ["k1", "k_gone", "k_orphan"],
            "ordered_at": [dt.datetime(2026, 3, 1, tzinfo=dt.UTC)] * 3,
            "amount": [1.0, 2.0, 3.0],
            "is_refund": [False] * 3,
            "order_number": [1, 1, 1],
        }
    )
    wh.publish("fct_orders", facts)
    check_table(wh, config, "fct_orders", "r0", NOW, referential=True)
    report = check_table(wh, config, "fct_orders", "r1", NOW, rewritten=pl.DataFrame({"order_id": ["a", "c"]}))
    (orphan,) = [f for f in report.failures("error") if f.kind == "in_table"]
    assert orphan.samples == ("k_orphan",) and orphan.unexpected_count == 1  # k_gone was not rewritten


def test_a_fact_key_repeated_among_its_rewritten_records_fails_and_one_not_rewritten_waits(wh, config):
    # checked by the key the rows were read by: the rows read already hold every row sharing that key
    wh.publish("dim_customer", pl.DataFrame({"customer_key": ["k1"]}))
    ids = ["a", "b", "b", "c", "c"]
    facts = pl.DataFrame(
        {
            "order_id": ids,
            "customer_key": ["k1"] * 5,
            "ordered_at": [dt.datetime(2026, 3, 1, tzinfo=dt.UTC)] * 5,
            "amount": [1.0] * 5,
            "is_refund": [False] * 5,
            "order_number": [1] * 5,
        }
    )
    wh.publish("fct_orders", facts)
    check_table(wh, config, "fct_orders", "r0", NOW)
    report = check_table(wh, config, "fct_orders", "r1", NOW, rewritten=pl.DataFrame({"order_id": ["a", "c"]}))
    assert report.scope == "rows" and report.rows_checked == 3
    (repeated,) = [f for f in report.failures("error") if f.kind == "unique"]
    assert repeated.unexpected_count == 2 and repeated.samples == ("c",)  # b was not rewritten
