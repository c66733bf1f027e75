"""Roles on the real PostgreSQL server: cxdata_bi and cxdata_marketing read what they should and nothing personal.

Roles are cluster-wide, so every test grants only inside its own fresh schema
(dropped afterwards with its grants) and drops any extra role it creates.
"""

from __future__ import annotations

import datetime as dt
import uuid

import polars as pl
import pytest
import sqlalchemy as sa

from cxdata.cli import main
from cxdata.warehouse import Warehouse, WarehouseError
from cxdata.warehouse.roles import (
    BI_ROLE,
    MARKETING_ROLE,
    grant_roles,
    is_personal,
    readable_by,
    withheld_columns,
)
from cxdata.warehouse.views import create_views
from tests.warehouse.bi_tables import EMAIL, publish_marts

DENIED = "42501"  # insufficient_privilege
COOKIE = "ck-7f3a9"
SESSIONS = pl.DataFrame(
    {
        "session_id": [f"{COOKIE}-1719741000000000", "ck-0001-1719741600000000"],
        "anonymous_id": [COOKIE, "ck-0001"],
        "customer_key": ["K1", None],
        "started_at": [dt.datetime(2025, 6, 30, 10, tzinfo=dt.UTC), dt.datetime(2025, 6, 30, 11, tzinfo=dt.UTC)],
        "session_date": [dt.date(2025, 6, 30)] * 2,
        "landing_page": [f"/reset?email={EMAIL}", "/pricing"],
        "landing_path": ["/reset", "/pricing"],
        "utm_source": ["newsletter", None],
        "referrer": [f"https://mail.example.com/inbox?u={EMAIL}", None],
        "referrer_host": ["mail.example.com", None],
        "channel": ["email", "direct"],
        "converted": [True, False],
    }
)
PERSONAL_SESSION_COLUMNS = ("session_id", "anonymous_id", "landing_page", "referrer")


@pytest.fixture
def granted(pg_schema):
    """A schema with marts, personal tables and views, granted to the two roles."""
    url, db_schema = pg_schema
    with Warehouse(url, db_schema) as wh:
        publish_marts(wh)
        wh.publish("customer_identity", pl.DataFrame({"identifier_type": ["email"], "identifier_value": [EMAIL]}))
        wh.publish("stg_customers", pl.DataFrame({"customer_ref": ["C1"], "email": [EMAIL]}))
        wh.publish("quarantine_orders", pl.DataFrame({"rule": ["x"], "original": [f'{{"email": "{EMAIL}"}}']}))
        # a table nobody classified, but it carries a personal column by name
        wh.publish("new_mart", pl.DataFrame({"customer_key": ["K1"], "phone": ["+34600111222"]}))
        wh.publish("fct_web_sessions", SESSIONS)
        create_views(wh)
        report = grant_roles(wh)
        yield wh, report


def read_as(wh: Warehouse, role: str, sql: str) -> list[tuple] | str:
    """Rows of ``sql`` run as ``role`` (SET ROLE), or the SQLSTATE of the refusal."""
    with wh.engine.connect() as conn:
        conn.exec_driver_sql(f"SET ROLE {wh._quote(role)}")
        try:
            return [tuple(row) for row in conn.execute(sa.text(sql)).all()]
        except sa.exc.DBAPIError as exc:
            return exc.orig.sqlstate
        finally:
            conn.rollback()


