"""`cxdata check`: a sample of every source through the mapping and the row rules, nothing written; exit 0
when a run would load every source, 2 when one would stop it, with the reason and the config line to add."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cxdata.cli import main
from cxdata.config import load_config
from cxdata.io.check import check_sources

from .test_readers import crm_config, fill

GOOD = "order_id,customer_ref,ordered_at,amount\n" + "".join(
    f"o{i},c{i % 7},2026-01-{1 + i % 28:02d},{10 + i}\n" for i in range(50)
)


def project(tmp_path: Path, sources: str, files: dict[str, str]) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    for name, text in files.items():
        (tmp_path / "data" / name).write_text(text, encoding="utf-8")
    body = textwrap.indent(textwrap.dedent(sources).strip(), "  ")
    path = tmp_path / "cxdata.yaml"
    path.write_text(f"name: t\nwarehouse: duckdb:///wh.duckdb\nsources:\n{body}\n", encoding="utf-8")
    return path


def test_a_good_project_would_load_and_nothing_is_written(tmp_path, capsys):
    path = project(tmp_path, "orders: {path: data/orders.csv}", {"orders.csv": GOOD})
    assert main(["check", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "would load every source" in out and "50" in out
    assert not (tmp_path / "wh.duckdb").exists()


def test_a_sample_reads_the_first_records_of_each_file(tmp_path):
    path = project(tmp_path, "orders: {path: data/orders.csv}", {"orders.csv": GOOD})
    (found,) = check_sources(load_config(path, environ={}), sample=20)
    assert (found.records, found.quarantined, found.passed) == (20, 0, True)


def test_a_broken_project_names_each_problem_and_exits_2(tmp_path, capsys):
    bad = GOOD.replace("2026-01-02", "02/01/2026").replace("2026-01-03", "03/01/2026").replace("2026-01-1", "1")
    path = project(
        tmp_path,
        """
        orders: {path: data/orders.csv}
        tickets: {path: data/tickets.csv}
        touches: {path: data/touches.csv}
        """,
        {"orders.csv": bad, "touches.csv": "touch_id,occurred_at\nt1,2026-01-01\n"},
    )
    checks = {c.table: c for c in check_sources(load_config(path, environ={}))}
    assert not checks["orders"].passed and checks["orders"].by_rule["unparseable"] > 2
    assert "does not exist" in checks["tickets"].error
    assert "missing column(s) 'channel'" in checks["touches"].error
    assert main(["check", "--config", str(path)]) == 2
    out = capsys.readouterr().out
    assert "would stop at orders, tickets, touches" in out and "Traceback" not in out
    assert "unparseable: '02/01/2026' in column 'ordered_at' (record 2 of data/orders.csv)" in out


def test_a_query_source_fetches_only_the_sample(tmp_path):
    fill(f"sqlite:///{tmp_path / 'crm.sqlite'}")
    config = crm_config(tmp_path, "sqlite:///crm.sqlite", "select * from crm_customers order by id")
    (found,) = check_sources(config, sample=1)
    assert (found.records, found.passed) == (1, True)


@pytest.mark.parametrize("sample", ["0", "x"])
def test_the_sample_is_a_positive_whole_number(tmp_path, sample, capsys):
    path = project(tmp_path, "orders: {path: data/orders.csv}", {"orders.csv": GOOD})
    with pytest.raises(SystemExit):
        main(["check", "--config", str(path), "--sample", sample])
    assert "must be a whole number" in capsys.readouterr().err
