"""Segment exports with a randomised holdout on DuckDB and PostgreSQL: the file holds only the treated members,
experiment_assignments records every member, a re-export keeps each customer's group, and the CLI checks its
arguments and the salt."""

from __future__ import annotations

import datetime as dt
import uuid

import polars as pl
import pytest
import sqlalchemy as sa

from cxdata import cli
from cxdata.serve.access import BadValue
from cxdata.serve.export import export
from cxdata.serve.holdouts import ASSIGNMENTS, Holdout, SaltMissing, holdout_from_env
from cxdata.touchpoints.experiments import assign, salt_id
from cxdata.warehouse import Warehouse, WarehouseError

EARLIER = dt.datetime(2026, 5, 31, 22, 0, tzinfo=dt.UTC)
LATEST = dt.datetime(2026, 6, 30, 22, 0, tzinfo=dt.UTC)
SALT = "first-salt-" + "s" * 24
OTHER_SALT = "second-salt-" + "t" * 24
CAMPAIGN = "email/winback"
NOW = dt.datetime(2026, 7, 1, 9, 30, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 8, 1, 9, 30, tzinfo=dt.UTC)


def key(i: int) -> str:
    return f"K{i:06d}"


def members() -> pl.DataFrame:
    """winback holds customers 0-599 at EARLIER and 300-1099 at LATEST (300 stay, 500 are new)."""
    frames = [
        pl.DataFrame(
            {"segment": "winback", "customer_key": [key(i) for i in keys], "as_of": moment, "run_id": run}
        )
        for keys, moment, run in ((range(600), EARLIER, "r1"), (range(300, 1100), LATEST, "r2"))
    ]
    others = pl.DataFrame({"segment": "champions", "customer_key": [key(5000)], "as_of": LATEST, "run_id": "r2"})
    return pl.concat([*frames, others])


@pytest.fixture(params=["duckdb", "postgresql"])
def wh(request, tmp_path):
    """A writable warehouse holding segment_members only, on each backend."""
    if request.param == "duckdb":
        url, schema = f"duckdb:///{tmp_path / 'warehouse.duckdb'}", None
    else:
        url, schema = request.getfixturevalue("pg_server"), f"t_{uuid.uuid4().hex[:12]}"
    with Warehouse(url, schema) as warehouse:
        warehouse.publish("segment_members", members())
        yield warehouse
    if schema is not None:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
        engine.dispose()


def recorded(wh: Warehouse) -> pl.DataFrame:
    return wh.read(ASSIGNMENTS).sort("customer_key")


def test_export_writes_only_the_treated_and_records_every_member(wh, tmp_path):
    out = tmp_path / "winback.csv"
    holdout = Holdout(CAMPAIGN, 0.3, SALT)
    result = export(wh, "winback", out, "csv", EARLIER.date(), "none", batch_rows=64, holdout=holdout, now=NOW)
    keys = pl.Series([key(i) for i in range(600)])
    groups = assign(keys, CAMPAIGN, 0.3, SALT)
    treated = set(keys.filter(groups == "treatment"))
    written = pl.read_csv(out)["customer_key"]
    assert set(written) == treated and written.len() == len(treated) == result.rows
    assert result.withheld == 600 - len(treated) and result.newly_assigned == 600
    assert 120 < result.withheld < 240  # 0.3 of 600 is 180, sd 11

    table = recorded(wh)
    assert table.height == 600 and set(table.columns) >= {"campaign", "customer_key", "group", "share", "salt_id"}
    assert dict(zip(table["customer_key"], table["group"], strict=True)) == dict(zip(keys, groups, strict=True))
    assert set(table["campaign"]) == {CAMPAIGN} and set(table["share"]) == {0.3}
    assert set(table["assigned_at"]) == {NOW} and set(table["salt_id"]) == {salt_id(SALT)}
    assert set(table["segment"]) == {"winback"}


def test_re_export_keeps_every_group_and_assigns_only_new_members(wh, tmp_path):
    export(
        wh,
        "winback",
        tmp_path / "a.csv",
        "csv",
        EARLIER.date(),
        "none",
        holdout=Holdout(CAMPAIGN, 0.3, SALT),
        now=NOW,
    )
    first = recorded(wh)
    # the same members again, even with another share and salt: nobody is drawn again
    again = export(
        wh,
        "winback",
        tmp_path / "b.csv",
        "csv",
        EARLIER.date(),
        "none",
        holdout=Holdout(CAMPAIGN, 0.5, OTHER_SALT),
        now=LATER,
    )
    assert again.newly_assigned == 0 and recorded(wh).equals(first)
    assert pl.read_csv(tmp_path / "a.csv").equals(pl.read_csv(tmp_path / "b.csv"))

    later = export(
        wh,
        "winback",
        tmp_path / "c.csv",
        "csv",
        None,
        "none",
        holdout=Holdout(CAMPAIGN, 0.5, OTHER_SALT),
        now=LATER,
    )
    table = recorded(wh)
    assert later.newly_assigned == 500 and table.height == 1100
    kept = table.filter(pl.col("customer_key") < key(600))
    assert kept.equals(first)
    new = table.filter(pl.col("customer_key") >= key(600))
    assert new["group"].to_list() == assign(new["customer_key"], CAMPAIGN, 0.5, OTHER_SALT).to_list()
    assert set(new["salt_id"]) == {salt_id(OTHER_SALT)} != {salt_id(SALT)} and set(new["assigned_at"]) == {LATER}
    current = table.filter(pl.col("customer_key").is_between(pl.lit(key(300)), pl.lit(key(1099))))
    treated = set(current.filter(pl.col("group") == "treatment")["customer_key"])
    assert set(pl.read_csv(tmp_path / "c.csv")["customer_key"]) == treated
    assert later.withheld == current.height - len(treated)

    # another campaign on the same members is an experiment of its own, drawn independently
    export(
        wh,
        "winback",
        tmp_path / "d.csv",
        "csv",
        None,
        "none",
        holdout=Holdout("sms/winback", 0.5, OTHER_SALT),
        now=LATER,
    )
    sms = recorded(wh).filter(pl.col("campaign") == "sms/winback")
    assert sms.height == 800
    agree = sms.join(current, on="customer_key").select((pl.col("group") == pl.col("group_right")).mean()).item()
    assert 0.42 < agree < 0.58  # a 50/50 draw independent of the winback groups agrees with them half the time


