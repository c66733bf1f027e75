"""Report sections about the customer data itself: CX KPIs over time, journey stages, identity resolution.

Each function reads the warehouse (aggregating in SQL where tables can be
large) and returns a `Section`; a missing table or an empty one gives a
section whose ``empty`` says so instead of an error. Revenue is labelled with
the project currency.
"""

from __future__ import annotations

import polars as pl

from cxdata.config import DEFAULT_CURRENCY
from cxdata.report import plots
from cxdata.report.document import Figure, Section, Table, facts_table
from cxdata.warehouse import Warehouse

STAGES = ("research", "compare", "purchase", "use_repurchase", "lapsed")
KPI_LABELS = {
    "csat": "CSAT (share scoring 4-5 of 5)",
    "nps": "NPS (points)",
    "ces_mean": "CES (mean 1-7, lower is less effort)",
    "median_first_response_hours": "First response (median hours)",
    "conversion_rate": "Web conversion rate",
    "revenue": "Revenue per day",
    "orders": "Orders per day",
    "repeat_rate": "Repeat customer share",
}
RECENT_DAYS = 28
TOTAL = "total"  # cx_kpis_daily's dimension of the day's totals
# the customer dimensions of cx_kpis_daily the report breaks the whole history down by
BREAKDOWNS = {
    "acquisition_channel": "KPIs by acquisition channel over the whole history (each record under its customer's)",
    "customer_kind": "KPIs by customer kind over the whole history (buyers, known contacts, anonymous visitors)",
}


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    return pl.when(denominator > 0).then(numerator / denominator)


def _total(column: str) -> pl.Expr:
    # a sum over days without any such record stays null rather than becoming 0
    return pl.when(pl.col(column).is_not_null().any()).then(pl.col(column).sum()).alias(column)


def _weighted(value: str, weight: str) -> pl.Expr:
    # daily values are rates over that day's responses: weight them back by their counts
    present = pl.col(value).is_not_null() & pl.col(value).is_not_nan()
    weights = pl.col(weight).filter(present)
    return _ratio((pl.col(value) * pl.col(weight)).filter(present).sum(), weights.sum()).alias(value)


def kpi_aggregates() -> list[pl.Expr]:
    """Expressions that combine daily cx_kpis_daily rows into one value per KPI over any group of days."""
    return [
        _weighted("csat", "csat_responses"),
        _weighted("nps", "nps_responses"),
        _weighted("ces_mean", "ces_responses"),
        _weighted("median_first_response_hours", "tickets_opened"),
        _ratio(pl.col("converted_sessions").sum(), pl.col("sessions").sum()).alias("conversion_rate"),
        _total("revenue"),
        _total("orders"),
        _ratio(
            pl.col("repeat_customers").sum(), pl.col("new_customers").sum() + pl.col("repeat_customers").sum()
        ).alias("repeat_rate"),
    ]


def _totals(daily: pl.LazyFrame) -> pl.LazyFrame:
    return daily.filter(pl.col("dimension") == TOTAL)


def weekly_kpis(daily: pl.LazyFrame) -> pl.LazyFrame:
    """The total rows of cx_kpis_daily as one row per week (Monday start), column ``week``.

    Orders and revenue are per day of the week in the data, so the partial first and last weeks compare.
    """
    return (
        _totals(daily)
        .sort("date")
        .group_by_dynamic("date", every="1w")
        .agg(*kpi_aggregates(), pl.len().alias("days"))
        .with_columns(pl.col("orders", "revenue") / pl.col("days"))
        .rename({"date": "week"})
        .drop("days")
    )


def _has_values(frame: pl.DataFrame, column: str) -> bool:
    values = frame[column].cast(pl.Float64)
    return (values.is_not_null() & values.is_not_nan()).any()


def _has_rows(wh: Warehouse, table: str) -> bool:
    return wh.exists(table) and wh.row_count(table) > 0


def _labels(currency: str) -> dict[str, str]:
    return {**KPI_LABELS, "revenue": f"{KPI_LABELS['revenue']} ({currency})"}


def _weekly_shown(daily: pl.LazyFrame, currency: str) -> tuple[pl.DataFrame, dict[str, str]]:
    weekly = weekly_kpis(daily).collect()
    return weekly, {c: label for c, label in _labels(currency).items() if _has_values(weekly, c)}


