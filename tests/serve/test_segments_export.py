"""Segment listing and export on DuckDB and PostgreSQL: round trips against the published tables, hashing,
streaming in batches, the read-only connection, and the CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from polars.testing import assert_frame_equal

from cxdata import cli, files
from cxdata.errors import OutputError
from cxdata.privacy.access_log import OUTBOX, access_folder, os_actor
from cxdata.serve.access import BadValue, NotPublished, ServeError
from cxdata.serve.export import export
from cxdata.serve.segments import UnknownSegment, list_segments, open_segment, page
from cxdata.warehouse import Warehouse

from .conftest import (
    CUSTOMERS,
    EARLIER,
    LATEST,
    RULES,
    TEST_EMAIL_SHA256,
    UNSCORED,
    as_exported,
    expected_members,
    key,
)


def test_list_segments_in_rule_order_at_latest_and_given_day(ro, published):
    _, _, tables = published
    latest = list_segments(ro)
    earlier = list_segments(ro, EARLIER.date())
    assert latest["segment"].to_list() == RULES
    assert set(latest["as_of"]) == {LATEST} and set(earlier["as_of"]) == {EARLIER}
    counts = tables["segment_members"].filter(pl.col("as_of") == LATEST).group_by("segment").len()
    assert dict(zip(latest["segment"], latest["customers"], strict=True)) == {
        **{s: 0 for s in RULES},
        **dict(zip(counts["segment"], counts["len"], strict=True)),
    }
    with pytest.raises(
        ServeError, match="no segments were scored on 2020-01-01; the latest scoring days: 2026-06-30"
    ):
        list_segments(ro, dt.date(2020, 1, 1))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_round_trip_equals_members_joined_to_scores(ro, published, tmp_path, fmt):
    _, _, tables = published
    out = tmp_path / f"at_risk.{fmt}"
    # batch_rows=3 forces several batches through the streaming writer
    result = export(ro, "high_value_at_risk", out, fmt=fmt, contacts="none", batch_rows=3)
    expected = as_exported(expected_members(tables, "high_value_at_risk", LATEST, "customer_scores"))
    read = pl.read_parquet(out) if fmt == "parquet" else pl.read_csv(out, schema=expected.schema)
    assert result.rows == expected.height == 10 and result.as_of == LATEST
    assert_frame_equal(read, expected)
    assert read.filter(pl.col("customer_key") == UNSCORED)["clv"].to_list() in ([None], [])
    assert not list(tmp_path.glob(".*partial"))
    # for people and ad platforms: amounts to the cent, no internal run ids
    raw = tables["customer_scores"]["clv"]
    assert not raw.round(2).equals(raw) and read["clv"].round(2).equals(read["clv"])
    assert not {"model_run_id", "churn_model_run_id"} & set(read.columns)


def test_amounts_carry_the_project_currency_given_to_the_export(ro, published, tmp_path):
    _, _, tables = published
    out = tmp_path / "at_risk.csv"
    export(ro, "high_value_at_risk", out, contacts="none", currency="SEK")
    expected = as_exported(
        expected_members(tables, "high_value_at_risk", LATEST, "customer_scores", currency="SEK")
    )
    read = pl.read_csv(out, schema=expected.schema)
    assert_frame_equal(read, expected)
    assert read.columns[-1] == "currency" and set(read["currency"]) == {"SEK"}
    # the member without scores is labelled too: the column says what the (null) amounts would be in
    assert read.filter(pl.col("customer_key") == UNSCORED)["currency"].to_list() in (["SEK"], [])


def test_export_of_an_earlier_day_takes_the_history_of_the_run_that_segmented(ro, published, tmp_path):
    _, _, tables = published
    out = tmp_path / "lost.parquet"
    export(ro, "lost", out, fmt="parquet", day=EARLIER.date(), contacts="none", batch_rows=4, with_ids=True)
    expected = as_exported(expected_members(tables, "lost", EARLIER, "customer_scores_history"), with_ids=True)
    read = pl.read_parquet(out)
    assert_frame_equal(read, expected)
    # the decoy run r0 has clv 1000 times the row number; r1 has 10 times
    assert read["clv"].drop_nulls().max() < 1000 and read[
        "churn_model_run_id"
    ].drop_nulls().unique().to_list() == ["r1/churn"]


def test_hashed_export_matches_known_sha256_of_normalised_contacts(ro, published, tmp_path):
    _, _, tables = published
    out = tmp_path / "hashed.csv"
    export(ro, "high_value_at_risk", out, fmt="csv", day=EARLIER.date(), contacts="hashed", purpose="email")
    read = pl.read_csv(out)
    assert "email" not in read.columns and "phone" not in read.columns
    first = read.filter(pl.col("customer_key") == key(1)).row(0, named=True)
    assert first["email_sha256"] == TEST_EMAIL_SHA256  # stored as " Test@Example.COM "
    assert first["phone_sha256"] == hashlib.sha256(b"+34612345678").hexdigest()  # stored as "+34 612 345 678"
    by_key = tables["dim_customer_pii"].filter(pl.col("customer_key").is_in(read["customer_key"].implode()))
    expected = {
        k: hashlib.sha256(e.strip().lower().encode()).hexdigest() if e else None
        for k, e in zip(by_key["customer_key"], by_key["email"], strict=True)
    }
    assert dict(zip(read["customer_key"], read["email_sha256"], strict=True)) == expected


def test_raw_export_carries_the_stored_contacts(ro, published, tmp_path):
    _, _, tables = published
    out = tmp_path / "raw.parquet"
    export(ro, "champions", out, fmt="parquet", contacts="raw", purpose="email")
    read = pl.read_parquet(out)
    expected = read.select("customer_key").join(tables["dim_customer_pii"], on="customer_key", how="left")
    assert_frame_equal(
        read.select("customer_key", "email", "phone"), expected.select("customer_key", "email", "phone")
    )
    assert read.height == 10


def test_unknown_segment_lists_the_known_ones(ro, tmp_path):
    with pytest.raises(UnknownSegment) as raised:
        export(ro, "vip", tmp_path / "x.csv")
    assert raised.value.known == sorted(RULES)
    assert "unknown segment 'vip'" in str(raised.value) and "high_value_at_risk" in str(raised.value)
    assert not (tmp_path / "x.csv").exists()


def test_empty_segment_exports_header_only(ro, tmp_path):
    out = tmp_path / "empty.csv"
    result = export(ro, "promising_new", out, contacts="none")
    assert result.rows == 0
    assert out.read_text().splitlines()[0].startswith("segment,as_of,customer_key,")


def test_keyset_pages_cover_the_segment_once(ro, published):
    _, _, tables = published
    seen, after = [], None
    while True:
        found = page(ro, "lost", limit=4, after=after)
        seen += found.rows["customer_key"].to_list()
        if found.next_after is None:
            break
        after = found.next_after
    expected = expected_members(tables, "lost", LATEST, "customer_scores")["customer_key"].to_list()
    assert seen == expected and len(seen) == 10


def test_the_serving_connection_is_read_only(ro):
    with pytest.raises(sa.exc.DBAPIError, match=r"(?i)read.only"), ro.engine.begin() as conn:
        conn.execute(sa.text("create table customer_scores_copy as select * from customer_scores"))
    with pytest.raises(sa.exc.DBAPIError, match=r"(?i)read.only"), ro.engine.begin() as conn:
        conn.execute(sa.text("delete from customer_scores"))
    assert ro.row_count("customer_scores") == CUSTOMERS - 1


def test_contacts_need_the_pii_table(tmp_path, published):
    url = f"duckdb:///{tmp_path / 'no_pii.duckdb'}"
    _, _, tables = published
    with Warehouse(url) as wh:
        wh.publish("segment_members", tables["segment_members"])
        with pytest.raises(NotPublished, match="dim_customer_pii"):
            export(wh, "lost", tmp_path / "x.csv", contacts="hashed", purpose="email")
        with pytest.raises(BadValue, match="export format"):
            export(wh, "lost", tmp_path / "x.xlsx", fmt="xlsx")


def test_cli_lists_and_exports(published, tmp_path, capsys, monkeypatch):
    url, schema, _ = published
    config = tmp_path / "cxdata.yaml"
    config.write_text("name: t\nsources:\n  orders:\n    path: orders.csv\n")
    (tmp_path / "orders.csv").write_text("order_id,customer_ref,ordered_at,amount\n1,a,2026-01-01,1\n")
    monkeypatch.setenv("CXDATA_WAREHOUSE_URL", url)
    if schema:
        monkeypatch.setenv("CXDATA_WAREHOUSE_SCHEMA", schema)
    assert cli.main(["segments", "list", "--config", str(config)]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in RULES)
    out = tmp_path / "seg.parquet"
    args = ["segments", "export", "lost", "--config", str(config), "--out", str(out), "--as-of", "2026-05-31"]
    assert cli.main([*args, "--hashed", "--purpose", "email"]) == 0
    read = pl.read_parquet(out)
    assert read.height == 10 and {"email_sha256", "phone_sha256"} <= set(read.columns)
    assert cli.main([*args, "--no-contacts"]) == 0  # no personal data: not in the access log
    (logged,) = (access_folder(tmp_path) / OUTBOX).read_text(encoding="utf-8").splitlines()
    entry = json.loads(logged)
    assert (entry["actor"], entry["via"], entry["action"]) == (os_actor(), "cli", "segment_export")
    assert (entry["segment"], entry["purpose"], entry["contacts"], entry["rows"]) == (
        "lost",
        "email",
        "hashed",
        10,
    )
    assert cli.main(["segments", "export", "nope", "--config", str(config), "--out", str(out)]) == 2
    assert "known segments: champions, high_value_at_risk, lost, promising_new" in capsys.readouterr().out


def test_members_come_in_batches_of_the_asked_size(ro):
    with open_segment(ro, "lost", batch_rows=3, contacts="hashed", purpose="email") as (as_of, result):
        sizes = [batch.height for batch in result.batches]
        assert result.schema["email_sha256"] == pl.String and result.schema["as_of"] == pl.Datetime("us", "UTC")
    assert as_of == LATEST and sizes == [3, 3, 3, 1]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_exported_files_are_owner_only_even_over_a_world_readable_one(ro, tmp_path, fmt):
    out = tmp_path / f"raw.{fmt}"
    out.write_bytes(b"an older export")
    out.chmod(0o644)
    previous = os.umask(0o022)
    try:
        export(ro, "lost", out, fmt=fmt, contacts="raw", purpose="email")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert (pl.read_parquet(out) if fmt == "parquet" else pl.read_csv(out)).height == 10


def test_a_symlink_planted_at_the_export_temp_path_is_not_followed(ro, tmp_path, monkeypatch):
    victim = tmp_path / "authorized_keys"
    victim.write_text("ssh-ed25519 AAAA operator\n")
    planted = tmp_path / ".raw.csv.guessed.partial"
    planted.symlink_to(victim)
    names = iter(["guessed", "drawn"])
    monkeypatch.setattr(files, "_token", lambda: next(names))
    export(ro, "lost", tmp_path / "raw.csv", contacts="raw", purpose="email")
    assert victim.read_text() == "ssh-ed25519 AAAA operator\n" and planted.is_symlink()
    assert "@example.com" in (tmp_path / "raw.csv").read_text()


def test_special_file_targets_are_refused_before_the_query(ro, tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    for target in (fifo, folder, tmp_path / "missing" / "x.csv"):
        with pytest.raises(OutputError):
            export(ro, "lost", target, contacts="raw", purpose="email")
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and stat.S_ISDIR(folder.lstat().st_mode)
    assert not list(tmp_path.rglob("*.partial")) and not list(folder.iterdir())


def test_an_export_killed_before_the_rename_leaves_the_old_file(published, tmp_path):
    url, schema, _ = published
    config = tmp_path / "cxdata.yaml"
    config.write_text("name: t\nsources:\n  orders:\n    path: orders.csv\n")
    out = tmp_path / "seg.csv"
    out.write_text("yesterday's export\n")
    env = {**os.environ, "CXDATA_WAREHOUSE_URL": url, "CXDATA_CRASH_AT": "export:written"}
    if schema:
        env["CXDATA_WAREHOUSE_SCHEMA"] = schema
    exe = Path(sys.executable).parent / "cxdata"
    done = subprocess.run(
        [str(exe), "segments", "export", "lost", "--config", str(config), "--out", str(out), "--purpose", "email"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr
    assert out.read_text() == "yesterday's export\n"
    # the complete new content waits in an owner-only temp file, which a later export does not reuse
    (partial,) = tmp_path.glob(".seg.csv.*.partial")
    assert stat.S_IMODE(partial.stat().st_mode) == 0o600 and partial.read_text().count("\n") == 11