def test_bi_role_reads_bi_views_and_marts_but_no_personal_data(granted):
    wh, _ = granted

    assert read_as(wh, BI_ROLE, "select count(*) from bi_customer_overview") == [(1,)]  # buyers only
    assert read_as(wh, BI_ROLE, "select count(*) from bi_people") == [(2,)]
    assert read_as(wh, BI_ROLE, "select count(*) from bi_web_by_channel_daily") == [(4,)]  # 2 days x 2 channels
    assert read_as(wh, BI_ROLE, "select count(*) from bi_segments") == [(3,)]
    assert read_as(wh, BI_ROLE, "select segment, customers from segment_definitions order by segment_order") == [
        ("champions", 1),
        ("lost", 3),
    ]
    assert read_as(wh, BI_ROLE, "select count(*) from dim_customer") == [(2,)]
    assert read_as(wh, BI_ROLE, "select count(*) from customer_scores") == [(1,)]
    assert read_as(wh, BI_ROLE, "select email from dim_customer_pii") == DENIED
    assert read_as(wh, BI_ROLE, "select customer_key from dim_customer_pii") == DENIED
    assert read_as(wh, BI_ROLE, "select identifier_value from customer_identity") == DENIED
    assert read_as(wh, BI_ROLE, "select email from stg_customers") == DENIED
    assert read_as(wh, BI_ROLE, "select original from quarantine_orders") == DENIED
    assert read_as(wh, BI_ROLE, "select phone from new_mart") == DENIED
    assert read_as(wh, BI_ROLE, "select email_sha256 from marketing_segment_export") == DENIED


def test_bi_role_reads_web_sessions_but_not_cookie_ids_or_raw_urls(granted):
    wh, report = granted

    for column in PERSONAL_SESSION_COLUMNS:
        assert read_as(wh, BI_ROLE, f"select {column} from fct_web_sessions") == DENIED, column
    assert read_as(wh, BI_ROLE, "select * from fct_web_sessions") == DENIED
    assert read_as(wh, BI_ROLE, "select count(*) from fct_web_sessions") == [(2,)]
    rows = read_as(
        wh,
        BI_ROLE,
        "select customer_key, started_at, landing_path, utm_source, referrer_host, channel, converted"
        " from fct_web_sessions order by started_at",
    )
    assert isinstance(rows, list) and [row[2] for row in rows] == ["/reset", "/pricing"]
    assert [(row[4], row[5]) for row in rows] == [("mail.example.com", "email"), (None, "direct")]
    assert not [row for row in rows if COOKIE in str(row) or EMAIL in str(row)]
    assert read_as(wh, MARKETING_ROLE, "select channel from fct_web_sessions") == DENIED
    assert report.withheld_columns == {"fct_web_sessions": list(PERSONAL_SESSION_COLUMNS)}
    assert "fct_web_sessions" in report.readable[BI_ROLE] and "fct_web_sessions" not in report.withheld


def test_marketing_role_reads_segments_and_the_pseudonymous_export_only(granted):
    wh, _ = granted

    exported = read_as(wh, MARKETING_ROLE, "select customer_key, email_sha256 from marketing_segment_export")
    assert isinstance(exported, list) and len(exported) == 3
    assert all(EMAIL not in str(row) for row in exported)
    assert read_as(wh, MARKETING_ROLE, "select count(*) from segment_members") == [(3,)]
    assert read_as(wh, MARKETING_ROLE, "select count(*) from customer_scores") == [(1,)]
    assert read_as(wh, MARKETING_ROLE, "select count(*) from segment_definitions") == [(2,)]
    assert read_as(wh, MARKETING_ROLE, "select email from dim_customer_pii") == DENIED
    assert read_as(wh, MARKETING_ROLE, "select count(*) from dim_customer") == DENIED
    assert read_as(wh, MARKETING_ROLE, "select email from stg_customers") == DENIED


def _acl(wh: Warehouse) -> list[tuple]:
    """(relation, column or '', grantee, privilege) of every table and column privilege the roles hold."""
    return wh.query(
        "select c.relname as relation, '' as col, pg_get_userbyid(a.grantee) as grantee,"
        " a.privilege_type as privilege"
        " from pg_class c join pg_namespace n on n.oid = c.relnamespace, aclexplode(c.relacl) a"
        " where n.nspname = :schema and pg_get_userbyid(a.grantee) in (:bi, :marketing)"
        " union all"
        " select c.relname, t.attname, pg_get_userbyid(a.grantee), a.privilege_type"
        " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " join pg_attribute t on t.attrelid = c.oid and t.attnum > 0 and not t.attisdropped,"
        " aclexplode(t.attacl) a"
        " where n.nspname = :schema and pg_get_userbyid(a.grantee) in (:bi, :marketing) order by 1, 2, 3, 4",
        {"schema": wh.schema, "bi": BI_ROLE, "marketing": MARKETING_ROLE},
    ).rows()


