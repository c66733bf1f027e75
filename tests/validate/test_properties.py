"""Random corruptions of valid orders and surveys files are always accounted for, under the right rule."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cxdata.config import load_config
from cxdata.io import stage_table

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
ROWS = 12

# corruption -> (how it changes a row, the rule it must be quarantined under)
ORDER_CORRUPTIONS = {
    "blank_id": (lambda r: {**r, "order_id": ""}, "required_missing"),
    "blank_time": (lambda r: {**r, "ordered_at": ""}, "required_missing"),
    "blank_amount": (lambda r: {**r, "amount": " "}, "required_missing"),
    "garble_amount": (lambda r: {**r, "amount": r["amount"] + "€x"}, "unparseable"),
    "garble_time": (lambda r: {**r, "ordered_at": r["ordered_at"].replace("-", "/", 1) + "?"}, "unparseable"),
    "negative_amount": (lambda r: {**r, "amount": "-" + r["amount"]}, "negative_amount"),
    "future_time": (lambda r: {**r, "ordered_at": "2025-03-" + r["ordered_at"][8:10] + " 10:00"}, "future_time"),
}
SURVEY_CORRUPTIONS = {
    "blank_kind": (lambda r: {**r, "kind": ""}, "required_missing"),
    "garble_score": (lambda r: {**r, "score": "very good"}, "unparseable"),
    "unknown_kind": (lambda r: {**r, "kind": r["kind"].upper()}, "unknown_value"),
    "score_out_of_range": (lambda r: {**r, "score": "11" if r["kind"] == "nps" else "0"}, "score_out_of_range"),
    "future_time": (lambda r: {**r, "responded_at": "2031-01-01T00:00:00Z"}, "future_time"),
}


def valid_orders(draw) -> list[dict[str, str]]:
    amounts = draw(st.lists(st.decimals("0.01", 10_000, places=2), min_size=ROWS, max_size=ROWS))
    days = draw(st.lists(st.integers(1, 28), min_size=ROWS, max_size=ROWS))
    return [
        {"order_id": f"o{i}", "ordered_at": f"2024-06-{d:02d} 10:00", "amount": str(a), "status": "completed"}
        for i, (a, d) in enumerate(zip(amounts, days, strict=True))
    ]


def valid_surveys(draw) -> list[dict[str, str]]:
    kinds = draw(st.lists(st.sampled_from(["csat", "nps", "ces"]), min_size=ROWS, max_size=ROWS))
    high = {"csat": 5, "nps": 10, "ces": 7}
    return [
        {
            "response_id": f"r{i}",
            "responded_at": "2024-06-01T10:00:00Z",
            "kind": k,
            "score": str(draw(st.integers(1, high[k]))),
        }
        for i, k in enumerate(kinds)
    ]


def run(table: str, rows: list[dict[str, str]]):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        (folder / "data.csv").write_text(text.getvalue(), encoding="utf-8")
        (folder / "cxdata.yaml").write_text(
            f"name: p\nvalidation: {{max_quarantine_share: 1}}\nsources:\n  {table}: {{path: data.csv}}\n",
            encoding="utf-8",
        )
        return stage_table(load_config(folder / "cxdata.yaml", environ={}), table, loaded_at=NOW)


def corrupt_and_check(draw, table: str, rows: list[dict[str, str]], corruptions: dict, key: str) -> None:
    chosen = draw(
        st.lists(
            st.tuples(st.integers(0, ROWS - 1), st.sampled_from(sorted(corruptions))), unique_by=lambda t: t[0]
        )
    )
    expected = {}  # record number -> rule
    for index, name in chosen:
        change, rule = corruptions[name]
        rows[index] = change(rows[index])
        expected[index + 1] = rule
    clean = [i for i in range(ROWS) if i + 1 not in expected]
    copies = draw(st.lists(st.sampled_from(clean), unique=True)) if clean else []
    for index in copies:
        rows.append(dict(rows[index]))
        expected[len(rows)] = "duplicate_key"
    staged = run(table, rows)
    assert staged.accepted.height + staged.quarantined.height == len(rows) == staged.audit["rows_in"]
    assert dict(zip(staged.quarantined["record"], staged.quarantined["rule"], strict=True)) == expected
    # Untouched rows go on, each once, with the values they were written with.
    assert sorted(staged.accepted[key].to_list()) == sorted(rows[i][key] for i in clean)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_corrupted_orders_are_all_accounted_for(data):
    corrupt_and_check(data.draw, "orders", valid_orders(data.draw), ORDER_CORRUPTIONS, "order_id")


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_corrupted_surveys_are_all_accounted_for(data):
    corrupt_and_check(data.draw, "surveys", valid_surveys(data.draw), SURVEY_CORRUPTIONS, "response_id")