def _kpi_chart(weekly: pl.DataFrame, shown: dict[str, str]) -> Figure:
    return Figure("kpi_trends", "Weekly CX KPIs (all customers)", plots.kpi_trends_png(weekly, shown))


def kpi_figure(wh: Warehouse, currency: str = DEFAULT_CURRENCY) -> Figure | None:
    """The report's weekly KPI chart from cx_kpis_daily (revenue in ``currency``); None when the table is
    missing, empty or has no KPI."""
    if not _has_rows(wh, "cx_kpis_daily"):
        return None
    weekly, shown = _weekly_shown(wh.read("cx_kpis_daily").lazy(), currency)
    return _kpi_chart(weekly, shown) if shown else None


def kpi_section(wh: Warehouse, currency: str = DEFAULT_CURRENCY) -> Section:
    """CSAT, NPS, CES, first response, conversion, orders and revenue (in ``currency``) by week; totals by period,
    by acquisition channel and by customer kind."""
    section = Section(
        "kpis",
        "CX KPIs over time",
        "Weekly values over all customers from cx_kpis_daily; rates are weighted by their daily counts.",
    )
    if not _has_rows(wh, "cx_kpis_daily"):
        section.empty = "No CX KPIs yet: cx_kpis_daily is missing or empty (run the project first)."
        return section
    daily = wh.read("cx_kpis_daily").lazy()
    weekly, shown = _weekly_shown(daily, currency)
    missing = [label for c, label in KPI_LABELS.items() if c not in shown]
    money = {"revenue": f"revenue ({currency})"}
    if shown:
        section.figures.append(_kpi_chart(weekly, shown))
    if missing:
        section.notes.append(
            "No data for " + ", ".join(missing) + " (the project has no surveys, tickets or web events for them)."
        )
    last = daily.select(pl.col("date").max()).collect().item()
    recent = pl.col("date") > pl.lit(last) - pl.duration(days=RECENT_DAYS)
    earlier = ~recent & (pl.col("date") > pl.lit(last) - pl.duration(days=2 * RECENT_DAYS))
    every_day = _totals(daily)
    windows = {
        "whole history": every_day,
        f"last {RECENT_DAYS} days": every_day.filter(recent),
        f"{RECENT_DAYS} days before": every_day.filter(earlier),
    }
    periods = pl.concat(
        [frame.select(pl.lit(name).alias("period"), *kpi_aggregates()) for name, frame in windows.items()]
    ).collect()
    section.tables.append(
        Table("KPIs by period (all customers)", periods.select("period", *shown).rename(money, strict=False))
    )
    for dimension, title in BREAKDOWNS.items():
        rows = (
            daily.filter(pl.col("dimension") == dimension)
            .group_by("dimension_value")
            .agg(kpi_aggregates())
            .sort("dimension_value")
            .rename({"dimension_value": dimension})
            .collect()
        )
        if rows.height:
            section.tables.append(Table(title, rows.select(dimension, *shown).rename(money, strict=False)))
    return section


def journey_section(wh: Warehouse) -> Section:
    """Customers per journey stage in funnel order, from dim_customer."""
    section = Section(
        "journey",
        "Journey-stage funnel",
        "Resolved customers by journey stage at as_of (rules in sql/dim_customer.sql).",
    )
    if not wh.exists("dim_customer"):
        section.empty = "No dim_customer table yet: run the project first."
        return section
    stages = journey_stages(wh)
    if stages is None:
        section.empty = "dim_customer has no customers."
        return section
    section.figures.append(_funnel_chart(stages))
    section.tables.append(Table("Customers by journey stage", stages))
    return section


def journey_stages(wh: Warehouse) -> pl.DataFrame | None:
    """Customers and their share per journey stage in funnel order; None without dim_customer rows."""
    if not wh.exists("dim_customer"):
        return None
    counts = wh.query("select journey_stage, count(*) as customers from dim_customer group by journey_stage")
    if counts.height == 0:
        return None
    order = pl.DataFrame({"journey_stage": list(STAGES), "position": list(range(len(STAGES)))})
    stages = (
        order.join(counts, on="journey_stage", how="full", coalesce=True)
        .with_columns(pl.col("customers").fill_null(0).cast(pl.Int64))
        .sort(pl.col("position").fill_null(len(STAGES)), "journey_stage")
        .select("journey_stage", "customers")
    )
    return stages.with_columns((100 * pl.col("customers") / pl.col("customers").sum()).alias("share_percent"))


