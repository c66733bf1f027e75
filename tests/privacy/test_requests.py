"""Erasure requests from a source (`privacy.requests`) on the hand-made identity tables, both backends: good
requests are erased once (a second pass skips them), a request naming the person by two identifiers in two
rows is one request, and a malformed one is rejected whole, logged once per reason without its values, and
carried out on the pass after the source is mended."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cxdata.config import load_config
from cxdata.errors import ConfigError
from cxdata.privacy.requests import carry_out_requests, read_requests
from tests.privacy.identity_tables import NOW

HEADER = "ticket,when,mail,ref,tel\n"
GOOD = "T-1,2026-05-02 10:00,ANA@example.com,,\n"
# D (customer_ref R2) by its ref in one row and an unknown phone in another: one request
TWO_ROWS = "T-2,2026-05-03 09:00,,R2,\nT-2,,,,+34 600 000 009\n"
BAD = (
    "bob@example.com,2026-05-04 09:00,bob@example.com,,\n"  # an address as the id: never repeated in the log
    "T-3,2026-05-04 09:00,,,\n"  # nothing to find the person by
    "T-4,2026-05-04 09:00,not an address,,\n"
    "T-5,yesterday,carol@example.com,,\n"
)


def _project(tmp_path: Path, rows: str) -> Path:
    (tmp_path / "requests.csv").write_text(HEADER + rows, encoding="utf-8")
    config = tmp_path / "cxdata.yaml"
    config.write_text(
        "name: t\nsources: {orders: {path: o.csv}}\nprivacy:\n  requests:\n    path: requests.csv\n"
        "    columns: {request_id: ticket, received_at: when, email: mail, customer_ref: ref, phone: tel}\n"
        "    formats: {received_at: '%Y-%m-%d %H:%M'}\n",
        encoding="utf-8",
    )
    (tmp_path / "o.csv").write_text("order_id\n", encoding="utf-8")
    return config


def test_requests_are_erased_once_and_bad_ones_rejected_until_mended(wh, tmp_path):
    config_path = _project(tmp_path, GOOD + TWO_ROWS + BAD)
    config = load_config(config_path)
    usable, rejected = read_requests(config, NOW)
    assert sorted(set(usable["request_id"])) == ["T-1", "T-2"]
    assert usable.filter(pl.col("request_id") == "T-2")["identifier_type"].sort().to_list() == [
        "customer_ref",
        "phone",
    ]
    assert rejected.select("request_id", "rejected_reason").rows() == [
        ("T-3", "no identifier"),
        ("T-4", "email unreadable"),
        ("T-5", "received_at unreadable"),
        ("requests.csv#4", "request_id not 1-80 letters, digits or ._:-"),
    ]

    first = carry_out_requests(wh, config, NOW)
    assert (first.read, first.already_done, first.count("erased"), first.count("rejected")) == (6, 0, 2, 4)
    assert wh.read("identity_record_keys").is_empty()  # B (T-1) and D (T-2) are gone
    log = wh.read("erasure_log").sort("request_id")
    assert "bob@example.com" not in str(log.rows())
    assert log.filter(pl.col("request_id") == "T-2")["requested_by"].item() == "customer_ref+phone"
    received = log.filter(pl.col("request_id") == "T-1")["received_at"].item()
    assert (received.year, received.month, received.day, received.hour) == (2026, 5, 2, 10)

    again = carry_out_requests(wh, config, NOW)
    assert (again.already_done, again.logged.height, again.pending.height) == (2, 0, 4)  # rejections logged once

    mended = GOOD + TWO_ROWS + BAD.replace("not an address", "dave@example.com").replace("yesterday", "")
    config = load_config(_project(tmp_path, mended))
    third = carry_out_requests(wh, config, NOW)
    assert sorted(third.logged.filter(pl.col("status") == "not_found")["request_id"]) == ["T-4", "T-5"]
    assert sorted(third.pending["request_id"]) == ["T-3", "requests.csv#4"]
    assert wh.read("erasure_log").filter(pl.col("status") == "rejected").height == 4


def test_an_empty_requests_folder_is_no_request_and_columns_are_checked(tmp_path):
    (tmp_path / "requests").mkdir()
    config = tmp_path / "cxdata.yaml"
    config.write_text(
        "name: t\nsources: {orders: {path: o.csv}}\nprivacy: {requests: {path: requests, format: csv}}\n"
    )
    usable, rejected = read_requests(load_config(config), NOW)
    assert usable.is_empty() and rejected.is_empty()
    config.write_text("name: t\nsources: {orders: {path: o.csv}}\nprivacy: {requests: {path: r.csv, columns: {"
                      "passport: p}}}\n")  # fmt: skip
    with pytest.raises(ConfigError, match=r"privacy\.requests\.columns\.passport.*not a column of erasure"):
        load_config(config)
