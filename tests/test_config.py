"""Config loading: every error names its file, key and value; env expansion; relative paths."""

from __future__ import annotations

import datetime as dt
import os
import textwrap
from pathlib import Path

import pytest
import yaml

from cxdata.config import WAREHOUSE_URL_ENV, ChurnConfig, load_config
from cxdata.errors import ConfigError

MINIMAL = """
name: acme
sources:
  orders:
    path: data/orders.csv
"""
SEGMENTS = """models:
  churn:
    segments:
      - {{name: at_risk, conditions: {}}}
      - {{name: rest}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cxdata.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=environ or {})
    return str(info.value)


def test_minimal_config_gets_defaults_and_absolute_paths(tmp_path):
    config = load_config(write(tmp_path, MINIMAL), environ={})
    assert config.name == "acme"
    assert config.timezone == "UTC"
    assert config.currency == "EUR"
    assert config.as_of is None
    assert config.models.clv.horizon_days == 365
    assert config.source_path("orders") == tmp_path / "data" / "orders.csv"
    assert config.warehouse == f"duckdb:///{tmp_path / '.cxdata' / 'warehouse.duckdb'}"


def test_paths_are_relative_to_the_config_file_not_the_working_directory(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    path = write(project, MINIMAL.replace("name: acme", "name: acme\nwarehouse: sqlite:///db/wh.sqlite"))
    monkeypatch.chdir(tmp_path)
    config = load_config(path, environ={})
    assert config.source_path("orders") == project / "data" / "orders.csv"
    assert config.warehouse == f"sqlite:///{project / 'db' / 'wh.sqlite'}"


def test_env_expansion_with_default_and_override(tmp_path):
    path = write(
        tmp_path,
        """
        name: acme
        as_of: ${AS_OF:-2024-01-31}
        sources:
          customers:
            url: ${CRM_URL}
            query: select * from customers
          orders: {path: "${DATA}/orders.csv"}
        """,
    )
    config = load_config(path, environ={"CRM_URL": "postgresql://u:secret@db/crm", "DATA": "/srv/data"})
    assert config.as_of == dt.date(2024, 1, 31)
    assert config.sources["customers"].url == "postgresql://u:secret@db/crm"
    assert "secret" not in config.sources["customers"].label
    assert config.source_path("orders") == Path("/srv/data/orders.csv")
    config = load_config(path, environ={"CRM_URL": "sqlite://", "DATA": "d", "AS_OF": "2025-05-05"})
    assert config.as_of == dt.date(2025, 5, 5)


def test_missing_env_var_names_key_and_variable(tmp_path):
    path = write(tmp_path, MINIMAL.replace("data/orders.csv", "${ORDERS_FILE}"))
    message = error_of(path)
    assert str(path) in message
    assert "sources.orders.path" in message
    assert "ORDERS_FILE" in message


def test_warehouse_url_from_environment_wins(tmp_path):
    path = write(tmp_path, MINIMAL)
    config = load_config(path, environ={WAREHOUSE_URL_ENV: "postgresql+psycopg://postgres@127.0.0.1/test"})
    assert config.warehouse == "postgresql+psycopg://postgres@127.0.0.1/test"


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        (MINIMAL + "colour: blue\n", "colour", "unknown key"),
        (MINIMAL.replace("name: acme", "name: acme\ntimezone: Mars/Olympus"), "timezone", "Mars/Olympus"),
        (MINIMAL.replace("name: acme", "name: acme\nas_of: yesterday"), "as_of", "yesterday"),
        (MINIMAL + "    delimiter: ';'\n", "sources.orders.delimiter", "known keys here: path, url, query"),
        (MINIMAL + "    csv: {encoding: ebcdic}\n", "sources.orders.csv.encoding", "ebcdic"),
        (MINIMAL + "models:\n  clv: {horizon_days: -5}\n", "models.clv.horizon_days", "-5"),
        (MINIMAL + "    columns: {amount_eur: value}\n", "sources.orders.columns.amount_eur", "value"),
        (MINIMAL + "    formats: {amount: '%d'}\n", "sources.orders.formats.amount", "%d"),
        (MINIMAL.replace("orders:", "invoices:"), "sources.invoices", "invoices"),
        (MINIMAL.replace("data/orders.csv", "data/orders.xlsx"), "sources.orders.path", "orders.xlsx"),
        ("name: acme\nsources:\n  orders: {url: 'sqlite://'}\n", "sources.orders", "query"),
        (
            "name: acme\nsources:\n  orders: {path: a.csv, url: 'sqlite://', query: q}\n",
            "sources.orders",
            "either",
        ),
        ("name: acme\nsources: {}\n", "sources", "at least one"),
        ("name: 'a b'\nsources:\n  orders: {path: a.csv}\n", "name", "a b"),
        (MINIMAL.replace("name: acme", "name: acme\nas_of: 9999-12-31"), "as_of", "from 1900-01-01 to 2999-12-31"),
        (MINIMAL.replace("name: acme", "name: acme\nas_of: 0001-01-01"), "as_of", "got 0001-01-01"),
        (MINIMAL.replace("name: acme", "name: acme\ncurrency: euro"), "currency", "'euro'"),
        (MINIMAL.replace("name: acme", "name: acme\ncurrency: usd"), "currency", "(write 'USD')"),
        (MINIMAL.replace("name: acme", "name: acme\ncurrency: 'E1R'"), "currency", "ISO 4217"),
        (MINIMAL + "privacy: {retain_days: {customers: 30}}\n", "privacy.retain_days", "snapshot source"),
        (MINIMAL + "privacy: {retain_days: {orders: 0}}\n", "privacy.retain_days", "1 to 36,500 days, not 0"),
        (MINIMAL + "privacy: {requests: {path: r.csv, columns: {ssn: s}}}\n", "privacy.requests.columns.ssn", "s"),
        (
            MINIMAL + SEGMENTS.format("{churn_probability: {min_percentile: 170}}"),
            "models.churn.segments.0.conditions.churn_probability.min_percentile",
            "0 to 100 (80: the top 20%), not 170",
        ),
        (
            MINIMAL + SEGMENTS.format("{churn_probability: {min: 0.4, min_percentile: 70}}"),
            "models.churn.segments.0.conditions.churn_probability",
            "either 'min' (a value) or 'min_percentile' (a share of the scored customers), not both",
        ),
    ],
)
def test_each_error_names_file_key_and_value(tmp_path, text, key, value):
    path = write(tmp_path, text)
    message = error_of(path)
    assert str(path) in message
    assert f"'{key}'" in message
    assert value in message


def test_currency_is_an_upper_case_iso_code(tmp_path):
    config = load_config(write(tmp_path, MINIMAL.replace("name: acme", "name: acme\ncurrency: GBP")), environ={})
    assert config.currency == "GBP"
    message = error_of(write(tmp_path, MINIMAL.replace("name: acme", "name: acme\ncurrency: Eur")))
    assert "key 'currency'" in message and "(value 'Eur')" in message and "(write 'EUR')" in message


def test_not_a_mapping_and_bad_yaml_name_the_file(tmp_path):
    assert "expected a mapping" in error_of(write(tmp_path, "- just\n- a list\n"))
    assert "not valid YAML" in error_of(write(tmp_path, "name: [unclosed\n"))
    assert "not found" in error_of(tmp_path / "nowhere.yaml")


SECRET = "hunter2-s3cret"


def test_a_misspelled_key_never_shows_its_value_and_suggests_the_key(tmp_path):
    path = write(
        tmp_path,
        f"""
        name: acme
        warehouse_url: postgresql://admin:{SECRET}@db.internal/warehouse
        sources:
          orders:
            path: data/orders.csv
            pasword: ${{DB_PASSWORD}}
            qurey: "select * from orders where token = '${{API_TOKEN}}'"
        """,
    )
    message = error_of(path, {"DB_PASSWORD": SECRET + "-env", "API_TOKEN": SECRET + "-token"})
    assert SECRET not in message
    assert "'warehouse_url': unknown key" in message
    assert "'sources.orders.pasword': unknown key" in message
    assert "'sources.orders.qurey': unknown key; did you mean 'query'?" in message
    assert len(message.splitlines()) == 3


def test_a_value_from_an_environment_variable_is_shown_as_written_in_the_file(tmp_path):
    path = write(tmp_path, MINIMAL.replace("name: acme", "name: acme\ntimezone: ${TZ_FROM_VAULT}"))
    message = error_of(path, {"TZ_FROM_VAULT": SECRET})
    assert "'timezone'" in message and "${TZ_FROM_VAULT}" in message
    assert SECRET not in message


def test_url_passwords_are_masked_in_every_shown_value(tmp_path):
    path = write(tmp_path, MINIMAL.replace("name: acme", f"name: acme\nas_of: 'postgresql://u:{SECRET}@h/db'"))
    message = error_of(path)
    assert "'as_of'" in message and "postgresql://u:***@h/db" in message
    assert SECRET not in message


def test_a_schema_from_the_environment_is_not_echoed(tmp_path):
    path = write(tmp_path, MINIMAL)
    message = error_of(path, {"CXDATA_WAREHOUSE_SCHEMA": f"bad schema {SECRET}"})
    assert "'warehouse_schema'" in message and "${CXDATA_WAREHOUSE_SCHEMA}" in message
    assert SECRET not in message


def test_a_yaml_error_gives_the_position_not_the_line(tmp_path):
    message = error_of(write(tmp_path, f"name: acme\nwarehouse: [postgresql://u:{SECRET}@h/db\n"))
    assert "not valid YAML at line" in message
    assert SECRET not in message


def test_a_config_that_is_not_a_readable_text_file_is_one_error(tmp_path):
    (tmp_path / "folder.yaml").mkdir()
    os.mkfifo(tmp_path / "pipe.yaml")  # reading a fifo would wait forever for a writer
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00name")
    assert "not a regular file" in error_of(tmp_path / "folder.yaml")
    assert "not a regular file" in error_of(tmp_path / "pipe.yaml")
    assert "not UTF-8 text" in error_of(tmp_path / "binary.yaml")
    assert "File name too long" in error_of(tmp_path / ("x" * 300 + ".yaml"))


def test_every_name_imported_from_cxdata_config_is_there():
    import ast

    import cxdata.config

    root = Path(__file__).resolve().parents[1]
    wanted = {
        alias.name
        for folder in ("cxdata", "pipelines", "tests", "benchmarks")
        for path in (root / folder).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module == "cxdata.config"
        for alias in node.names
    }
    assert {"ProjectConfig", "load_config", "ChurnConfig", "SourceConfig"} <= wanted
    assert sorted(name for name in wanted if not hasattr(cxdata.config, name)) == []
    assert set(cxdata.config.__all__) >= wanted


def test_the_readme_writes_out_the_default_segments():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in readme.split("```yaml")[1:] if "segments:" in b.split("```", 1)[0]]
    assert len(blocks) == 1, "README.md shows the default segments in one yaml block"
    written = yaml.safe_load(blocks[0])["models"]["churn"]["segments"]
    assert ChurnConfig(segments=written).segments == ChurnConfig().segments
