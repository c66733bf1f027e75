"""The command line: the README's demo command end to end, and clear errors without tracebacks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cxdata.cli import main

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


def test_generate_then_run_with_as_of(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    assert main(["generate", "--out", str(tmp_path / "p"), "--customers", "200", "--seed", "3"]) == 0
    assert main(["run", "--config", str(tmp_path / "p" / "cxdata.yaml"), "--as-of", "2026-01-31"]) == 0
    out = capsys.readouterr().out
    assert "stg_orders" in out and "succeeded" in out


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
