"""The command line: the README's demo command end to end, and clear errors without tracebacks."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cxdata.cli import main

from .conftest import SEVEN_CUSTOMER_ORDERS

BIN = Path(sys.executable).parent


def cxdata(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("cxdata", path=str(BIN))
    assert exe, "the cxdata console script is not installed in this environment"
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("DAGSTER_HOME", None)
    return subprocess.run([exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_demo_end_to_end_prints_tables_and_how_to_open_the_ui(tmp_path):
    done = cxdata("demo", "--customers", "300", "--dir", "demo", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for table in ("stg_customers", "stg_orders", "stg_tickets", "stg_surveys", "stg_web_events", "stg_touches"):
        assert table in out
    assert "succeeded" in out
    assert "dagster dev" in out
    assert (tmp_path / "demo" / "cxdata.yaml").exists()
    assert (tmp_path / "demo" / "truth" / "params.json").exists()
    assert list((tmp_path / "demo").rglob("*.duckdb"))
    # the demo ends with the report's path, and the report is there
    report = (tmp_path / "demo" / "report.html").resolve()
    assert out.rstrip().splitlines()[-1] == f"Report: {report}"
    assert report.exists() and '<section id="churn"' in report.read_text(encoding="utf-8")


def test_run_takes_as_of_from_the_command_line_over_the_config(tmp_path, monkeypatch, capsys):
    # generate-then-run end to end is the demo's test above; a seven-customer project keeps this one short
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "orders.csv").write_text(SEVEN_CUSTOMER_ORDERS, encoding="utf-8")
    (tmp_path / "cxdata.yaml").write_text(
        "name: t\nwarehouse: duckdb:///wh.duckdb\nas_of: 2024-03-31\ntimezone: Europe/Madrid\n"
        "sources:\n  orders: {path: orders.csv}\n",
        encoding="utf-8",
    )
    assert main(["run", "--config", str(tmp_path / "cxdata.yaml"), "--as-of", "2024-02-15"]) == 0
    assert "stg_orders" in capsys.readouterr().out
    from cxdata.warehouse import Warehouse

    with Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}") as wh:
        moments = wh.read("run_context", columns=["as_of", "as_of_from"])
        described = wh.read("dim_customer", columns=["as_of"])
    # the end of 2024-02-15 in Madrid, not of the config's day
    as_of = dt.datetime(2024, 2, 15, 22, 59, 59, 999999, tzinfo=dt.UTC)
    assert moments.rows() == [(as_of, "config")] and set(described["as_of"]) == {as_of}


def test_run_lists_failed_checks_and_skipped_assets_after_the_verdict(tmp_path, monkeypatch, capsys):
    from pipelines import runner

    (tmp_path / "cxdata.yaml").write_text(
        "name: t\nwarehouse: duckdb:///wh.duckdb\nsources:\n  orders: {path: orders.csv}\n", encoding="utf-8"
    )
    reason = "no CLV model: no repeat purchase [/] in the holdout"
    outcome = runner.RunOutcome(
        "r1", [], {}, {"customer_scores:clv_model_usable": reason}, ["bi_segments", "customer_scores"]
    )
    monkeypatch.setattr(runner, "run_project", lambda *args, **kwargs: outcome)
    assert main(["run", "--config", str(tmp_path / "cxdata.yaml")]) == 0
    out = capsys.readouterr().out.splitlines()
    verdict = next(i for i, line in enumerate(out) if line.startswith("run r1 succeeded"))
    assert out[verdict + 1 :] == [
        "failed checks (only what they gate was skipped):",
        f"  customer_scores:clv_model_usable -> {reason}",
        "not materialised: bi_segments, customer_scores",
    ]
    monkeypatch.setattr(runner, "run_project", lambda *args, **kwargs: runner.RunOutcome("r2", [], {}))
    assert main(["run", "--config", str(tmp_path / "cxdata.yaml")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("run r2 succeeded")
    warned = {"customer_scores:clv_holdout_error": "holdout aggregate error +26% is beyond 15%"}
    outcome = runner.RunOutcome("r3", [], {}, warned_checks=warned)
    monkeypatch.setattr(runner, "run_project", lambda *args, **kwargs: outcome)
    assert main(["run", "--config", str(tmp_path / "cxdata.yaml")]) == 0
    out = capsys.readouterr().out.splitlines()
    verdict = next(i for i, line in enumerate(out) if line.startswith("run r3 succeeded with 1 warning in "))
    assert out[verdict + 1 :] == [
        "  warning: customer_scores:clv_holdout_error -> holdout aggregate error +26% is beyond 15%"
    ]


def test_a_failed_load_is_said_once_without_a_traceback_unless_debug(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "orders.csv").write_text("order_id,customer_ref,ordered_at,amount\n1,c1,31/01/2026,5\n")
    config = tmp_path / "cxdata.yaml"
    config.write_text("name: t\nwarehouse: duckdb:///wh.duckdb\nsources:\n  orders: {path: orders.csv}\n")
    assert main(["run", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert out.count("1 of 1 row(s) (100.0%) failed the row rules") == 1
    assert "Traceback" not in out and "Stack Trace" not in out and "Dependencies for step" not in out
    assert "add formats: {ordered_at: '%d/%m/%Y'} under sources.orders" in out
    assert main(["run", "--config", str(config), "--debug"]) == 1
    shown = capsys.readouterr()
    assert "Stack Trace" in shown.out + shown.err


def test_config_error_is_a_message_not_a_traceback(tmp_path, capsys):
    (tmp_path / "cxdata.yaml").write_text("name: x\nsources:\n  orders: {path: o.csv, colour: red}\n")
    assert main(["run", "--config", str(tmp_path / "cxdata.yaml")]) == 2
    out = capsys.readouterr().out
    assert "sources.orders.colour" in out
    assert "Traceback" not in out


def test_bad_as_of_is_rejected_by_the_parser(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "--config", "x.yaml", "--as-of", "31/01/2026"])
    assert info.value.code == 2
    assert "expected a day as YYYY-MM-DD" in capsys.readouterr().err


SECRET = "hunter2-s3cret"
LONG_NAME = "n" * 300


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    """A project without a warehouse, and beside its config a fifo, a folder, a binary and a leaky config."""
    (tmp_path / "cxdata.yaml").write_text("name: t\nsources:\n  orders:\n    path: orders.csv\n")
    (tmp_path / "leaky.yaml").write_text(
        "name: t\nwarehouse: postgresql://cx:${DB_PASSWORD}@db/cx\nsources:\n"
        "  orders:\n    path: orders.csv\n    pasword: ${DB_PASSWORD}\n"
    )
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00\x01")
    os.mkfifo(tmp_path / "pipe.csv")
    (tmp_path / "folder.csv").mkdir()
    monkeypatch.setenv("DB_PASSWORD", SECRET)
    for name in ("CXDATA_API_TOKEN", "CXDATA_API_PII_TOKEN", "CXDATA_WAREHOUSE_URL", "CXDATA_WAREHOUSE_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def corpus(d: Path) -> list[list[str]]:
    """Commands an operator may mistype or an attacker may try; each must fail with one line, no traceback."""
    cfg = str(d / "cxdata.yaml")
    export = ["segments", "export", "lost", "--config", cfg]
    out = ["--out", str(d / "x.csv")]
    return [
        *(["run", "--config", cfg, "--as-of", day] for day in ("9999-12-31", "0001-01-01", "2026-02-30", "")),
        *(
            ["run", "--config", str(path)]
            for path in (d / "leaky.yaml", d / "folder.csv", d / "pipe.csv", d / "binary.yaml", d / "nowhere.yaml")
        ),
        ["run", "--config", str(d / f"{LONG_NAME}.yaml")],
        ["run", "--config", "cx\x00data.yaml"],  # only in process: argv cannot hold NUL
        [*export, "--out", "x\x00.csv"],
        ["segments", "list", "--config", cfg, "--as-of", "9999-12-31"],
        ["segments", "list", "--config", cfg],  # no warehouse yet
        ["segments", "list", "--config", str(d / "leaky.yaml")],
        [*export, "--out", str(d / "pipe.csv")],
        [*export, "--out", str(d / "folder.csv")],
        [*export, "--out", str(d), "--format", "csv"],
        [*export, "--out", str(d / "missing" / "x.csv")],
        [*export, "--out", str(d / "x.csv" / "y.csv")],
        [*export, "--out", "/proc/cxdata-export.csv"],
        [*export, "--out", "/proc/self/status", "--format", "csv"],
        [*export, "--out", str(d / f"{LONG_NAME}.csv")],
        [*export, "--out", "", "--format", "csv"],
        [*export, "--out", str(d / "[/]bold.xlsx")],
        [*export, *out, "--format", "xlsx"],
        [*export, *out],  # no warehouse yet
        *([*export, *out, "--batch-rows", rows] for rows in ("0", "-1", "1e3", "9" * 30)),
        *([*export, *out, "--as-of", day] for day in ("9999-12-31", "0001-01-01", "31/01/2026")),
        *(["serve", "--config", cfg, "--port", port] for port in ("0", "-1", "65536", "http")),
        ["serve", "--config", cfg, "--insecure-local", "--host", "0.0.0.0"],
        ["serve", "--config", cfg],  # no token configured
        *(["generate", "--out", str(d / "g"), "--customers", n] for n in ("0", "-5", "9" * 30)),
        ["generate", "--out", str(d / "g"), "--seed", "-1"],
        ["generate", "--out", cfg, "--customers", "10"],
        ["generate", "--out", "/proc/cxdata-generate", "--customers", "10"],
        ["report", "--config", cfg, "--out", str(d / "folder.csv")],
        ["report", "--config", cfg, "--out", str(d / "pipe.csv")],
        ["demo", "--customers", "0"],
        ["grant", "--config", str(d / "leaky.yaml")],
    ]


def test_hostile_commands_fail_with_one_line_and_no_traceback(hostile, capsys):
    for argv in corpus(hostile):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: usage, then one error line
            code = exc.code
        captured = capsys.readouterr()
        shown = captured.out + captured.err
        where = (argv[:2], shown[-300:])
        assert code not in (0, None), where
        assert "Traceback" not in shown and SECRET not in shown, where
        errors = [line for line in shown.splitlines() if "error:" in line]
        assert len(errors) == 1 and shown.rstrip().endswith(errors[0]), where
    assert stat.S_ISFIFO((hostile / "pipe.csv").lstat().st_mode) and not list(hostile.rglob("*.partial"))
    assert not list((hostile / "folder.csv").iterdir())


def test_hostile_commands_through_the_console_script(hostile):
    cfg = str(hostile / "cxdata.yaml")
    for argv in (
        ["segments", "export", "lost", "--config", cfg, "--out", "x.csv", "--as-of", "9999-12-31"],
        ["segments", "export", "lost", "--config", cfg, "--out", str(hostile / "pipe.csv")],
        ["run", "--config", str(hostile / "leaky.yaml")],
    ):
        done = cxdata(*argv, cwd=hostile)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "Traceback" not in done.stderr + done.stdout and SECRET not in done.stderr + done.stdout
        assert "error:" in (done.stdout + done.stderr).strip().splitlines()[-1]


def test_hostile_role_names_for_grant_are_one_line_errors(hostile, pg_schema, monkeypatch, capsys):
    url, schema = pg_schema
    monkeypatch.setenv("CXDATA_WAREHOUSE_URL", url)
    monkeypatch.setenv("CXDATA_WAREHOUSE_SCHEMA", schema)
    cfg = str(hostile / "cxdata.yaml")
    for member in ("x'; drop table y; --", "", "r" * 100, "no_such_role_anywhere"):
        assert main(["grant", "--config", cfg, "--bi-member", member]) == 2
        shown = capsys.readouterr().out
        assert shown.startswith("error:") and len(shown.strip().splitlines()) == 1, shown