def _funnel_chart(stages: pl.DataFrame) -> Figure:
    return Figure("journey_funnel", "Customers by journey stage", plots.funnel_png(stages))


def funnel_figure(wh: Warehouse) -> Figure | None:
    """The report's journey-stage funnel from dim_customer; None without customers."""
    stages = journey_stages(wh)
    return None if stages is None else _funnel_chart(stages)


IDENTITY_SQL = {
    "sources": "select source_table, count(*) as records, count(distinct customer_key) as customers,"
    " count(linked_by) as linked_records"
    " from identity_record_keys group by source_table order by source_table",
    "per_customer": "select records, count(*) as customers from (select customer_key, case when n <= 2 then"
    " cast(n as varchar) when n <= 5 then '3-5' when n <= 10 then '6-10' when n <= 50 then '11-50' else '51+'"
    " end as records, case when n <= 2 then n when n <= 5 then 3 when n <= 10 then 6 when n <= 50 then 11"
    " else 51 end as low from (select customer_key, count(*) as n from identity_record_keys"
    " where customer_key is not null group by customer_key) as per_key) as binned"
    " group by records, low order by low",
    "identifiers": "select identifier_type, status, count(*) as identifiers from customer_identity"
    " group by identifier_type, status order by identifier_type, status",
    "merges": "select kind, count(*) as events from identity_merges group by kind order by kind",
}


def identity_section(wh: Warehouse) -> Section:
    """Records, customers and links per source; records per customer; identifiers by status; merges and splits."""
    section = Section(
        "identity",
        "Identity resolution",
        "How source records resolved into customers (identity_record_keys, customer_identity, identity_merges)."
        " Counts only: no identifier values are shown.",
    )
    if not wh.exists("identity_record_keys"):
        section.empty = "No identity tables yet: run the project first."
        return section
    sources = wh.query(IDENTITY_SQL["sources"])
    if sources.height == 0:
        section.empty = "identity_record_keys is empty."
        return section
    per_customer = wh.query(IDENTITY_SQL["per_customer"])
    has_identifiers = wh.exists("customer_identity")
    identifiers = wh.query(IDENTITY_SQL["identifiers"]) if has_identifiers else None
    merges = wh.query(IDENTITY_SQL["merges"]) if wh.exists("identity_merges") else pl.DataFrame()
    customers = int(per_customer["customers"].sum())
    records = int(sources["records"].sum())
    events = dict(merges.iter_rows()) if merges.height else {}
    linked = int(per_customer.filter(pl.col("records") != "1")["customers"].sum())
    summary = {
        "resolved customers": f"{customers:,}",
        "source records": f"{records:,}",
        "records per customer (mean)": f"{records / customers:.2f}" if customers else "-",
        "customers joining 2 or more records": f"{linked:,}",
        "keys merged (all runs)": f"{int(events.get('merge', 0)):,}",
        "keys split (all runs)": f"{int(events.get('split', 0)):,}",
    }
    section.tables.append(facts_table("Identity statistics", summary))
    section.tables.append(Table("Records by source table", sources))
    if identifiers is not None and identifiers.height:
        section.figures.append(_identity_chart(per_customer, identifiers))
        wide = identifiers.pivot("status", index="identifier_type", values="identifiers").fill_null(0)
        section.tables.append(Table("Identifier values by type and status", wide))
    else:
        section.notes.append("No customer_identity table: identifier statistics are not available.")
    return section


def _identity_chart(per_customer: pl.DataFrame, identifiers: pl.DataFrame) -> Figure:
    return Figure(
        "identity_stats",
        "Resolved customers by number of source records; identifier values by type and status",
        plots.identity_png(per_customer, identifiers),
    )


def identity_figure(wh: Warehouse) -> Figure | None:
    """The report's identity chart (records per customer, identifiers by type and status); None without data."""
    if not (_has_rows(wh, "identity_record_keys") and _has_rows(wh, "customer_identity")):
        return None
    return _identity_chart(wh.query(IDENTITY_SQL["per_customer"]), wh.query(IDENTITY_SQL["identifiers"]))
