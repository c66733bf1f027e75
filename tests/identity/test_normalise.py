"""Identifier normalisation: emails, phones of several countries and formats, CRM refs."""

from __future__ import annotations

import polars as pl
import pytest

from cxdata.identity import customer_ref, email, phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ana.lopez@example.com", "ana.lopez@example.com"),
        ("  Ana.Lopez@Example.COM\t", "ana.lopez@example.com"),
        ("o'brien+news@mail.example.co.uk", "o'brien+news@mail.example.co.uk"),
        ("test@test.com", "test@test.com"),  # well formed: placeholders are the blocklist's job
        ("n/a", None),
        ("", None),
        ("ana@", None),
        ("@example.com", None),
        ("ana lopez@example.com", None),
        ("ana@@example.com", None),
        ("ana@example", None),
        ("ana@example.c", None),
        (None, None),
    ],
)
def test_email(raw, expected):
    assert pl.select(email(pl.lit(raw, dtype=pl.String))).item() == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Spain: international, spaced, 00-prefixed and national (default region ES)
        ("+34612345678", "+34612345678"),
        ("+34 612 34 56 78", "+34612345678"),
        ("0034 612 345 678", "+34612345678"),
        ("612 345 678", "+34612345678"),
        # France: national with trunk 0 is not a Spanish number, so the one valid reading wins
        ("+33 6 12 34 56 78", "+33612345678"),
        ("06 12 34 56 78", "+33612345678"),
        # Germany and Britain, both with trunk 0 in national form
        ("+49 152 88545381", "+4915288545381"),
        ("0152 88545381", "+4915288545381"),
        ("+44 7712 345678", "+447712345678"),
        ("07712 345678", "+447712345678"),
        ("(0)7712-345-678", "+447712345678"),
        # placeholders and impossible numbers never become identifiers
        ("0000000000", None),
        ("n/a", None),
        ("-1", None),
        ("", None),
        ("+34 000", None),
        (None, None),
    ],
)
def test_phone_to_e164(raw, expected):
    assert pl.select(phone(pl.lit(raw, dtype=pl.String), "ES", ["FR", "DE", "GB"])).item() == expected


def test_national_number_valid_in_two_candidate_regions_is_not_guessed():
    # 612345678 is a valid mobile in Spain and (as 6 12 34 56 78) in France: with Spain
    # as the default it is Spanish; with no default it is ambiguous and left out.
    assert pl.select(phone(pl.lit("612345678"), "ES", ["FR"])).item() == "+34612345678"
    assert pl.select(phone(pl.lit("612345678"), None, ["ES", "FR"])).item() is None


def test_phone_without_any_region_keeps_only_international_forms():
    frame = pl.DataFrame({"p": ["+34 612 34 56 78", "612 345 678", "0044 7712 345678"]})
    assert frame.select(phone(pl.col("p")))["p"].to_list() == ["+34612345678", None, "+447712345678"]


def test_phone_works_lazily_over_many_repeated_values_in_order():
    raw = ["+34 612 34 56 78", "0034612345678", None, "0152 88545381", "0000000000"] * 1000
    out = pl.LazyFrame({"p": raw}).select(phone(pl.col("p"), "ES", ["DE"])).collect()["p"]
    assert out.to_list() == ["+34612345678", "+34612345678", None, "+4915288545381", None] * 1000


def test_customer_ref_is_trimmed_text():
    frame = pl.DataFrame({"ref": [" C001 ", "", None, "42"]})
    assert frame.select(customer_ref(pl.col("ref")))["ref"].to_list() == ["C001", None, None, "42"]
    ints = pl.DataFrame({"ref": [7, None]})
    assert ints.select(customer_ref(pl.col("ref")))["ref"].to_list() == ["7", None]
