"""Identifier normalisation as polars expressions: emails, phones (E.164 via `phonenumbers`), CRM refs.

A value that cannot be an identifier (malformed email, impossible phone) becomes
null here, so it can never link two records; the raw value stays in the staging
table for anyone who wants to see what was rejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import phonenumbers
import polars as pl

from cxdata.identity import phones

# Deliberately permissive on the local part (RFC 5322 allows a lot) and strict on shape:
# one @, no whitespace, a dotted domain whose last label has two or more characters.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)*\.[^@\s.]{2,}$"


def email(expr: pl.Expr) -> pl.Expr:
    """Trimmed, lower-cased email, or null when it is not shaped like an address.

    >>> pl.select(email(pl.lit(" Ana.Lopez@Example.COM "))).item()
    'ana.lopez@example.com'
    """
    cleaned = expr.cast(pl.String).str.strip_chars().str.to_lowercase()
    return pl.when(cleaned.str.contains(EMAIL_PATTERN)).then(cleaned).otherwise(None)


def customer_ref(expr: pl.Expr) -> pl.Expr:
    """The CRM id as trimmed text; empty becomes null."""
    cleaned = expr.cast(pl.String).str.strip_chars()
    return pl.when(cleaned.str.len_chars() > 0).then(cleaned).otherwise(None)


def phone(expr: pl.Expr, default_region: str | None = None, regions: Sequence[str] = ()) -> pl.Expr:
    """The phone in E.164 (``+34612345678``), or null when no region makes it a valid number.

    International forms (``+34 …``, ``0034 …``) need no region. A national form
    (``0152 88545381``) is read in ``default_region`` first; failing that, in each
    of ``regions``, and kept only when exactly one of them makes it valid — or,
    when several do, exactly one makes it a mobile number (customer phones mostly
    are) — since a guess between two countries could join two strangers.

    >>> pl.select(phone(pl.lit("0152 88545381"), "ES", ["DE", "FR"])).item()
    '+4915288545381'
    """
    default = default_region.upper() if default_region else None
    others = tuple(dict.fromkeys(r.upper() for r in regions if r and r.upper() != default))
    return expr.map_batches(partial(_e164, default=default, others=others), return_dtype=pl.String)


def _e164(values: pl.Series, default: str | None, others: tuple[str, ...]) -> pl.Series:
    # Only punctuation and spacing vary between formats of one number, so the
    # library (about 50 µs a call) sees each distinct digit string once.
    digits = values.cast(pl.String).str.strip_chars().str.replace_all(r"[^\d+]", "").str.replace(r"^00", "+")
    distinct = digits.drop_nulls().unique()
    # phones.claim replays the library on whole columns for the configured regions;
    # only what it cannot settle exactly pays for the library.
    claimed = phones.claim(distinct, default, others)
    rest = distinct.filter(~distinct.is_in(claimed["digits"].implode()))
    keys = pl.concat([claimed["digits"], rest])
    formatted = pl.concat(
        [claimed["e164"], pl.Series([_format(n, default, others) for n in rest], dtype=pl.String)]
    )
    return digits.replace_strict(keys, formatted, default=None, return_dtype=pl.String).alias(values.name)


def _format(number: str, default: str | None, others: tuple[str, ...]) -> str | None:
    if number.startswith("+"):
        parsed = _parse(number, None)
        return _e164_text(parsed) if parsed is not None else None
    if default is not None and (parsed := _parse(number, default)) is not None:
        return _e164_text(parsed)
    readings = [parsed for region in others if (parsed := _parse(number, region)) is not None]
    if len(readings) > 1:
        readings = [r for r in readings if phonenumbers.number_type(r) in _MOBILE]
    return _e164_text(readings[0]) if len(readings) == 1 else None


_MOBILE = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def _parse(number: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """The parsed number when it is valid in ``region`` (or carries its own country code), else None."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_valid_number(parsed) else None


def _e164_text(parsed: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def by_type(
    expr: pl.Expr, id_type: str, default_region: str | None = None, regions: Sequence[str] = ()
) -> pl.Expr:
    """``expr`` normalised as identity normalises identifiers of ``id_type``: email, phone, or an opaque id
    (customer_ref, anonymous_id: trimmed text).

    >>> pl.select(by_type(pl.lit(" A@B.COM "), "email")).item()
    'a@b.com'
    """
    if id_type == "email":
        return email(expr)
    if id_type == "phone":
        return phone(expr, default_region, regions)
    return customer_ref(expr)
