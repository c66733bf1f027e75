"""The HTML report: every section from a full project and an orders-only one, on DuckDB and PostgreSQL,
escaping of warehouse values, known aggregates, and the page rendered in headless Chromium."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import stat

import polars as pl
import pytest

from cxdata import files
from cxdata.churn.step import churn_step
from cxdata.cli import main
from cxdata.clv.step import clv_step
from cxdata.config import ChurnConfig, load_config
from cxdata.errors import OutputError
from cxdata.identity.step import identity_step
from cxdata.io.step import stage_step
from cxdata.marts.step import mart_step, marts_for
from cxdata.report import Report, build_report, render_html, save_report
from cxdata.report.cx import weekly_kpis
from cxdata.report.document import cell
from cxdata.report.scores import churn_backtest, churn_section
from cxdata.run_context import RunContext, run_context
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse
from cxdata.warehouse.views import MART_VIEWS
from tests.browser import rendered_dom

SECTION_IDS = ["kpis", "journey", "value", "churn", "touchpoints", "identity"]
FULL_FIGURES = {"kpi_trends", "journey_funnel", "clv_distribution", "segment_value_at_risk", "touchpoint_roi",
                "identity_stats"}  # fmt: skip
UTC = dt.UTC
NOW = dt.datetime.now(UTC)  # the runs' start: staging measures future rows from it


def planted_touchpoints(as_of: dt.datetime) -> pl.DataFrame:
    """touchpoint_scores rows with known ROI order, one campaign name that is markup, an older as_of row."""
    rows = [
        ("email/<b>spring</b>", "email", "<b>spring</b>", 1.8, 1.2, 2.4, "invest"),
        ("search/brand", "search", "brand", 0.4, -0.1, 0.9, "hold"),
        ("display/retarget", "display", "retarget", -0.6, -0.9, -0.2, "cut"),
    ]
    frame = pl.DataFrame(
        rows, schema=["touchpoint", "channel", "campaign", "roi", "roi_low", "roi_high", "recommendation"],
        orient="row",
    )  # fmt: skip
    frame = frame.with_columns(
        pl.lit(as_of).alias("as_of"),
        pl.lit(10).alias("conversions"),
        pl.lit(1000.0).alias("revenue"),
        pl.lit(500.0).alias("attributed_clv"),
        pl.lit(50.0).alias("retention_value"),
        pl.lit(300.0).alias("incremental_revenue"),
        pl.lit(200.0).alias("cost"),
        pl.lit("r1/touchpoints").alias("model_run_id"),
    )
    stale = frame.head(1).with_columns(
        pl.lit(as_of - dt.timedelta(days=30)).alias("as_of"), pl.lit("stale/old").alias("touchpoint")
    )
    return pl.concat([frame, stale])


def build_warehouse(config, url: str, tables: list[str], touchpoints: bool) -> None:
    """Stage, resolve, build marts, CLV and churn with the library steps (no orchestrator): quick and equal."""
    clv = config.models.clv.model_copy(update={"penalizers": [0.01], "model": "bgnbd"})
    churn = config.models.churn.model_copy(update={"cutoffs": 2, "max_iter": 60, "importance_repeats": 1})
    models = config.models.model_copy(update={"clv": clv, "churn": churn})
    sources = {t: s for t, s in config.sources.items() if t in tables}
    config = config.model_copy(update={"models": models, "sources": sources, "warehouse": url})
    with Warehouse(url) as wh:
        for table in config.sources:
            stage_step(wh, config, table, "r1", NOW)
        run = run_context(wh, config, "r1", NOW)
        identity_step(wh, config, run)
        for mart in marts_for(config):
            mart_step(wh, config, mart, run)
        assert clv_step(wh, config, run).failed is None
        assert churn_step(wh, config, run).failed is None
        if touchpoints:
            wh.publish("touchpoint_scores", planted_touchpoints(wh.read("customer_scores")["as_of"][0]))


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    generate_project(root / "p", SynthParams(customers=300, seed=11))
    config = load_config(root / "p" / "cxdata.yaml")
    full, orders = f"duckdb:///{root / 'full.duckdb'}", f"duckdb:///{root / 'orders.duckdb'}"
    build_warehouse(config, full, list(config.sources), touchpoints=True)
    build_warehouse(config, orders, ["orders"], touchpoints=False)
    return {"config": config, "full": full, "orders": orders, "root": root}


@pytest.fixture(scope="module")
def full_report(projects):
    with Warehouse(projects["full"]) as wh:
        return build_report(wh, "acme")


def test_the_first_screen_names_the_invest_and_cut_lists_and_the_total_value_at_risk(projects, full_report):
    with Warehouse(projects["full"]) as wh:
        scores = wh.read("touchpoint_scores")
        summary = wh.read("segment_summary")
    scores = scores.filter(pl.col("as_of") == scores["as_of"].max())
    summary = summary.filter(pl.col("as_of") == summary["as_of"].max())
    invest, cut, risk = full_report.glance
    for line, decision in ((invest, "invest"), (cut, "cut")):
        names = sorted(scores.filter(pl.col("recommendation") == decision)["touchpoint"].to_list())
        listed = line.split(": ", 1)[1].rstrip(".")
        assert listed.split(", ") == names if names else "no touchpoint" in listed, (line, names)
    total = cell(float(summary["total_value_at_risk"].sum()))
    assert risk.startswith(f"Total value at risk: {total} EUR over ") and summary.height > 1
    page = render_html(full_report)
    assert page.index('id="glance"') < page.index("<section") and "Total value at risk" in page


def test_a_run_dates_its_report_by_its_start_and_as_of(projects):
    started = dt.datetime(2026, 7, 1, 4, 5, 6, tzinfo=UTC)
    run = RunContext("r2", dt.datetime(2026, 5, 31, 21, 59, 59, 999999, UTC), started)
    with Warehouse(projects["full"]) as wh:
        by_run = build_report(wh, "acme", run=run)
        alone = build_report(wh, "acme")
    assert (by_run.built_at, by_run.as_of) == ("2026-07-01 04:05 UTC", "2026-05-31 21:59 UTC")
    # outside a run the report is as of what dim_customer holds: the end of the config's as_of day in Madrid
    assert alone.as_of == "2026-06-30 21:59 UTC" and alone.built_at != by_run.built_at


def shape(report) -> list[tuple]:
    """What a report shows apart from float digits: sections, emptiness, figures, table captions and sizes."""
    return [
        (
            s.id,
            s.empty,
            [f.name for f in s.figures],
            [(t.caption, t.frame.columns, t.frame.height) for t in s.tables],
        )
        for s in report.sections
    ]


def test_postgresql_warehouse_gives_the_same_report(projects, full_report, pg_schema):
    url, schema = pg_schema
    with Warehouse(projects["full"]) as source, Warehouse(url, schema=schema) as target:
        # dim_customer is a view (MART_VIEWS): its rows are copied as a table
        for table in [*source.tables(), *(view for view in MART_VIEWS if source.exists(view))]:
            target.publish(table, source.read(table))
    with Warehouse(url, schema=schema) as wh:
        report = build_report(wh, "acme")
    assert shape(report) == shape(full_report)
    counted = {"journey": 0, "identity": 1}  # integer tables: equal to the last digit
    for section_id, table in counted.items():
        ours = next(s for s in report.sections if s.id == section_id).tables[table].frame
        theirs = next(s for s in full_report.sections if s.id == section_id).tables[table].frame
        assert ours.equals(theirs), (ours, theirs)


def test_full_project_has_every_section_with_figures_and_known_values(projects, full_report):
    report = full_report
    with Warehouse(projects["full"]) as wh:
        stages = wh.read("dim_customer", columns=["journey_stage"])
        keys = wh.read("identity_record_keys", columns=["customer_key"])["customer_key"].drop_nulls()
    sections = {s.id: s for s in report.sections}
    assert list(sections) == SECTION_IDS
    assert all(s.empty is None for s in report.sections), [(s.id, s.empty) for s in report.sections]
    names = [f.name for f in report.figures]
    assert set(names) >= FULL_FIGURES and len(names) == len(set(names))
    assert all(f.png[:8] == b"\x89PNG\r\n\x1a\n" for f in report.figures)
    funnel = sections["journey"].tables[0].frame
    assert funnel["customers"].sum() == stages.height
    assert funnel["journey_stage"].to_list()[:5] == ["research", "compare", "purchase", "use_repurchase", "lapsed"]
    identity = dict(sections["identity"].tables[0].frame.iter_rows())
    assert identity["resolved customers"] == f"{keys.n_unique():,}"
    kpi_tables = {t.caption.split(" over ")[0]: t.frame for t in sections["kpis"].tables}
    whole = kpi_tables["KPIs by period (all customers)"].filter(pl.col("period") == "whole history")
    for breakdown in ("KPIs by acquisition channel", "KPIs by customer kind"):  # each adds up to the whole
        assert kpi_tables[breakdown]["revenue (EUR)"].sum() == pytest.approx(whole["revenue (EUR)"].item())
    assert set(kpi_tables["KPIs by customer kind"]["customer_kind"]) <= {
        "buyer",
        "known_contact",
        "anonymous_visitor",
    }
    touch = sections["touchpoints"].tables[0].frame
    assert touch["touchpoint"].to_list() == ["email/<b>spring</b>", "display/retarget", "search/brand"]
    lists = {listing.key: listing.items for listing in sections["touchpoints"].listings}
    assert [item.split(":")[0] for item in lists["cut"]] == ["Cut display/retarget"]
    defined = next(t for t in sections["value"].tables if t.caption.startswith("Segment definitions")).frame
    with Warehouse(projects["full"]) as wh:
        members = wh.read("segment_members").group_by("segment").len()
    assert defined["segment"].to_list() == [rule.name for rule in ChurnConfig().segments]
    assert dict(zip(defined["segment"], defined["customers"], strict=True)) == {
        name: dict(members.iter_rows()).get(name, 0) for name in defined["segment"]
    }
    assert defined["rule"][3].startswith("value at risk in the top 20% (value_at_risk ≥ ")
    assert defined["share (%)"].sum() == pytest.approx(100, abs=0.5)
    assert defined["suggested action"].null_count() == 0
    churn = sections["churn"].tables[1].frame
    assert churn.filter(pl.col("chosen"))["model"].to_list() == [sections["churn"].tables[0].frame["value"][1]]
    assert set(churn["model"]) >= {"churn_hgb", "churn_rfm_logit", "btyd_baseline"}
    page = render_html(report)
    assert "email/<b>spring</b>" not in page and "email/&lt;b&gt;spring&lt;/b&gt;" in page
    assert page.count("data:image/png;base64,") == len(report.figures)
    for figure in report.figures:
        assert base64.b64encode(figure.png).decode() in page


def test_orders_only_project_builds_and_says_what_is_missing(projects):
    with Warehouse(projects["orders"]) as wh:
        report = build_report(wh, "orders_only")
    sections = {s.id: s for s in report.sections}
    assert list(sections) == SECTION_IDS
    assert sections["touchpoints"].empty == "No touchpoint scores yet: touchpoint_scores is missing or empty."
    kpis = sections["kpis"]
    assert kpis.empty is None and [f.name for f in kpis.figures] == ["kpi_trends"]
    assert any("No data for CSAT" in note and "Web conversion rate" in note for note in kpis.notes)
    assert "csat" not in kpis.tables[0].frame.columns and "revenue (EUR)" in kpis.tables[0].frame.columns
    assert sections["value"].figures and sections["identity"].tables
    page = render_html(report)
    for section_id in SECTION_IDS:
        assert f'<section id="{section_id}"' in page
    assert "No touchpoint scores yet" in page


def test_weekly_kpis_weight_rates_by_their_counts():
    days = [dt.date(2025, 3, 3), dt.date(2025, 3, 4), dt.date(2025, 3, 10)]  # two Mondays
    daily = pl.LazyFrame(
        {
            "date": days, "dimension": ["total"] * 3, "dimension_value": ["all"] * 3, "csat": [1.0, 0.5, None],
            "csat_responses": [1, 3, 0],
            "nps": [50.0, -50.0, 10.0], "nps_responses": [3, 1, 2], "ces_mean": [None, None, None],
            "ces_responses": [0, 0, 0], "median_first_response_hours": [2.0, 4.0, 1.0],
            "tickets_opened": [1, 1, 4],
            "sessions": [10, 30, 0], "converted_sessions": [1, 3, 0], "orders": [2, 3, 4],
            "revenue": [10.0, 20.0, 5.0], "new_customers": [1, 1, 2], "repeat_customers": [1, 2, 0],
        }
    )  # fmt: skip
    weeks = weekly_kpis(daily).collect().rows_by_key("week", named=True, unique=True)
    first, second = weeks[dt.date(2025, 3, 3)], weeks[dt.date(2025, 3, 10)]
    assert first["csat"] == pytest.approx(2.5 / 4) and second["csat"] is None
    assert first["nps"] == pytest.approx(25.0) and first["ces_mean"] is None
    assert first["median_first_response_hours"] == pytest.approx(3.0)
    assert first["conversion_rate"] == pytest.approx(0.1) and second["conversion_rate"] is None
    assert first["revenue"] == 15.0 and first["orders"] == 2.5 and first["repeat_rate"] == pytest.approx(3 / 5)


def test_churn_backtest_labels_scores_by_the_orders_that_followed(duckdb_url):
    as_of = dt.datetime(2025, 1, 1, tzinfo=UTC)
    history = pl.DataFrame(
        {"customer_key": ["a", "b", "c", "d"], "as_of": [as_of] * 4, "churn_probability": [0.1, 0.2, 0.8, 0.9]}
    )
    moment = [as_of + dt.timedelta(days=d) for d in (5, 40, 95, 10, 120)]
    orders = pl.DataFrame(
        {
            "customer_key": ["a", "b", "c", "d", "a"],
            "ordered_at": moment,
            "is_refund": [False, False, False, True, False],
        }
    )
    with Warehouse(duckdb_url) as wh:
        wh.publish("customer_scores_history", history)
        wh.publish("fct_orders", orders)
        found = churn_backtest(wh, horizon_days=90)
        too_long = churn_backtest(wh, horizon_days=200)
    assert found is not None and too_long is None
    moment_found, y, p = found
    labels = dict(zip(p.tolist(), y.tolist(), strict=True))
    # a, b bought within 90 days; c only after (day 95); d's order was a refund
    assert moment_found == as_of and labels == {0.1: False, 0.2: False, 0.8: True, 0.9: True}


def churn_run(as_of: dt.datetime, candidates: dict) -> pl.DataFrame:
    """A model_runs row of an ok churn run with the given holdout metrics."""
    row = {
        "model_run_id": "r1/churn", "run_id": "r1", "kind": "churn", "status": "ok", "failure_reason": None,
        "model": "churn_hgb", "trained_at": as_of, "as_of": as_of, "calibration_end": as_of, "horizon_days": 90,
        "n_customers": 4, "training_rows": 8, "warnings": None, "candidates_json": json.dumps(candidates),
        "importances_json": json.dumps([{"feature": "recency", "importance": 0.2, "sd": 0.01}]),
    }  # fmt: skip
    return pl.DataFrame([row])


def test_churn_calibration_from_stored_bins_else_from_a_backtest(duckdb_url):
    as_of = dt.datetime(2025, 1, 1, tzinfo=UTC)
    bins = {"predicted": [0.1, 0.5, 0.9], "observed": [0.12, 0.45, 0.93]}
    stored = {"churn_hgb": {"auc": 0.8, "calibration": bins}, "btyd_baseline": {"auc": 0.7}}
    history = pl.DataFrame({"customer_key": ["a", "b"], "as_of": [as_of] * 2, "churn_probability": [0.2, 0.7]})
    orders = pl.DataFrame(
        {"customer_key": ["a"], "ordered_at": [as_of + dt.timedelta(days=100)], "is_refund": [False]}
    )
    with Warehouse(duckdb_url) as wh:
        wh.publish("model_runs", churn_run(as_of, stored))
        from_bins = churn_section(wh)
        wh.publish("model_runs", churn_run(as_of, {"churn_hgb": {"auc": 0.8}}))
        nothing = churn_section(wh)
        wh.publish("customer_scores_history", history)
        wh.publish("fct_orders", orders)
        backtest = churn_section(wh)
    assert [f.name for f in from_bins.figures] == ["churn_calibration"]
    assert "Holdout calibration" in from_bins.figures[0].caption
    metrics = from_bins.tables[1].frame
    assert metrics.filter(pl.col("chosen"))["model"].to_list() == ["churn_hgb"] and metrics.height == 2
    assert nothing.figures == [] and any("Calibration curve" in n for n in nothing.notes)
    assert [f.name for f in backtest.figures] == ["churn_calibration"]
    assert "Back-test" in backtest.figures[0].caption and "2025-01-01" in backtest.figures[0].caption


def test_cli_report_writes_the_file_and_rejects_an_empty_warehouse(tmp_path, capsys):
    (tmp_path / "orders.csv").write_text("order_id,ordered_at,amount\n1,2025-03-01,3\n", encoding="utf-8")
    for name in ("good", "empty"):
        (tmp_path / f"{name}.yaml").write_text(
            f"name: m\nwarehouse: duckdb:///{name}.duckdb\nsources:\n  orders: {{path: orders.csv}}\n", "utf-8"
        )
    stages = pl.DataFrame({"customer_key": ["a", "b", "c"], "journey_stage": ["research", "lapsed", "lapsed"]})
    with Warehouse(f"duckdb:///{tmp_path / 'good.duckdb'}") as wh:
        wh.publish("dim_customer", stages.with_columns(pl.lit(dt.datetime(2025, 3, 1, tzinfo=UTC)).alias("as_of")))
    out = tmp_path / "out" / "r.html"
    assert main(["report", "--config", str(tmp_path / "good.yaml"), "--out", str(out)]) == 0
    assert str(out.resolve()) in capsys.readouterr().out
    page = out.read_text("utf-8")
    assert '<section id="journey" data-empty="false"' in page and '<section id="kpis" data-empty="true"' in page
    assert main(["report", "--config", str(tmp_path / "empty.yaml"), "--out", str(tmp_path / "x.html")]) == 2
    assert "has no tables" in capsys.readouterr().out and not (tmp_path / "x.html").exists()


def test_save_report_never_follows_a_link_and_leaves_a_private_file(tmp_path, monkeypatch):
    report = Report(project="m", built_at="2025-03-01 00:00 UTC", as_of=None, sections=[])
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch", encoding="utf-8")
    link = tmp_path / "link.html"
    link.symlink_to(victim)
    with pytest.raises(OutputError, match="symbolic link"):
        save_report(report, link)
    assert link.is_symlink() and victim.read_text(encoding="utf-8") == "do not touch"

    out = tmp_path / "r.html"
    out.write_text("old", encoding="utf-8")
    out.chmod(0o644)
    planted = tmp_path / f".r.html.planted{files.TEMP_SUFFIX}"
    planted.symlink_to(victim)
    names = iter(["planted", "fresh"])
    monkeypatch.setattr(files, "_token", lambda: next(names))
    assert save_report(report, out) == out
    assert victim.read_text(encoding="utf-8") == "do not touch" and planted.is_symlink()
    assert not out.is_symlink() and out.read_text(encoding="utf-8") == render_html(report)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


PROBE = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const decoded = images.filter((i) => i.complete && i.naturalWidth > 0);
  document.body.dataset.images = String(images.length);
  document.body.dataset.decoded = decoded.map((i) => i.dataset.figure).join(",");
  document.body.dataset.sections = Array.from(document.querySelectorAll("section > h2"))
    .filter((h) => h.offsetHeight > 0).map((h) => h.parentElement.id).join(",");
  const glance = document.getElementById("glance");
  document.body.dataset.glance = glance ? String(glance.getBoundingClientRect().bottom <= window.innerHeight) : "";
});
</script>
"""


def test_report_renders_in_headless_chromium(full_report, tmp_path, chromium):
    report = full_report
    page = tmp_path / "report.html"
    page.write_text(render_html(report).replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = rendered_dom(chromium, page.as_uri(), tmp_path)
    body = re.search(r"<body([^>]*)>", dom)
    assert body, dom[:2000]
    attributes = dict(re.findall(r'data-(\w+)="([^"]*)"', body.group(1)))
    assert attributes.get("glance") == "true", attributes  # the first screen holds the lines at a glance
    assert attributes.get("images") == str(len(report.figures)) > "0", attributes
    assert attributes["decoded"].split(",") == [f.name for f in report.figures]
    assert attributes["sections"].split(",") == SECTION_IDS