def test_granting_is_idempotent_and_takes_back_what_it_did_not_grant(granted):
    wh, first = granted
    before = _acl(wh)
    with wh.engine.begin() as conn:
        conn.exec_driver_sql(f"GRANT SELECT, INSERT ON {wh._qualified('dim_customer_pii')} TO {BI_ROLE}")
        conn.exec_driver_sql(f"GRANT INSERT ON {wh._qualified('dim_customer')} TO {BI_ROLE}")
        conn.exec_driver_sql(f"GRANT SELECT (anonymous_id) ON {wh._qualified('fct_web_sessions')} TO {BI_ROLE}")

    second = grant_roles(wh)

    assert _acl(wh) == before
    assert second.readable == first.readable
    assert ("dim_customer", "", BI_ROLE, "SELECT") in before
    assert not [row for row in before if row[0] == "dim_customer_pii"]
    sessions = {row[1] for row in before if row[0] == "fct_web_sessions"}
    assert sessions == set(SESSIONS.columns) - set(PERSONAL_SESSION_COLUMNS)  # column by column, no table grant
    assert first.withheld == [
        "customer_identity",
        "dim_customer_pii",
        "new_mart",
        "quarantine_orders",
        "stg_customers",
    ]


def test_grants_survive_republishing_tables_under_the_views(granted):
    wh, _ = granted

    wh.publish("dim_customer", wh.read("dim_customer").head(1))
    wh.publish("customer_scores", wh.read("customer_scores"))
    wh.publish("fct_web_sessions", SESSIONS.head(1))

    assert read_as(wh, BI_ROLE, "select count(*) from dim_customer") == [(1,)]
    assert read_as(wh, BI_ROLE, "select landing_path, channel from fct_web_sessions") == [("/reset", "email")]
    assert read_as(wh, BI_ROLE, "select anonymous_id from fct_web_sessions") == DENIED
    assert read_as(wh, BI_ROLE, "select count(*) from bi_customer_overview") == [(1,)]
    assert read_as(wh, MARKETING_ROLE, "select count(*) from customer_scores") == [(1,)]
    assert read_as(wh, BI_ROLE, "select email from dim_customer_pii") == DENIED


def test_hostile_names_are_refused_before_any_sql_runs(granted):
    wh, _ = granted
    hostile = "x'; drop table customer_scores; --"

    with pytest.raises(WarehouseError, match="invalid schema name"):
        Warehouse(wh.engine.url, hostile)
    with pytest.raises(WarehouseError, match="invalid role name"):
        grant_roles(wh, bi_role=hostile)
    with pytest.raises(WarehouseError, match="invalid member role name"):
        grant_roles(wh, members={BI_ROLE: ['"; drop role postgres; --']})
    assert wh.exists("customer_scores")


def test_role_and_member_names_are_quoted_not_folded(granted):
    wh, _ = granted
    suffix = uuid.uuid4().hex[:8]
    role, member = f"Bi_Team_{suffix}", f"Login_{suffix}"
    with wh.engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{member}" LOGIN')
    try:
        report = grant_roles(wh, bi_role=role, members={role: [member]})

        assert role in report.readable
        assert read_as(wh, role, "select count(*) from bi_kpis_daily") == [(2,)]
        assert read_as(wh, member, "select count(*) from bi_kpis_daily") == [(2,)]  # through membership
        assert read_as(wh, role, "select email from dim_customer_pii") == DENIED
        with pytest.raises(WarehouseError, match="no such role"):
            grant_roles(wh, members={BI_ROLE: [f"missing_{suffix}"]})
    finally:
        with wh.engine.begin() as conn:
            for name in (member, role):
                conn.exec_driver_sql(f'DROP OWNED BY "{name}"; DROP ROLE IF EXISTS "{name}"')


