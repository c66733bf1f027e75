"""The report's touchpoint section: invest, cut and hold lists before the details, in the project's currency,
worded as bi_touchpoint_investment words them, on a table with or without the evidence columns."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from cxdata.report import build_report, render_html
from cxdata.report.touchpoints import touchpoint_section
from cxdata.warehouse import Warehouse
from cxdata.warehouse.views import create_views

AS_OF = dt.datetime(2025, 6, 30, tzinfo=dt.UTC)
HOLD = (
    "Hold search/brand: returns 0.80 GBP per 1 GBP spent (interval 0.10 to 1.60, hurdle 1.00, evidence:"
    " insufficient); about 2.3x the data (12 more weeks) would decide it"
)


def scores(**extra: object) -> pl.DataFrame:
    """touchpoint_scores with evidence, power and placebo columns: two invests, a cut, three holds (listed out
    of order) and a touchpoint without cost; ``extra`` adds constant columns (currency, hurdle)."""
    rows = [
        ("search/brand", "hold", "insufficient", 0.8, 0.1, 1.6, 2.25, 11.2),
        ("email/spring", "invest", "experiment", 3.0, 1.5, 4.5, None, None),
        ("web:organic", None, None, None, None, None, None, None),
        ("display/retarget", "cut", "observational", 0.2, -0.4, 0.7, None, None),
        ("social/launch", "invest", "observational", 1.9, 1.2, 2.6, None, None),
        ("affiliate/deals", "hold", "insufficient", 1.0, 0.3, 1.9, None, None),
        ("video/teaser", "hold", "insufficient", 1.3, 0.9, 1.8, 1.4, 3.1),
    ]
    names = [
        "touchpoint",
        "recommendation",
        "evidence",
        "roi",
        "roi_low",
        "roi_high",
        "more_data_factor",
        "more_weeks",
    ]
    frame = pl.DataFrame(rows, schema=names, orient="row").with_columns(
        pl.lit(AS_OF).alias("as_of"), pl.lit("marketing").alias("source"),
        pl.col("touchpoint").str.split("/").list.first().alias("channel"), pl.lit("c").alias("campaign"),
        pl.lit(2.0).alias("conversions"), pl.lit(80.0).alias("revenue"), pl.lit(40.0).alias("attributed_clv"),
        pl.lit(0.0).alias("retention_value"), pl.lit(1.0).alias("incremental_orders"),
        (pl.col("roi") * 500).alias("incremental_revenue"),
        (pl.col("roi") * 500).alias("incremental_value"), (pl.col("roi_low") * 500).alias("incremental_value_low"),
        (pl.col("roi_high") * 500).alias("incremental_value_high"), pl.lit(4.0).alias("placebo_bias"),
        pl.lit(25.0).alias("placebo_sd"), pl.when(pl.col("roi").is_not_null()).then(500.0).alias("cost"),
        pl.lit("t1").alias("model_run_id"), *(pl.lit(v).alias(k) for k, v in extra.items()),
    )  # fmt: skip
    return frame


def touchpoints_html(page: str) -> str:
    return page.split('<section id="touchpoints"')[1].split("</section>")[0]


def test_the_report_leads_with_invest_cut_hold_then_the_details_in_the_currency(duckdb_url):
    with Warehouse(duckdb_url) as wh:
        wh.publish("touchpoint_scores", scores())
        report = build_report(wh, "acme", currency="GBP")
    section = next(s for s in report.sections if s.id == "touchpoints")
    lists = {listing.key: listing.items for listing in section.listings}

    assert [listing.title for listing in section.listings] == ["Invest (2)", "Cut (1)", "Hold (3)"]
    assert [item.split(":")[0] for item in lists["invest"]] == [
        "Invest in email/spring",
        "Invest in social/launch",
    ]
    assert lists["hold"][0].startswith("Hold video/teaser") and lists["hold"][1] == HOLD
    assert lists["hold"][2].endswith("no amount of data in reach would decide it")  # estimate at the hurdle
    assert section.notes == ["No verdict without recorded spend: web:organic."]
    details = section.tables[0].frame
    assert details.columns[:4] == ["touchpoint", "decision", "evidence", "value per 1 GBP spent"]
    assert {"spend (GBP)", "placebo spread (GBP)", "incremental value low (GBP)"} <= set(details.columns)
    assert details["touchpoint"].to_list()[:3] == ["email/spring", "social/launch", "display/retarget"]

    html = touchpoints_html(render_html(report))
    positions = [html.index(marker) for marker in
                 ('data-list="invest"', 'data-list="cut"', 'data-list="hold"', "<figure", "<table")]  # fmt: skip
    assert positions == sorted(positions), positions
    assert HOLD in html and "<th>spend (GBP)</th>" in html and "value per 1 GBP spent" in html


def test_the_report_words_each_decision_as_the_bi_view_does(duckdb_url):
    with Warehouse(duckdb_url) as wh:
        wh.publish("touchpoint_scores", scores())
        create_views(wh, ["bi_touchpoint_investment"], currency="GBP", hurdle=1.0)
        view = wh.read("bi_touchpoint_investment")
        section = touchpoint_section(wh, "GBP")

    listed = [item for listing in section.listings for item in listing.items]
    assert view["decision_note"].drop_nulls().to_list() == listed
    assert HOLD in listed


def test_an_older_table_gets_the_project_currency_and_the_run_hurdle(duckdb_url):
    older = scores().drop("evidence", "more_data_factor", "more_weeks", "placebo_bias", "placebo_sd")
    run = pl.DataFrame(
        {"model_run_id": ["t1"], "kind": ["touchpoints"], "trained_at": [AS_OF],
         "config_json": [json.dumps({"hurdle": 1.25})]}
    )  # fmt: skip
    with Warehouse(duckdb_url) as wh:
        wh.publish("touchpoint_scores", older)
        wh.publish("model_runs", run)
        section = touchpoint_section(wh, "CHF")
        wh.publish("touchpoint_scores", scores(currency="USD", hurdle=1.0))
        scored_in_usd = touchpoint_section(wh, "CHF")

    hold = next(listing for listing in section.listings if listing.key == "hold").items
    # no power estimate in this table: nothing said about what would decide a hold
    assert "Hold search/brand: returns 0.80 CHF per 1 CHF spent (interval 0.10 to 1.60, hurdle 1.25)" in hold
    assert "evidence" not in section.tables[0].frame.columns
    assert "spend (CHF)" in section.tables[0].frame.columns
    # the currency and hurdle the scores were computed with win over the project's current settings
    assert "spend (USD)" in scored_in_usd.tables[0].frame.columns
    assert scored_in_usd.listings[0].items[0].startswith("Invest in email/spring: returns 3.00 USD per 1 USD")
    assert "hurdle 1.00" in scored_in_usd.listings[0].items[0]


def test_an_empty_decision_says_so(duckdb_url):
    with Warehouse(duckdb_url) as wh:
        wh.publish("touchpoint_scores", scores().filter(pl.col("recommendation") != "cut"))
        report = build_report(wh, "acme")
    html = touchpoints_html(render_html(report))
    cut = html.split('data-list="cut"')[1].split("</div>")[0]
    assert "Cut (0)" in cut and "No touchpoint falls below the hurdle with confidence." in cut
    assert "EUR per 1 EUR spent" in html  # the default currency


def test_a_run_that_kept_the_figures_says_as_of_when_they_are(duckdb_url):
    later = AS_OF + dt.timedelta(days=3)
    runs = pl.DataFrame(
        {"model_run_id": ["t1", "t2"], "kind": ["touchpoints"] * 2, "trained_at": [AS_OF, later],
         "as_of": [AS_OF, later], "mode": ["fit", "kept"], "fitted_run_id": ["t1", "t1"],
         "config_json": [json.dumps({"hurdle": 1.0})] * 2}
    )  # fmt: skip
    kept = (
        "Touchpoint figures as of 2025-06-30 00:00 UTC, computed by t1: the latest run, as of 2025-07-03 00:00"
        " UTC, kept them (touchpoints are recomputed every models.refit_every_days days)."
    )
    with Warehouse(duckdb_url) as wh:
        wh.publish("touchpoint_scores", scores())
        wh.publish("model_runs", runs.head(1))
        computed = touchpoint_section(wh, "GBP")
        wh.publish("model_runs", runs)
        report = build_report(wh, "acme", currency="GBP")
    section = next(s for s in report.sections if s.id == "touchpoints")
    assert kept not in computed.notes and kept in section.notes
    # the same decisions and details as on the day they were computed, dated by their own as_of
    assert [listing.items for listing in section.listings] == [listing.items for listing in computed.listings]
    assert section.tables[0].caption == "Details per touchpoint as of 2025-06-30 00:00 UTC"
    assert kept in touchpoints_html(render_html(report))