def test_a_failed_record_leaves_no_file_and_no_rows(wh, tmp_path, monkeypatch):
    out = tmp_path / "winback.csv"
    out.write_text("yesterday's export\n")

    def fail(*_args, **_kwargs):
        raise WarehouseError("the warehouse went away")

    monkeypatch.setattr(Warehouse, "append", fail)
    with pytest.raises(WarehouseError, match="went away"):
        export(wh, "winback", out, "csv", None, "none", holdout=Holdout(CAMPAIGN, 0.3, SALT), now=NOW)
    assert out.read_text() == "yesterday's export\n" and not wh.exists(ASSIGNMENTS)
    assert not list(tmp_path.glob(".*partial"))


def test_holdout_arguments_and_salt_are_checked():
    env = {"CXDATA_EXPERIMENT_SALT": SALT}
    assert holdout_from_env(CAMPAIGN, 0.1, "CXDATA_EXPERIMENT_SALT", env).salt == SALT
    assert SALT not in repr(holdout_from_env(CAMPAIGN, 0.1, "CXDATA_EXPERIMENT_SALT", env))
    with pytest.raises(SaltMissing, match="CXDATA_EXPERIMENT_SALT is not set"):
        holdout_from_env(CAMPAIGN, 0.1, "CXDATA_EXPERIMENT_SALT", {})
    with pytest.raises(SaltMissing, match="shorter than 16"):
        holdout_from_env(CAMPAIGN, 0.1, "CXDATA_EXPERIMENT_SALT", {"CXDATA_EXPERIMENT_SALT": "short"})
    for campaign in ("winback", "/winback", "email/", "email/\x00x"):
        with pytest.raises(BadValue):
            holdout_from_env(campaign, 0.1, "CXDATA_EXPERIMENT_SALT", env)
    for share in (0.0, 1.0, -0.1):
        with pytest.raises(BadValue, match="share"):
            holdout_from_env(CAMPAIGN, share, "CXDATA_EXPERIMENT_SALT", env)


def test_cli_exports_with_a_holdout_and_refuses_half_of_it(tmp_path, capsys, monkeypatch):
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    with Warehouse(url) as wh:
        wh.publish("segment_members", members())
    config = tmp_path / "cxdata.yaml"
    config.write_text(
        "name: t\nsources:\n  orders:\n    path: orders.csv\nmodels:\n  experiments:\n    salt_env: MY_SALT\n"
    )
    (tmp_path / "orders.csv").write_text("order_id,customer_ref,ordered_at,amount\n1,a,2026-01-01,1\n")
    monkeypatch.setenv("CXDATA_WAREHOUSE_URL", url)
    out = tmp_path / "winback.parquet"
    base = ["segments", "export", "winback", "--config", str(config), "--out", str(out), "--no-contacts"]

    assert cli.main([*base, "--holdout", "0.2"]) == 2
    assert "--holdout needs --campaign" in capsys.readouterr().out
    assert cli.main([*base, "--campaign", CAMPAIGN]) == 2
    assert "--campaign needs --holdout" in capsys.readouterr().out
    assert cli.main([*base, "--holdout", "0.2", "--campaign", CAMPAIGN]) == 2
    assert "MY_SALT is not set" in capsys.readouterr().out and not out.exists()
    with pytest.raises(SystemExit):
        cli.main([*base, "--holdout", "1.5", "--campaign", CAMPAIGN])

    monkeypatch.setenv("MY_SALT", SALT)
    assert cli.main([*base, "--holdout", "0.2", "--campaign", CAMPAIGN]) == 0
    printed = capsys.readouterr().out
    with Warehouse(url) as wh:
        table = wh.read(ASSIGNMENTS)
    control = table.filter(pl.col("group") == "control").height
    assert table.height == 800 and pl.read_parquet(out).height == 800 - control
    assert f"{control:,} withheld as the control group of email/winback (800 newly assigned)" in printed
