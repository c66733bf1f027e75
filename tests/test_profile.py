"""Profiles shown in asset metadata never carry personal data."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.profile import markdown_table, mask_personal, staging_profile


def test_personal_columns_are_masked_and_nulls_stay_null():
    frame = pl.DataFrame(
        {"customer_ref": ["c1", "c2"], "email": ["ana@example.com", None], "phone": ["+34600000000", "x"]}
    )
    masked = mask_personal(frame)
    assert masked["customer_ref"].to_list() == ["c1", "c2"]
    assert masked["email"].to_list() == ["•••", None]
    assert masked["phone"].to_list() == ["•••", "•••"]
    assert frame["email"].to_list() == ["ana@example.com", None]  # the input is left as it was


def test_staging_profile_counts_span_extras_and_hides_emails():
    frame = pl.DataFrame(
        {
            "order_id": ["1", "2", "3"],
            "email": ["ana@example.com", "bo@example.com", None],
            "ordered_at": [dt.datetime(2024, 1, d, tzinfo=dt.UTC) for d in (3, 1, 2)],
            "amount": [1.0, 2.0, 3.0],
            "coupon": ["A", None, None],
            "_source": ["o.csv"] * 3,
        }
    )
    profile = staging_profile(frame, "orders", "o.csv", 0.25)
    assert profile.rows == 3
    assert profile.columns["ordered_at"] == "Datetime(time_unit='us', time_zone='UTC')"
    assert profile.facts["ordered_at_first"] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert profile.facts["ordered_at_last"] == dt.datetime(2024, 1, 3, tzinfo=dt.UTC)
    assert profile.facts["extra_columns"] == "coupon"
    assert "example.com" not in profile.preview_markdown
    assert "| order_id" in profile.preview_markdown


def test_wide_previews_stay_one_markdown_row_per_record():
    frame = pl.DataFrame({f"column_number_{i}": ["a fairly long value"] * 2 for i in range(20)})
    lines = markdown_table(frame).splitlines()
    assert len(lines) == 4  # header, rule, two records: nothing wrapped onto extra lines
    assert all(line.count("|") == 21 for line in lines)
