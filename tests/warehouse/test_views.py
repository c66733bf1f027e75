"""Views: BI and marketing views from sql/ on both backends, and publishing tables that views depend on."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cxdata import schema
from cxdata.churn.segments import assign_segments, definitions, segment_summary
from cxdata.config import ChurnConfig
from cxdata.warehouse import Warehouse, WarehouseError
from cxdata.warehouse.dependents import grants_on
from cxdata.warehouse.views import BI_VIEWS, MART_VIEWS, VIEWS, create_views, load_view
from tests.warehouse.bi_tables import AS_OF, EARLIER, EMAIL, PHONE, mart_frames, publish_marts

# touchpoint_scores as the touchpoint step publishes it with evidence, placebo calibration and power: one row
# per decision, listed out of order, and a touchpoint without cost (no verdict)
SCORED = pl.DataFrame(
    [
        ("search/brand", "hold", "insufficient", 0.8, 0.1, 1.6, 2.25, 11.2),
        ("email/spring", "invest", "experiment", 3.0, 1.5, 4.5, None, None),
        ("web:organic", None, None, None, None, None, None, None),
        ("display/retarget", "cut", "observational", 0.2, -0.4, 0.7, None, None),
        ("social/launch", "invest", "observational", 1.9, 1.2, 2.6, None, None),
        ("affiliate/deals", "hold", "insufficient", 1.02, 0.3, 1.9, None, None),
        ("video/teaser", "hold", "insufficient", 1.3, 0.9, 1.8, 1.4, 3.1),
    ],
    schema={
        "touchpoint": pl.String, "recommendation": pl.String, "evidence": pl.String, "roi": pl.Float64,
        "roi_low": pl.Float64, "roi_high": pl.Float64, "more_data_factor": pl.Float64, "more_weeks": pl.Float64,
    },
    orient="row",
).with_columns(
    pl.lit(AS_OF).alias("as_of"), pl.lit("marketing").alias("source"),
    pl.col("touchpoint").str.split("/").list.first().alias("channel"), pl.lit("c").alias("campaign"),
    pl.lit(2.0).alias("conversions"), pl.lit(80.0).alias("revenue"), pl.lit(40.0).alias("attributed_clv"),
    pl.lit(0.0).alias("retention_value"), pl.lit(1.0).alias("incremental_orders"),
    (pl.col("roi") * 100).alias("incremental_revenue"), (pl.col("roi") * 100).alias("incremental_value"),
    (pl.col("roi_low") * 100).alias("incremental_value_low"),
    (pl.col("roi_high") * 100).alias("incremental_value_high"),
    pl.lit(3.0).alias("placebo_bias"), pl.lit(12.0).alias("placebo_sd"),
    pl.when(pl.col("roi").is_not_null()).then(100.0).alias("cost"), pl.lit("t1").alias("model_run_id"),
    pl.lit("USD").alias("currency"),
)  # fmt: skip


# the views created over the tables of publish_marts: all but those standing for a mart it publishes as a table
TABLE_BACKED = [view.name for view in VIEWS if view.name not in MART_VIEWS]


def _run(wh, *statements: str) -> None:
    with wh.engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def test_publishing_a_table_twice_while_views_depend_on_it(wh, versioned_frame):
    wh.publish("numbers", versioned_frame(3, 1))
    q = wh._qualified  # the schema-qualified, quoted name, as a user's own DDL would write it
    _run(
        wh,
        f"create view {q('numbers_v')} as select id, version from {q('numbers')}",
        f"create view {q('numbers_vv')} as select max(version) as version from {q('numbers_v')}",
        f"comment on view {q('numbers_v')} is 'kept'",
        f"comment on column {q('numbers_v')}.version is 'the version'",
    )
    if wh.dialect == "postgresql":
        _run(wh, f"grant select on {q('numbers')} to public", f"grant select on {q('numbers_v')} to public")

    wh.publish("numbers", versioned_frame(5, 2))
    wh.publish("numbers", versioned_frame(4, 3))

    assert wh.query("select count(*) as n, max(version) as v from numbers_v").row(0) == (4, 3)
    assert wh.query("select version from numbers_vv").item() == 3
    assert wh.table_comment("numbers_v") == "kept"
    assert wh.column_comments("numbers_v") == {"id": None, "version": "the version"}
    if wh.dialect == "postgresql":
        with wh.engine.connect() as conn:
            assert [g.grantee for g in grants_on(conn, wh.schema, "numbers")] == [None]
            assert [g.privilege for g in grants_on(conn, wh.schema, "numbers_v")] == ["SELECT"]


def test_a_view_that_cannot_follow_the_new_table_stops_the_publish_on_postgresql(pg_schema, versioned_frame):
    with Warehouse(*pg_schema) as wh:
        wh.publish("numbers", versioned_frame(3, 1))
        _run(wh, f"create view {wh._qualified('numbers_v')} as select version from {wh._qualified('numbers')}")

        with pytest.raises(WarehouseError, match=r"numbers_v depends on the table being published"):
            wh.publish("numbers", pl.DataFrame({"id": [1]}))

        assert wh.query("select count(*) as n from numbers_v").item() == 3  # old table and view untouched


def test_every_view_is_created_with_a_comment_on_it_and_each_column(wh):
    publish_marts(wh)

    report = create_views(wh)

    # publish_marts publishes dim_customer as a table, standing in for its view (tests/marts/test_activity.py
    # checks the view's comments)
    assert report.created == TABLE_BACKED and set(report.skipped) == set(MART_VIEWS)
    for view in (v for v in VIEWS if v.name in TABLE_BACKED):
        documented = {c.column for c in load_view(view.name, wh.dialect).comments}
        in_catalog = wh.column_comments(view.name)
        assert wh.table_comment(view.name), view.name
        assert set(in_catalog) == documented - {None}, view.name
        assert all(in_catalog.values()), view.name


def test_bi_views_hold_no_personal_data_and_rename_for_readers(wh):
    publish_marts(wh)
    create_views(wh)

    for name in BI_VIEWS:
        frame = wh.read(name)
        assert not set(frame.columns) & schema.PERSONAL_COLUMNS, name
        text = str(frame.rows())
        assert EMAIL not in text and PHONE not in text and "Lopez" not in text, name
    overview = wh.read("bi_customer_overview").sort("customer_key")
    # buyers only: K2, an anonymous visitor, is a person in bi_people but not a customer
    assert overview.select("customer_key", "customer_kind", "orders", "lifetime_value", "segment").rows() == [
        ("K1", "buyer", 3, 61.5, "champions"),
    ]
    people = wh.read("bi_people").sort("customer_key")
    assert people.select("customer_key", "customer_kind", "acquisition_channel").rows() == [
        ("K1", "buyer", "cpc"),
        ("K2", "anonymous_visitor", "direct"),
    ]
    # the first order at 23:30 UTC is that UTC day, whatever the machine's zone
    assert str(overview["first_order_date"][0]) == "2024-01-05"
    segments = wh.read("bi_segments").filter(pl.col("is_latest")).sort("segment_order")
    assert segments.select("segment", "share_of_customers").rows() == [("champions", 0.25), ("lost", 0.75)]
    investment = wh.read("bi_touchpoint_investment")
    assert investment.select("incremental_value_per_1_spent", "spend", "currency").row(0) == (3.0, 10.0, "EUR")
    # today's touchpoint_scores has no evidence column yet: the view reads it as null instead of failing
    assert investment["evidence"].to_list() == [None]


def test_segment_definitions_show_the_latest_scoring_as_the_run_defined_it(wh):
    rules = ChurnConfig().segments
    scored = pl.DataFrame(
        {
            "customer_key": [f"c{i}" for i in range(10)],
            "clv": [float(i + 1) for i in range(10)],
            "churn_probability": [0.1 * i for i in range(10)],
            "frequency": [3.0] * 10,
            "tenure_days": [400.0] * 10,
        }
    ).with_columns((pl.col("clv") * pl.col("churn_probability")).alias("value_at_risk"))
    scored = assign_segments(scored, rules)
    latest = segment_summary(scored, rules, AS_OF, "r2")
    earlier = segment_summary(scored.head(4), rules, EARLIER, "r1")
    wh.publish("segment_summary", pl.concat([earlier, latest]))

    create_views(wh, ["segment_definitions"])
    view = wh.read("segment_definitions").sort("segment_order")

    assert view.columns == [
        "segment_order", "segment", "rule", "thresholds_json", "suggested_action", "customers",
        "share_of_customers", "as_of",
    ]  # fmt: skip
    assert set(view["as_of"]) == {AS_OF} and view["customers"].sum() == 10
    expected = definitions(latest)
    assert_frame_equal(view.select(expected.columns), expected, check_dtypes=False)
    assert view["thresholds_json"].to_list() == latest["thresholds_json"].to_list()
    assert view["rule"][3] == "value at risk in the top 20% (value_at_risk ≥ 5.6)"


def test_segment_definitions_read_a_summary_from_before_rules_were_recorded(wh):
    wh.publish("segment_summary", mart_frames()["segment_summary"])  # no rule, thresholds or action columns

    create_views(wh, ["segment_definitions"])

    view = wh.read("segment_definitions").sort("segment_order")
    assert view.select("segment", "customers", "share_of_customers").rows() == [
        ("champions", 1, 0.25),
        ("lost", 3, 0.75),
    ]
    assert view["rule"].to_list() == [None, None] and view["thresholds_json"].to_list() == [None, None]


def test_per_source_views_break_down_by_the_records_own_channel_with_zeros_on_quiet_days(wh):
    publish_marts(wh)
    create_views(wh)

    def by_day(view: str, channel: str) -> dict:
        frame = wh.read(view).filter(pl.col(channel) == pl.first(channel)).sort("day")
        return {str(day): row for day, row in zip(frame["day"], frame.iter_rows(named=True), strict=True)}

    orders = by_day("bi_orders_by_channel_daily", "order_channel")
    assert (orders["2025-06-01"]["orders"], orders["2025-06-01"]["revenue"]) == (1, 40.0)
    assert orders["2025-06-01"]["repeat_customers"] == 1 and orders["2025-06-01"]["repeat_customer_share"] == 1.0
    quiet = orders["2025-06-02"]  # a day of cx_kpis_daily without an order: 0, and no share
    assert (quiet["orders"], quiet["revenue"], quiet["new_customers"], quiet["repeat_customer_share"]) == (
        0, 0.0, 0, None,
    )  # fmt: skip
    tickets = by_day("bi_tickets_by_channel_daily", "service_channel")
    assert tickets["2025-06-01"]["median_first_response_hours"] == 2.5
    assert tickets["2025-06-01"]["median_resolution_hours"] is None  # the ticket is open
    assert (tickets["2025-06-02"]["tickets_opened"], tickets["2025-06-02"]["median_first_response_hours"]) == (
        0, None,
    )  # fmt: skip
    surveys = by_day("bi_surveys_by_channel_daily", "service_channel")
    assert (surveys["2025-06-01"]["nps_answers"], surveys["2025-06-01"]["nps_score"]) == (1, 100.0)
    assert (surveys["2025-06-02"]["nps_answers"], surveys["2025-06-02"]["nps_score"]) == (0, None)
    assert surveys["2025-06-01"]["csat_answers"] == 0 and surveys["2025-06-01"]["csat_satisfied_share"] is None
    web = by_day("bi_web_by_channel_daily", "session_channel")
    assert (web["2025-06-01"]["web_sessions"], web["2025-06-01"]["web_conversion_rate"]) == (1, 0.0)
    assert (web["2025-06-02"]["web_sessions"], web["2025-06-02"]["web_conversion_rate"]) == (0, None)


def test_touchpoint_investment_leads_with_invest_cut_hold_in_the_currency(wh):
    wh.publish("touchpoint_scores", SCORED)

    create_views(wh, ["bi_touchpoint_investment"], currency="GBP", hurdle=1.0)
    view = wh.read("bi_touchpoint_investment")

    # invest by value per 1 spent, cut worst first, hold closest to a verdict first, no verdict last
    assert view.select("decision", "touchpoint").rows() == [
        ("invest", "email/spring"), ("invest", "social/launch"), ("cut", "display/retarget"),
        ("hold", "video/teaser"), ("hold", "search/brand"), ("hold", "affiliate/deals"), (None, "web:organic"),
    ]  # fmt: skip
    assert view["decision_order"].to_list() == [1, 1, 2, 3, 3, 3, None]
    assert view.columns[:5] == ["decision_order", "decision", "touchpoint", "evidence", "decision_note"]
    # the table's own currency wins over the project setting it was scored under
    assert set(view["currency"]) == {"USD"} and set(view["hurdle"]) == {1.0}
    notes = dict(zip(view["touchpoint"], view["decision_note"], strict=True))
    assert notes["search/brand"] == (
        "Hold search/brand: returns 0.80 USD per 1 USD spent (interval 0.10 to 1.60, hurdle 1.00, evidence:"
        " insufficient); about 2.3x the data (12 more weeks) would decide it"
    )
    assert notes["email/spring"] == (
        "Invest in email/spring: returns 3.00 USD per 1 USD spent (interval 1.50 to 4.50, hurdle 1.00, evidence:"
        " experiment)"
    )
    assert notes["display/retarget"].startswith("Cut display/retarget: returns 0.20 USD per 1 USD spent")
    assert notes["affiliate/deals"].endswith("no amount of data in reach would decide it")
    assert notes["web:organic"] is None
    assert view.filter(pl.col("touchpoint") == "video/teaser").select(
        "incremental_value_low", "placebo_sd", "more_weeks"
    ).row(0) == (pytest.approx(90.0), 12.0, 3.1)


def test_bi_views_show_the_project_currency_next_to_money(wh):
    publish_marts(wh)
    wh.publish("touchpoint_scores", SCORED.drop("currency", "evidence", "more_data_factor", "more_weeks"))

    create_views(wh, currency="SEK", hurdle=1.5)

    for name in ("bi_segments", "bi_touchpoint_investment", "bi_orders_by_channel_daily"):
        assert set(wh.read(name, columns=["currency"])["currency"]) == {"SEK"}, name
    # tables that carry their currency show it, the one they were built with
    for name in ("bi_customer_overview", "bi_kpis_daily"):
        assert set(wh.read(name, columns=["currency"])["currency"]) == {"EUR"}, name
    hold = wh.read("bi_touchpoint_investment").filter(pl.col("touchpoint") == "search/brand")
    assert hold["hurdle"].item() == 1.5 and hold["evidence"].item() is None
    assert hold["decision_note"].item() == (
        "Hold search/brand: returns 0.80 SEK per 1 SEK spent (interval 0.10 to 1.60, hurdle 1.50); at the"
        " estimated effect no amount of data in reach would decide it"
    )


def test_touchpoint_investment_follows_the_table_from_before_to_after_the_evidence_columns(wh):
    older = SCORED.drop("evidence", "more_data_factor", "more_weeks", "placebo_bias", "placebo_sd", "currency")
    wh.publish("touchpoint_scores", older)
    create_views(wh, ["bi_touchpoint_investment"])

    wh.publish("touchpoint_scores", SCORED)  # the next run publishes the new columns under the view
    stand_in = wh.read("bi_touchpoint_investment")
    create_views(wh, ["bi_touchpoint_investment"])
    current = wh.read("bi_touchpoint_investment")

    # PostgreSQL keeps the stand-in nulls until the view is recreated (DuckDB binds the view anew on each read)
    assert stand_in["decision"].to_list() == current["decision"].to_list()
    assert current["evidence"].to_list()[:3] == ["experiment", "observational", "observational"]
    assert set(current["currency"]) == {"USD"} and current.columns == stand_in.columns


def test_marketing_export_carries_hashes_of_the_normalised_contacts_not_the_values(wh):
    publish_marts(wh)
    create_views(wh)

    export = wh.read("marketing_segment_export").filter(pl.col("as_of") == AS_OF).sort("customer_key")

    assert export.select("customer_key", "segment", "email_sha256", "phone_sha256", "lifetime_value").rows() == [
        (
            "K1",
            "champions",
            hashlib.sha256(EMAIL.encode()).hexdigest(),
            hashlib.sha256(PHONE.encode()).hexdigest(),
            61.5,
        ),
        ("K2", "lost", None, None, None),
    ]
    assert not set(export.columns) & schema.PERSONAL_COLUMNS


def test_views_wait_for_their_tables_and_recreating_keeps_working(wh):
    wh.publish("cx_kpis_daily", mart_frames()["cx_kpis_daily"])

    first = create_views(wh)

    assert first.created == ["bi_kpis_daily"]
    assert first.skipped["bi_customer_overview"] == ["dim_customer", "customer_scores"]
    assert first.skipped["marketing_segment_export"] == ["segment_members", "customer_scores", "dim_customer_pii"]
    publish_marts(wh)
    second = create_views(wh)
    again = create_views(wh)
    assert second.created == again.created == TABLE_BACKED
    wh.publish("dim_customer", wh.read("dim_customer").head(1))  # a base table republished under its views
    assert wh.query("select count(*) as n from bi_customer_overview").item() == 1


def test_a_changed_view_replaces_the_old_one_and_keeps_its_grants_on_postgresql(pg_schema, tmp_path, monkeypatch):
    with Warehouse(*pg_schema) as wh:
        publish_marts(wh)
        create_views(wh, ["bi_kpis_daily"])
        _run(wh, f"grant select on {wh._qualified('bi_kpis_daily')} to public")
        # a new definition with other columns cannot be CREATE OR REPLACEd; it is dropped and recreated
        (tmp_path / "bi_kpis_daily.sql").write_text(
            "create or replace view bi_kpis_daily as select k.date as day from cx_kpis_daily k;\n"
            "comment on view bi_kpis_daily is 'slim';\ncomment on column bi_kpis_daily.day is 'the day';\n",
            encoding="utf-8",
        )
        monkeypatch.setenv("CXDATA_SQL_DIR", str(tmp_path))

        create_views(wh, ["bi_kpis_daily"])

        assert wh.column_comments("bi_kpis_daily") == {"day": "the day"}
        with wh.engine.connect() as conn:
            assert [g.grantee for g in grants_on(conn, wh.schema, "bi_kpis_daily")] == [None]


def test_view_files_hold_only_their_own_view(tmp_path, monkeypatch):
    monkeypatch.setenv("CXDATA_SQL_DIR", str(tmp_path))
    (tmp_path / "bi_kpis_daily.sql").write_text("drop table cx_kpis_daily;", encoding="utf-8")
    (tmp_path / "bi_segments.sql").write_text("create view other as select 1;", encoding="utf-8")
    (tmp_path / "bi_customer_overview.sql").write_text("comment on view bi_customer_overview is 'x';")

    with pytest.raises(WarehouseError, match="may only contain 'create or replace view'"):
        load_view("bi_kpis_daily", "duckdb")
    with pytest.raises(WarehouseError, match="defines or documents 'other'"):
        load_view("bi_segments", "duckdb")
    with pytest.raises(WarehouseError, match="exactly one create statement for duckdb"):
        load_view("bi_customer_overview", "duckdb")
    with pytest.raises(WarehouseError, match=r"unknown view\(s\) \['nope'\]"):
        create_views(object(), ["nope"])  # type: ignore[arg-type]


def test_a_mart_reshaped_by_an_upgrade_drops_cxdatas_old_view_for_create_views_to_renew(pg_schema):
    # cx_kpis_daily and bi_kpis_daily as the version before (channel, not dimension) left them on PostgreSQL
    with Warehouse(*pg_schema) as wh:
        wh.publish("cx_kpis_daily", pl.DataFrame({"date": [AS_OF.date()], "channel": ["all"], "orders": [1]}))
        q = wh._qualified
        _run(wh, f"create view {q('bi_kpis_daily')} as select k.date as day, k.channel as channel from "
                 f"{q('cx_kpis_daily')} k")  # fmt: skip
        _run(wh, f"create view {q('my_kpis')} as select k.orders from {q('cx_kpis_daily')} k")

        wh.publish("cx_kpis_daily", mart_frames()["cx_kpis_daily"])  # the new shape: a user's view still fits

        assert not wh.exists("bi_kpis_daily") and wh.query("select sum(orders) as n from my_kpis").item() == 4
        create_views(wh, ["bi_kpis_daily"])
        assert wh.read("bi_kpis_daily")["dimension"].to_list() == ["total", "total"]
        # a view of the user's own that no longer fits still stops the publish
        with pytest.raises(WarehouseError, match=r"my_kpis depends on the table being published"):
            wh.publish("cx_kpis_daily", pl.DataFrame({"date": [AS_OF.date()]}))
