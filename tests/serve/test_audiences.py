"""Audience files for Google Ads Customer Match and Meta custom audiences, on DuckDB and PostgreSQL: each
platform's headers, each value normalised as the platform documents and SHA-256 hashed where it asks, and no
internal id in the file."""

from __future__ import annotations

import datetime as dt
import hashlib

import polars as pl
import pytest

from cxdata.cli import main
from cxdata.serve.access import BadValue
from cxdata.serve.export import export
from cxdata.warehouse import Warehouse

AS_OF = dt.datetime(2026, 6, 30, 22, 0, tzinfo=dt.UTC)
PII = pl.DataFrame(
    {
        "customer_key": ["K1", "K2", "K3"],
        "email": ["  Joe.Bloggs@Example.COM ", None, "ana@example.es"],
        "phone": ["+44 844 412 4653", "+34600111222", None],
        "first_name": ["  Ana  María ", "O'Neil", None],
        "last_name": ["de la Fuente", "Smith-Jones", ""],
        "postcode": ["SW1A 1AA", "28001", None],
        "country": ["gb", "Spain", "ES"],
    }
)
CONSENT = pl.DataFrame(
    {"customer_key": ["K1", "K2", "K3"], "consent_email": [True] * 3, "consent_sms": [True] * 3,
     "consent_ads": [True] * 3}
)  # fmt: skip
MEMBERS = pl.DataFrame(
    {"segment": ["lost"] * 3 + ["champions"], "customer_key": ["K1", "K2", "K3", "K1"], "as_of": [AS_OF] * 4}
)


def sha(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


# each member's expected row, normalised by hand from the platforms' documented rules
GOOGLE = [
    {"Email": sha("joe.bloggs@example.com"), "Phone": sha("+448444124653"), "First Name": sha("anamaría"),
     "Last Name": sha("delafuente"), "Country": "GB", "Zip": "SW1A 1AA"},
    {"Email": None, "Phone": sha("+34600111222"), "First Name": sha("o'neil"), "Last Name": sha("smith-jones"),
     "Country": None, "Zip": "28001"},
    {"Email": sha("ana@example.es"), "Phone": None, "First Name": None, "Last Name": None, "Country": "ES",
     "Zip": None},
]  # fmt: skip
META = [
    {"email": sha("joe.bloggs@example.com"), "phone": sha("448444124653"), "fn": sha("anamaría"),
     "ln": sha("delafuente"), "zip": sha("sw1a1aa"), "country": sha("gb")},
    {"email": None, "phone": sha("34600111222"), "fn": sha("oneil"), "ln": sha("smithjones"), "zip": sha("28001"),
     "country": None},
    {"email": sha("ana@example.es"), "phone": None, "fn": None, "ln": None, "zip": None, "country": sha("es")},
]  # fmt: skip


@pytest.fixture
def warehouse(warehouse_target):
    url, schema = warehouse_target
    with Warehouse(url, schema) as wh:
        wh.publish("dim_customer_pii", PII)
        wh.publish("segment_members", MEMBERS)
        wh.publish("customer_consent", CONSENT)
        yield wh


@pytest.mark.parametrize(("template", "expected"), [("google", GOOGLE), ("meta", META)])
def test_audience_files_carry_the_platforms_columns_normalised_and_hashed(warehouse, tmp_path, template, expected):
    out = tmp_path / f"{template}.csv"
    result = export(warehouse, "lost", out, day=AS_OF.date(), template=template, purpose="ads")
    assert result.rows == 3
    written = pl.read_csv(out, infer_schema=False)
    assert written.columns == list(expected[0])  # the platform's headers only: no customer_key, no scores
    assert written.to_dicts() == expected


def test_an_unknown_template_is_refused(warehouse, tmp_path):
    with pytest.raises(BadValue, match="google, meta"):
        export(warehouse, "lost", tmp_path / "x.csv", day=AS_OF.date(), template="tiktok")


def test_cli_writes_an_audience_file(tmp_path, capsys, monkeypatch):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    with Warehouse(url) as wh:
        wh.publish("dim_customer_pii", PII)
        wh.publish("segment_members", MEMBERS)
        wh.publish("customer_consent", CONSENT)
    config = tmp_path / "cxdata.yaml"
    config.write_text(f"name: t\nwarehouse: {url}\nsources:\n  orders: {{path: o.csv}}\n", encoding="utf-8")
    out = tmp_path / "meta.csv"
    args = [
        "segments",
        "export",
        "lost",
        "--config",
        str(config),
        "--out",
        str(out),
        "--template",
        "meta",
        "--purpose",
        "ads",
    ]
    assert main(args) == 0
    assert "meta audience columns" in capsys.readouterr().out
    assert pl.read_csv(out, infer_schema=False).to_dicts() == META
