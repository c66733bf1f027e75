"""The written project: reproducible bytes, the config, file formats, ids and the identity truth."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import stat
from pathlib import Path

import polars as pl
import pytest
import yaml

from cxdata.config import load_config
from cxdata.errors import OutputError
from cxdata.files import TEMP_SUFFIX
from cxdata.io import load_table
from cxdata.synth import SynthParams, generate_project
from cxdata.synth.writer import COLUMNS

ID_COLUMNS = {
    "customers": "customer_number",
    "orders": "order_no",
    "tickets": "case_number",
    "surveys": "response_id",
    "web_events": "event_id",
    "touches": "touch_id",
}
SMALL = SynthParams(customers=1500, seed=11)


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_same_seed_gives_identical_bytes_and_another_seed_other_orders(tmp_path):
    messages: list[str] = []
    first = generate_project(tmp_path / "a", SMALL, progress=messages.append)
    generate_project(tmp_path / "b", SMALL)
    a, b = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    assert a == b
    assert any(name.startswith("data/web_events/part-") for name in a)
    assert len(a) > 15
    assert messages[-1] == "done" and len(messages) > 5
    other = generate_project(tmp_path / "c", dataclasses.replace(SMALL, seed=12))
    assert (other.data_dir / "orders.csv").read_bytes() != (first.data_dir / "orders.csv").read_bytes()


def test_regenerating_into_the_same_folder_leaves_no_stale_month(tmp_path):
    generate_project(tmp_path, dataclasses.replace(SMALL, customers=300))
    stale = tmp_path / "data" / "web_events" / "part-1999-01.parquet"
    stale.write_bytes(b"old")
    generate_project(tmp_path, dataclasses.replace(SMALL, customers=300))
    assert not stale.exists()


def test_a_link_planted_in_the_output_folder_is_never_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch", encoding="utf-8")
    out = tmp_path / "project"
    (out / "data").mkdir(parents=True)
    (out / "data" / "customers.csv").symlink_to(victim)
    with pytest.raises(OutputError, match="symbolic link"):
        generate_project(out, dataclasses.replace(SMALL, customers=300))
    assert victim.read_text(encoding="utf-8") == "do not touch"
    assert not list(out.rglob(f"*{TEMP_SUFFIX}"))

    (out / "data" / "customers.csv").unlink()
    generate_project(out, dataclasses.replace(SMALL, customers=300))
    written = [path for path in out.rglob("*") if path.is_file()]
    assert len(written) > 15 and {stat.S_IMODE(path.stat().st_mode) for path in written} == {0o600}


def test_config_maps_every_source_and_loads(project):
    text = project.result.config_path.read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    assert list(raw) == [
        "name", "warehouse", "as_of", "timezone", "incremental", "sources", "identity", "models", "activation"
    ]  # fmt: skip
    assert raw["activation"]["destinations"]["winback_meta"]["purpose"] == "ads"
    assert raw["identity"] == {"default_region": "ES", "phone_regions": ["ES", "FR", "DE", "GB"]}
    assert raw["warehouse"] == "duckdb:///warehouse.duckdb"
    assert raw["sources"]["orders"]["formats"] == {"ordered_at": "%d/%m/%Y %H:%M:%S"}
    assert raw["sources"]["web_events"]["path"] == "data/web_events"
    assert raw["models"] == {
        "clv": {"horizon_days": 365, "annual_discount_rate": 0.1},
        "churn": {"horizon_days": 90},
        # the campaigns the generator gives a retention effect, declared as a CRM team would
        "touchpoints": {"retention_campaigns": ["email/winback"]},
    }
    config = load_config(project.result.config_path)
    assert set(config.sources) == set(COLUMNS)
    orders = load_table(config, "orders")
    assert orders["ordered_at"].dtype == pl.Datetime("us", "UTC")
    # the daily partitions start at the history's first day: no order before it, the first orders soon after
    first = orders["ordered_at"].dt.convert_time_zone(config.timezone).dt.date().min()
    start = config.incremental.start_date
    assert start == project.result.params.as_of - dt.timedelta(days=project.result.params.history_days)
    assert start <= first <= start + dt.timedelta(days=30)
    assert {"store_id", "coupon_code"} <= set(orders.columns)  # the shop's own columns are kept


def test_timestamps_use_each_systems_own_format(project):
    assert project.orders["order_date"].str.contains(r"^\d\d/\d\d/\d{4} \d\d:\d\d:\d\d$").all()
    assert project.tickets["created_at"].str.contains(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").all()
    assert project.customers["created"].str.contains(r"\+00:00$").all()
    assert project.web_events["event_timestamp"].dtype == pl.Datetime("us", "UTC")
    assert project.touches["event_time"].dtype == pl.Datetime("us", "UTC")
    text = (project.root / "data" / "customers.csv").read_bytes().decode("utf-8")
    assert "é" in text or "ü" in text or "ñ" in text


def test_record_ids_are_unique_and_every_record_has_a_true_person(project):
    frames = {
        "customers": project.customers,
        "orders": project.orders,
        "tickets": project.tickets,
        "surveys": project.surveys,
        "web_events": project.web_events,
        "touches": project.touches,
    }
    identity = project.identity
    assert identity.select(pl.struct("source_table", "record_id").is_unique().all()).item()
    assert identity["person_id"].null_count() == 0
    for table, frame in frames.items():
        ids = frame[ID_COLUMNS[table]].cast(pl.String)
        assert ids.is_unique().all(), table
        known = identity.filter(pl.col("source_table") == table)["record_id"]
        assert len(known) == len(ids) == project.result.row_counts[table], table
        assert ids.is_in(known.implode()).all(), table
    customers = identity.filter(pl.col("is_customer"))["person_id"]
    assert customers.max() < project.params["customers"] <= identity["person_id"].max()


def test_params_json_holds_every_parameter_and_the_realised_counts(project):
    path = project.root / "truth" / "params.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert list(doc) == sorted(doc)
    assert {f.name for f in dataclasses.fields(SynthParams)} <= set(doc)
    assert doc["seed"] == 5 and doc["customers"] == 20_000
    assert doc["realised"]["rows"] == project.result.row_counts
    assert doc["realised"]["orders_history"] == len(project.orders)
    assert set(doc["definitions"]) >= {"recommendation", "true_roi", "bad_ticket", "saved_by"}
    files = {p.name for p in (project.root / "truth").iterdir()}
    assert {"identity.parquet", "future_orders.parquet", "touchpoints.csv", "params.json"} <= files