def test_classification_keeps_personal_tables_and_foreign_views_from_bi():
    relations = {
        "dim_customer": ("table", ["customer_key", "orders_count"]),
        "fct_orders": ("table", ["order_id", "customer_key"]),
        "customer_identity": ("table", ["identifier_value"]),
        "stg_orders": ("table", ["order_id"]),
        "export_copy": ("table", ["customer_key", "email"]),
        "bi_kpis_daily": ("view", ["day"]),
        "someones_view": ("view", ["x"]),
        "segment_members": ("table", ["segment", "customer_key"]),
    }

    access = readable_by(relations)

    assert access["bi"] == ["bi_kpis_daily", "dim_customer", "fct_orders", "segment_members"]
    assert access["marketing"] == ["segment_members"]
    assert is_personal("dim_customer_pii", ["customer_key"]) and not is_personal("dim_customer", ["customer_key"])
    # identity's link table and record hashes carry identifiers (in clear or hashed): owner only
    assert is_personal("identity_links", ["record_id"]) and is_personal("identity_record_hashes", ["row_hash"])
    assert not is_personal("identity_touched", ["customer_key"])
    hidden = withheld_columns(
        {
            "fct_web_sessions": ("table", ["session_id", "anonymous_id", "landing_path", "referrer", "channel"]),
            "web_pages": ("table", ["page_url", "title"]),
            "fct_orders": ("table", ["order_id", "customer_key"]),
        }
    )
    assert hidden == {"fct_web_sessions": ["session_id", "anonymous_id", "referrer"], "web_pages": ["page_url"]}


def test_grant_command_on_duckdb_says_roles_are_postgresql_only(tmp_path, capsys):
    (tmp_path / "orders.csv").write_text("order_id,ordered_at,amount\n1,2024-01-01,3\n", encoding="utf-8")
    (tmp_path / "cxdata.yaml").write_text(
        f"name: m\nwarehouse: duckdb:///{tmp_path / 'wh.duckdb'}\nsources:\n  orders: {{path: orders.csv}}\n",
        encoding="utf-8",
    )

    assert main(["grant", "--config", str(tmp_path / "cxdata.yaml")]) == 0
    assert "roles are a PostgreSQL feature" in capsys.readouterr().out
    with Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}") as wh, pytest.raises(WarehouseError, match="PostgreSQL"):
        grant_roles(wh)


def test_grant_command_on_postgresql_grants_and_reports(pg_schema, tmp_path, capsys, monkeypatch):
    url, db_schema = pg_schema
    with Warehouse(url, db_schema) as wh:
        publish_marts(wh)
        wh.publish("fct_web_sessions", SESSIONS)
    (tmp_path / "orders.csv").write_text("order_id,ordered_at,amount\n1,2024-01-01,3\n", encoding="utf-8")
    (tmp_path / "cxdata.yaml").write_text("name: m\nsources:\n  orders: {path: orders.csv}\n", encoding="utf-8")
    monkeypatch.setenv("CXDATA_WAREHOUSE_URL", url)
    monkeypatch.setenv("CXDATA_WAREHOUSE_SCHEMA", db_schema)

    assert main(["grant", "--config", str(tmp_path / "cxdata.yaml")]) == 0

    out = capsys.readouterr().out
    assert f"{BI_ROLE} reads" in out and "withheld as personal data: dim_customer_pii" in out
    shown = [line for line in out.splitlines() if line.startswith("withheld columns:")]
    assert shown == [f"withheld columns: fct_web_sessions({', '.join(PERSONAL_SESSION_COLUMNS)})"]
    with Warehouse(url, db_schema) as wh:
        assert read_as(wh, BI_ROLE, "select count(*) from dim_customer") == [(2,)]
