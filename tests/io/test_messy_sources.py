"""Files as they come, loaded with config only: semicolons, decimal commas, dd/mm dates, a BOM, CRLF line ends,
blank lines, whitespace-aligned columns, no order id; and, where a value cannot be read, the config line that
would read it."""

from __future__ import annotations

import datetime as dt
import importlib.resources
import json
import shutil
import textwrap
from pathlib import Path

import pytest

from cxdata.config import load_config
from cxdata.errors import QuarantineError
from cxdata.io import stage_table
from cxdata.io.readers import whitespace_to_tabs

CDNOW = importlib.resources.files("lifetimes") / "datasets" / "CDNOW_master.txt"


def project(tmp_path: Path, sources: str, files: dict[str, bytes]) -> object:
    (tmp_path / "data").mkdir(exist_ok=True)
    for name, data in files.items():
        (tmp_path / "data" / name).write_bytes(data)
    body = textwrap.indent(textwrap.dedent(sources).strip(), "  ")
    (tmp_path / "cxdata.yaml").write_text(f"name: t\ntimezone: UTC\nsources:\n{body}\n", encoding="utf-8")
    return load_config(tmp_path / "cxdata.yaml", environ={})


# a European shop's export: BOM, CRLF, semicolons, decimal commas with thousands dots, dd/mm dates, blank lines
EUROPEAN = (
    "\ufeffpedido;cliente;fecha;importe\r\n"
    "A1;c1;31/01/2026 10:30;26,10\r\n"
    "\r\n"
    "A2;c2;01/02/2026 09:00;1.234,56\r\n"
    "   \r\n"
    "A3;c1;15/02/2026 18:45;3,5\r\n"
    "\r\n"
).encode()
EUROPEAN_SOURCE = """
orders:
  path: data/orders.csv
  columns: {order_id: pedido, customer_ref: cliente, ordered_at: fecha, amount: importe}
  formats: {ordered_at: "%d/%m/%Y %H:%M"}
  csv: {separator: ";", decimal_comma: true}
"""


def test_a_european_export_loads_with_config_only(tmp_path):
    staged = stage_table(project(tmp_path, EUROPEAN_SOURCE, {"orders.csv": EUROPEAN}), "orders")
    assert staged.quarantined.height == 0
    orders = staged.accepted.sort("order_id")
    assert orders["order_id"].to_list() == ["A1", "A2", "A3"]  # the BOM is not part of the first header
    assert orders["amount"].to_list() == [26.10, 1234.56, 3.5]
    assert orders["ordered_at"][0] == dt.datetime(2026, 1, 31, 10, 30, tzinfo=dt.UTC)
    # three blank lines (one only spaces) are skipped and counted, not quarantined as rows
    assert staged.audit["blank_lines"] == 3 and staged.audit["rows_in"] == 3


def test_a_point_in_a_decimal_comma_file_is_quarantined_not_misread(tmp_path):
    text = EUROPEAN.replace(b"3,5", b"26.10")
    staged = stage_table(project(tmp_path, EUROPEAN_SOURCE, {"orders.csv": text}), "orders")
    assert staged.quarantined.select("rule", "failed_column", "failed_value").row(0) == (
        "unparseable",
        "amount",
        "26.10",
    )


def test_raw_cdnow_loads_with_config_only(tmp_path):
    config = project(
        tmp_path,
        """
        orders:
          path: data/CDNOW_master.txt
          columns: {customer_ref: customer_id, ordered_at: date, amount: dollar_value}
          formats: {ordered_at: "%Y%m%d"}
          csv: {separator: whitespace}
        """,
        {"CDNOW_master.txt": CDNOW.read_bytes()},
    )
    staged = stage_table(config, "orders")
    assert staged.quarantined.height == 0 and staged.accepted.height == 69_659
    orders = staged.accepted
    assert orders["customer_ref"].n_unique() == 23_570 and orders["customer_ref"][0] == "00001"
    assert orders["amount"].sum() == pytest.approx(2_500_315.63, abs=0.01)
    # no order id in the file: each record is numbered by its file and record, the same on every run
    assert orders["order_id"][:2].to_list() == ["data/CDNOW_master.txt:1", "data/CDNOW_master.txt:2"]
    assert orders["order_id"].n_unique() == orders.height
    assert stage_table(config, "orders").accepted["order_id"].equals(orders["order_id"])
    assert "number_of_cds" in orders.columns  # the unmapped column rides along


def test_whitespace_runs_become_one_separator_and_quotes_keep_theirs():
    assert whitespace_to_tabs(b"  a   b\tc  \r\n 1  2 3\r\n") == b"a\tb\tc\n1\t2\t3\n"
    assert whitespace_to_tabs(b'id  name\n1  "Ana  Lopez"\n') == b'id\tname\n1\t"Ana  Lopez"\n'


def test_a_separator_is_one_character_or_whitespace(tmp_path):
    with pytest.raises(Exception, match="one character"):
        project(tmp_path, "orders:\n  path: data/o.csv\n  csv: {separator: ';;'}", {"o.csv": b"x\n"})


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["31/01/2026", "13/02/2026"], "read as day/month/year: add formats: {ordered_at: '%d/%m/%Y'}"),
        (["01/31/2026", "02/13/2026"], "read as month/day/year: add formats: {ordered_at: '%m/%d/%Y'}"),
        (["01/02/2026", "03/04/2026"], "which the data cannot decide"),
    ],
)
def test_unreadable_dates_name_the_formats_line_that_reads_them(tmp_path, dates, expected):
    rows = "".join(f"o{i},c{i},{day},10\n" for i, day in enumerate(dates))
    config = project(
        tmp_path,
        "orders:\n  path: data/orders.csv",
        {"orders.csv": f"order_id,customer_ref,ordered_at,amount\n{rows}".encode()},
    )
    with pytest.raises(QuarantineError) as failed:
        stage_table_or_raise(config)
    assert expected in str(failed.value) and "under sources.orders" in str(failed.value)


def test_decimal_commas_name_the_csv_option(tmp_path):
    config = project(
        tmp_path,
        "orders:\n  path: data/orders.csv\n  csv: {separator: ';'}",
        {"orders.csv": b"order_id;customer_ref;ordered_at;amount\no1;c1;2026-01-02;26,10\no2;c1;2026-01-05;3,5\n"},
    )
    with pytest.raises(QuarantineError, match=r"add csv: \{decimal_comma: true\} under sources.orders"):
        stage_table_or_raise(config)


def stage_table_or_raise(config) -> None:
    from cxdata.io import load_table

    load_table(config, "orders")


def test_blank_lines_are_counted_in_load_audit(tmp_path):
    from cxdata.io.step import stage_step
    from cxdata.warehouse import Warehouse

    config = project(tmp_path, EUROPEAN_SOURCE, {"orders.csv": EUROPEAN})
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    with Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}") as wh:
        report = stage_step(wh, config, "orders", run_id="r1", now=now)
        audit = wh.read("load_audit")
    assert report.staged.facts["blank_lines"] == 3
    assert audit.select("rows_in", "blank_lines", "rows_accepted", "rows_quarantined").row(0) == (3, 3, 3, 0)
    assert json.loads(audit["quarantined_by_rule"][0]) == {}
    shutil.rmtree(tmp_path / "data")
