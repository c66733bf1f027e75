"""Ingest onto the contract: mapping, formats, time zones, extras kept; bad values quarantined, never lost."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import polars as pl
import pytest

from cxdata import schema
from cxdata.config import ProjectConfig, load_config
from cxdata.errors import IngestError, QuarantineError
from cxdata.io import LOADED_AT_COLUMN, SOURCE_COLUMN, load_table, stage_table

UTC = dt.UTC


def project(tmp_path: Path, sources: str, timezone: str = "UTC") -> ProjectConfig:
    path = tmp_path / "cxdata.yaml"
    body = textwrap.indent(textwrap.dedent(sources).strip(), "  ")
    path.write_text(f"name: t\ntimezone: {timezone}\nsources:\n{body}\n", encoding="utf-8")
    (tmp_path / "data").mkdir(exist_ok=True)
    return load_config(path, environ={})


def write_csv(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def orders_config(tmp_path: Path, timezone: str = "Europe/Madrid", fmt: str = "%d/%m/%Y %H:%M") -> ProjectConfig:
    return project(
        tmp_path,
        f"""
        orders:
          path: data/orders.csv
          columns: {{order_id: order_no, customer_ref: cust, ordered_at: date, amount: value}}
          formats: {{ordered_at: "{fmt}"}}
        """,
        timezone,
    )


def test_mapping_types_timezone_and_extras(tmp_path):
    write_csv(
        tmp_path,
        "orders.csv",
        """
        order_no,cust,date,value,store_id,coupon
        A1,c1,15/01/2024 10:00,10.50,s1,
        A2,c2,15/07/2024 10:00, 7 ,s2,SUMMER
        """,
    )
    frame = load_table(orders_config(tmp_path), "orders")
    contract = schema.table("orders")
    assert frame.columns[: len(contract.columns)] == contract.column_names
    extras = ["store_id", "coupon", SOURCE_COLUMN, LOADED_AT_COLUMN, "partition_day"]
    assert frame.columns[len(contract.columns) :] == extras
    assert frame.schema["ordered_at"] == pl.Datetime("us", "UTC")
    assert frame.schema["amount"] == pl.Float64
    # Madrid is UTC+1 in January and UTC+2 in July: naive local times must shift by the right offset.
    assert frame["ordered_at"].to_list() == [
        dt.datetime(2024, 1, 15, 9, 0, tzinfo=UTC),
        dt.datetime(2024, 7, 15, 8, 0, tzinfo=UTC),
    ]
    assert frame["amount"].to_list() == [10.5, 7.0]
    assert frame["coupon"].to_list() == [None, "SUMMER"]
    assert frame["email"].null_count() == 2  # optional canonical column absent from the source: typed nulls
    assert frame[SOURCE_COLUMN].unique().to_list() == ["data/orders.csv"]


def test_iso_timestamps_with_offsets_and_without_format(tmp_path):
    write_csv(
        tmp_path,
        "tickets.csv",
        """
        ticket_id,opened_at,first_response_at,channel
        t1,2024-03-01T10:00:00Z,2024-03-01 12:30:00.250+02:00,chat
        t2,2024-03-01 10:00,,phone
        t3,2024-03-02,2024-03-02T09:15:00,email
        """,
    )
    frame = load_table(project(tmp_path, "tickets: {path: data/tickets.csv}", "America/New_York"), "tickets")
    assert frame["opened_at"].to_list() == [
        dt.datetime(2024, 3, 1, 10, 0, tzinfo=UTC),
        dt.datetime(2024, 3, 1, 15, 0, tzinfo=UTC),  # naive, read in New York (UTC-5 in March before DST)
        dt.datetime(2024, 3, 2, 5, 0, tzinfo=UTC),
    ]
    assert frame["first_response_at"].to_list() == [
        dt.datetime(2024, 3, 1, 10, 30, 0, 250000, tzinfo=UTC),
        None,
        dt.datetime(2024, 3, 2, 14, 15, tzinfo=UTC),
    ]


def test_parquet_folder_with_native_types_and_mixed_files(tmp_path):
    folder = tmp_path / "data" / "web"
    folder.mkdir(parents=True, exist_ok=True)
    base = {
        "id": ["e1", "e2"],
        "anon": ["a1", "a2"],
        "ts": [dt.datetime(2024, 5, 1, 12), dt.datetime(2024, 5, 2, 12)],
        "event_type": ["page_view", "login"],
    }
    pl.DataFrame(base).write_parquet(folder / "part-1.parquet")
    later = pl.DataFrame({**base, "id": ["e3", "e4"], "browser": ["firefox", "safari"]}).with_columns(
        pl.col("ts").dt.replace_time_zone("UTC")
    )
    later.write_parquet(folder / "part-2.parquet")
    config = project(
        tmp_path,
        """
        web_events:
          path: data/web
          columns: {event_id: id, anonymous_id: anon, occurred_at: ts}
        """,
        "Asia/Tokyo",
    )
    frame = load_table(config, "web_events")
    assert frame.height == 4
    assert frame["browser"].to_list() == [None, None, "firefox", "safari"]
    # Naive parquet timestamps are Tokyo wall-clock (UTC+9); aware ones are converted, not re-read.
    assert frame["occurred_at"].to_list()[0] == dt.datetime(2024, 5, 1, 3, tzinfo=UTC)
    assert frame["occurred_at"].to_list()[2] == dt.datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert sorted(frame[SOURCE_COLUMN].unique().to_list()) == [
        "data/web/part-1.parquet",
        "data/web/part-2.parquet",
    ]


def test_glob_source_and_costs_dates(tmp_path):
    write_csv(tmp_path, "costs_2024.csv", "month,channel,cost\n2024-01-01,email,100\n")
    write_csv(tmp_path, "costs_2025.csv", "month,channel,cost\n01.02.2025,social,250.5\n")
    config = project(
        tmp_path,
        """
        touchpoint_costs:
          path: data/costs_*.csv
          columns: {period_start: month}
        """,
    )
    staged = stage_table(config, "touchpoint_costs")
    assert staged.accepted["period_start"].to_list() == [dt.date(2024, 1, 1)]
    bad = staged.quarantined.row(0, named=True)
    assert (bad["rule"], bad["failed_column"], bad["failed_value"]) == (
        "unparseable",
        "period_start",
        "01.02.2025",
    )
    assert (bad["_source"], bad["record"]) == ("data/costs_2025.csv", 1)
    with pytest.raises(QuarantineError) as info:
        load_table(config, "touchpoint_costs")
    message = str(info.value)
    assert "source 'touchpoint_costs' (data/costs_*.csv)" in message
    assert "'01.02.2025' in column 'period_start' (record 1 of data/costs_2025.csv)" in message


def test_unparseable_amount_is_quarantined_with_its_source_values(tmp_path):
    write_csv(
        tmp_path,
        "orders.csv",
        """
        order_no,cust,date,value
        A1,c1,15/01/2024 10:00,10.50
        A2,c2,16/01/2024 10:00,"1,234.00"
        A3,c3,17/01/2024 10:00,twelve
        A4,c4,18/01/2024 10:00,
        """,
    )
    staged = stage_table(orders_config(tmp_path), "orders")
    assert staged.accepted["order_id"].to_list() == ["A1"]
    bad = staged.quarantined
    assert bad["record"].to_list() == [2, 3, 4]
    assert bad["rule"].to_list() == ["unparseable", "unparseable", "required_missing"]
    assert bad["failed_column"].to_list() == ["amount"] * 3
    assert bad["failed_value"].to_list() == ["1,234.00", "twelve", None]
    assert json.loads(bad["original"][1]) == {
        "order_no": "A3",
        "cust": "c3",
        "date": "17/01/2024 10:00",
        "value": "twelve",
    }
    assert staged.audit["rows_in"] == 4 and staged.audit["rows_quarantined"] == 3
    assert json.loads(staged.audit["quarantined_by_rule"]) == {"required_missing": 1, "unparseable": 2}
    with pytest.raises(QuarantineError) as info:
        load_table(orders_config(tmp_path), "orders")
    message = str(info.value)
    assert "source 'orders' (data/orders.csv): 3 of 4 row(s) (75.0%)" in message
    assert "'twelve' in column 'amount' (record 3 of data/orders.csv)" in message
    assert "an empty value in column 'amount' (record 4 of data/orders.csv)" in message


def test_wrong_format_and_dst_gap_are_quarantined_not_nulls(tmp_path):
    write_csv(
        tmp_path,
        "orders.csv",
        """
        order_no,cust,date,value
        A1,c1,2024-01-15 10:00,1
        A2,c2,31/03/2024 02:30,1
        A3,c3,31/03/2024 03:30,1
        """,
    )
    staged = stage_table(orders_config(tmp_path), "orders")
    assert staged.accepted["ordered_at"].to_list() == [dt.datetime(2024, 3, 31, 1, 30, tzinfo=UTC)]
    assert staged.quarantined["failed_value"].to_list() == ["2024-01-15 10:00", "31/03/2024 02:30"]
    assert set(staged.quarantined["rule"]) == {"unparseable"}


def test_missing_required_column_lists_what_the_source_has(tmp_path):
    write_csv(tmp_path, "orders.csv", "order_no,cust,value\nA1,c1,3\n")
    with pytest.raises(IngestError) as info:
        load_table(orders_config(tmp_path), "orders")
    message = str(info.value)
    assert "missing column(s) 'ordered_at' (source column 'date')" in message
    assert "'order_no', 'cust', 'value'" in message
    assert "sources.orders.columns" in message


def test_mapped_optional_column_that_is_absent_is_an_error(tmp_path):
    write_csv(tmp_path, "orders.csv", "order_id,ordered_at,amount\nA1,2024-01-01,3\n")
    config = project(tmp_path, "orders: {path: data/orders.csv, columns: {email: mail}}")
    with pytest.raises(IngestError, match=r"'email' \(source column 'mail'\)"):
        load_table(config, "orders")


def test_unmapped_column_with_a_canonical_name_is_kept_under_a_new_name(tmp_path):
    write_csv(tmp_path, "orders.csv", "order_id,ordered_at,amount,email,email_clean\nA1,2024-01-01,3,RAW,x@y.z\n")
    config = project(tmp_path, "orders: {path: data/orders.csv, columns: {email: email_clean}}")
    frame = load_table(config, "orders")
    assert frame["email"].to_list() == ["x@y.z"]
    assert frame["source_email"].to_list() == ["RAW"]


def test_latin1_csv_with_semicolons(tmp_path):
    (tmp_path / "data").mkdir(exist_ok=True)
    text = "customer_ref;first_name;last_name\nc1;José;Müller\n"
    (tmp_path / "data" / "crm.csv").write_bytes(text.encode("latin-1"))
    config = project(tmp_path, "customers: {path: data/crm.csv, csv: {separator: ';', encoding: latin-1}}")
    frame = load_table(config, "customers")
    assert frame.select("first_name", "last_name").row(0) == ("José", "Müller")


def test_missing_file_and_empty_folder_are_clear(tmp_path):
    config = project(tmp_path, "orders: {path: data/none.csv}")
    with pytest.raises(IngestError, match=r"source 'orders' \(data/none.csv\): file .* does not exist"):
        load_table(config, "orders")
    (tmp_path / "data" / "empty").mkdir()
    config = project(tmp_path, "orders: {path: data/empty}")
    with pytest.raises(IngestError, match=r"holds no \.csv or \.parquet files"):
        load_table(config, "orders")


def test_input_frame_is_not_mutated_and_rows_are_never_dropped(tmp_path):
    rows = "\n".join(f"o{i},c{i % 7},2024-01-{1 + i % 28:02d} 10:00,{i}.5" for i in range(500))
    write_csv(tmp_path, "orders.csv", "order_id,customer_ref,ordered_at,amount\n" + rows + "\n")
    frame = load_table(project(tmp_path, "orders: {path: data/orders.csv}"), "orders")
    assert frame.height == 500
    assert frame["order_id"].n_unique() == 500
    assert frame["amount"].sum() == pytest.approx(sum(i + 0.5 for i in range(500)))


def test_unreadable_files_are_one_clear_error_each(tmp_path):
    config = project(tmp_path, "orders: {path: data/orders.csv}")
    cases = {
        "a row has more fields than the header": b"order_id,ordered_at,amount\n1,2024-01-01,3,4\n",
        "not UTF-8": "order_id,ordered_at,amount,note\n1,2024-01-01,3,José\n".encode("latin-1"),
        "empty": b"",
    }
    for expected, content in cases.items():
        (tmp_path / "data" / "orders.csv").write_bytes(content)
        with pytest.raises(IngestError) as info:
            load_table(config, "orders")
        message = str(info.value)
        assert message.startswith("source 'orders' (data/orders.csv): "), message
        assert expected in message, message
