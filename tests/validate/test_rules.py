"""Each row rule on hand-made standardised frames; priority; duplicates keep the first occurrence."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxdata import schema
from cxdata.config import ValidationConfig
from cxdata.validate import quarantine, rules

NOW = dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def staged(table: str, rows: list[dict], unreadable: dict[str, list[bool]] | None = None) -> pl.DataFrame:
    """A frame shaped like `standardise(keep_raw=True)` output: contract columns, lineage, record, flags."""
    spec = schema.table(table)
    frame = pl.DataFrame(rows, schema=spec.polars_schema()).with_columns(
        pl.lit("hand.csv").alias(quarantine.SOURCE_COLUMN),
        pl.lit(NOW, dtype=schema.UTC_TIMESTAMP).alias(quarantine.LOADED_AT_COLUMN),
        pl.int_range(1, pl.len() + 1).alias(quarantine.RECORD_COLUMN),
    )
    flags = [pl.Series(rules.UNREADABLE_PREFIX + c, v) for c, v in (unreadable or {}).items()]
    return frame.with_columns(flags)


def judge(table: str, frame: pl.DataFrame, validation: ValidationConfig | None = None) -> pl.DataFrame:
    """The quarantined rows of ``frame`` (original left empty: no source columns here)."""
    flagged = {
        c.removeprefix(rules.UNREADABLE_PREFIX) for c in frame.columns if c.startswith(rules.UNREADABLE_PREFIX)
    }
    checks = rules.checks(table, validation or ValidationConfig(), NOW, flagged)
    marked = quarantine.mark(frame.lazy(), checks).collect()
    keep = [c for c in frame.columns if not c.startswith("__")]
    accepted, bad = quarantine.split(marked, checks, {}, keep)
    assert accepted.height + bad.height == frame.height
    return bad


def order(i: int, **changes) -> dict:
    return {"order_id": f"o{i}", "ordered_at": NOW - DAY, "amount": 10.0, "status": "completed", **changes}


def test_rule_order_is_the_documented_priority():
    assert rules.RULES == (
        "required_missing",
        "unparseable",
        "unknown_value",
        "score_out_of_range",
        "negative_amount",
        "future_time",
        "duplicate_key",
    )
    for table in schema.TABLES:
        found = [c.rule for c in rules.checks(table, ValidationConfig(), NOW, set())]
        assert found == sorted(found, key=rules.RULES.index), table


def test_required_values_missing_or_blank():
    frame = staged("orders", [order(1), order(2, order_id=None), order(3, order_id="  "), order(4, amount=None)])
    bad = judge("orders", frame)
    assert bad.select("record", "rule", "failed_column", "failed_value").rows() == [
        (2, "required_missing", "order_id", None),
        (3, "required_missing", "order_id", "  "),
        (4, "required_missing", "amount", None),
    ]


def test_optional_columns_may_be_empty():
    frame = staged("orders", [order(1, status=None), {**order(2), "customer_ref": None, "email": None}])
    assert judge("orders", frame).is_empty()


def test_an_unreadable_value_is_unparseable_not_missing():
    frame = staged("orders", [order(1), order(2, amount=None)], {"amount": [False, True]})
    bad = judge("orders", frame)
    assert bad.select("record", "rule", "rules").rows() == [(2, "unparseable", "unparseable")]


@pytest.mark.parametrize(
    ("ahead", "tolerance", "fails"),
    [
        (dt.timedelta(hours=24), 24.0, False),
        (dt.timedelta(hours=24, microseconds=1), 24.0, True),
        (dt.timedelta(minutes=1), 0.0, True),
        (dt.timedelta(hours=47), 48.0, False),
        (-DAY * 365, 0.0, False),
    ],
)
def test_future_times_beyond_the_tolerance(ahead, tolerance, fails):
    frame = staged("orders", [order(1, ordered_at=NOW + ahead)])
    bad = judge("orders", frame, ValidationConfig(future_tolerance_hours=tolerance))
    assert bad["rule"].to_list() == (["future_time"] if fails else [])


def test_every_timestamp_column_is_checked_for_the_future():
    ticket = {"ticket_id": "t1", "opened_at": NOW - DAY, "channel": "chat", "resolved_at": NOW + 3 * DAY}
    bad = judge("tickets", staged("tickets", [ticket]))
    assert bad.select("rule", "failed_column").rows() == [("future_time", "resolved_at")]


@pytest.mark.parametrize(
    ("status", "fails"),
    [
        ("completed", True),
        (None, True),
        ("refund", False),
        ("Refunded", False),
        (" RETURN ", False),
        ("returned", False),
        ("cancelled", True),
    ],
)
def test_negative_amounts_only_for_refunds(status, fails):
    frame = staged("orders", [order(1, amount=-5.0, status=status), order(2, amount=0.0)])
    assert judge("orders", frame)["rule"].to_list() == (["negative_amount"] if fails else [])


def test_negative_cost_is_quarantined():
    costs = [{"period_start": dt.date(2024, 1, 1), "channel": "email", "cost": c} for c in (0.0, -1.0, 5.0)]
    bad = judge("touchpoint_costs", staged("touchpoint_costs", costs))
    assert bad.select("record", "rule", "failed_column").rows() == [(2, "negative_amount", "cost")]


@pytest.mark.parametrize(
    ("kind", "inside", "outside"),
    [("csat", [1, 3, 5], [0, 5.5, 6]), ("nps", [0, 7, 10], [-1, 11]), ("ces", [1, 7], [0, 8])],
)
def test_survey_scores_in_the_scale_of_their_kind(kind, inside, outside):
    answers = [
        {"response_id": f"r{i}", "responded_at": NOW - DAY, "kind": kind, "score": float(s)}
        for i, s in enumerate(inside + outside)
    ]
    bad = judge("surveys", staged("surveys", answers))
    assert bad["record"].to_list() == list(range(len(inside) + 1, len(inside) + len(outside) + 1))
    assert set(bad["rule"]) == {"score_out_of_range"}


def test_unknown_categories():
    answers = [
        {"response_id": f"r{i}", "responded_at": NOW - DAY, "kind": k, "score": 3.0}
        for i, k in enumerate(["csat", "CSAT", "stars"])
    ]
    bad = judge("surveys", staged("surveys", answers))
    # An unknown kind has no scale: it is reported once, as unknown_value, not also out of range.
    assert bad.select("record", "rules", "failed_value").rows() == [
        (2, "unknown_value", "CSAT"),
        (3, "unknown_value", "stars"),
    ]
    touches = [
        {"touch_id": f"x{i}", "occurred_at": NOW - DAY, "channel": "email", "kind": k}
        for i, k in enumerate(["sent", "open", "click", "impression", "bounce"])
    ]
    assert judge("touches", staged("touches", touches))["record"].to_list() == [5]


def test_event_types_come_from_the_config():
    events = [
        {"event_id": f"e{i}", "anonymous_id": "a", "occurred_at": NOW - DAY, "event_type": t}
        for i, t in enumerate(["page_view", "hover"])
    ]
    frame = staged("web_events", events)
    assert judge("web_events", frame)["failed_value"].to_list() == ["hover"]
    assert judge("web_events", frame, ValidationConfig(event_types=["hover"]))["failed_value"].to_list() == [
        "page_view"
    ]


def test_duplicates_keep_the_first_occurrence_and_ignore_missing_keys():
    rows = [order(1, amount=1.0), order(2), order(1, amount=2.0), order(1, amount=3.0)]
    frame = staged("orders", [*rows, order(3, order_id=None), order(4, order_id=None)])
    bad = judge("orders", frame)
    assert bad.select("record", "rule", "failed_value").rows() == [
        (3, "duplicate_key", "o1"),
        (4, "duplicate_key", "o1"),
        (5, "required_missing", None),
        (6, "required_missing", None),
    ]


def test_priority_picks_the_first_rule_and_lists_all():
    frame = staged("orders", [order(1), order(1, order_id="o1", amount=-1.0, ordered_at=NOW + 9 * DAY)])
    bad = judge("orders", frame).row(0, named=True)
    assert bad["rule"] == "negative_amount" and bad["failed_column"] == "amount"
    assert bad["rules"] == "negative_amount,future_time,duplicate_key"


def test_nothing_failing_gives_an_empty_quarantine_of_the_right_shape():
    bad = judge("orders", staged("orders", [order(1), order(2)]))
    assert bad.is_empty() and bad.schema == quarantine.QUARANTINE_SCHEMA
