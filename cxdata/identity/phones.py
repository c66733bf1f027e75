"""Phone numbers to E.164 on whole columns, from libphonenumber's own metadata.

``phonenumbers.parse`` and ``is_valid_number`` are pure Python, about 50 µs a call:
75 s for the 1.5 million distinct numbers of a large project. Yet a project reads
phones in a handful of regions, and the library decides each number from their
metadata alone (a country code, a national prefix, one regular expression and a
few lengths per number type). This module replays those decisions as polars
expressions, which run in Rust on every number at once.

It only *claims* a number when it reproduces the library's answer step by step
(``parse``, ``_maybe_extract_country_code``, ``_maybe_strip_national_prefix_carrier_code``,
``_test_number_length``, ``region_code_for_number``, ``_number_type_helper``). Anything
it cannot replay is left to the caller's exact slow path: other country codes, regions
whose national prefix is a pattern or has a transform rule, a number that may start
with an international dialling prefix other than ``00``, input that is not plain ASCII
digits. So a mistake here can only be a wrong claim, which the equivalence test
against the library would catch.
"""

from __future__ import annotations

import re
from functools import cache, reduce
from operator import or_

import phonenumbers
import polars as pl
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

# phonenumberutil's _MIN_LENGTH_FOR_NSN and _MAX_LENGTH_FOR_NSN
_MIN_NSN = 2
_MAX_NSN = 17
# Types that _number_type_helper tests before fixed line and mobile: any of them
# makes a number valid but not a mobile.
_SPECIAL = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail")
# Anything longer is far beyond a valid E.164 number; the library rejects it too,
# but its reasons are not worth replaying.
_PLAIN = r"^\+?[0-9]{1,24}$"


def claim(digits: pl.Series, default: str | None, others: tuple[str, ...]) -> pl.DataFrame:
    """The numbers whose reading this module can settle: columns ``digits`` and ``e164`` (null if invalid).

    ``digits`` are the cleaned strings ``normalise._e164`` gives ``_format``, ideally
    distinct; ``default`` and ``others`` are upper-case regions as there. A value
    missing from the result must go to the slow path.
    """
    frame = pl.DataFrame({"d": digits.cast(pl.String)}).filter(pl.col("d").str.contains(_PLAIN))
    intl = frame.filter(pl.col("d").str.starts_with("+"))
    national = frame.filter(~pl.col("d").str.starts_with("+"))
    parts = [_claim_international(intl, cc) for cc in _country_codes((default, *others))]
    parts.append(_claim_national(national, default, others))
    schema = {"digits": pl.String, "e164": pl.String}
    return pl.concat([pl.DataFrame(schema=schema), *(p.cast(schema) for p in parts if p is not None)])


def _country_codes(regions: tuple[str | None, ...]) -> list[int]:
    codes = [m.country_code for r in regions if r and (m := _metadata(r)) is not None]
    return [cc for cc in dict.fromkeys(codes) if _country_supported(cc)]


def _claim_international(intl: pl.DataFrame, cc: int) -> pl.DataFrame:
    # parse(number, None): the '+' and the country code go, and the rest is read
    # with the metadata of the code's main region.
    head = f"+{cc}"
    rows = intl.filter(pl.col("d").str.starts_with(head))
    main = _metadata(COUNTRY_CODE_TO_REGION_CODE[cc][0])
    read = _finish(rows["d"].str.slice(len(head)), main, cc)
    # fewer than three digits after the '+' is TOO_SHORT_AFTER_IDD
    valid = read["valid"] & (rows["d"].str.len_bytes() > 3)
    frame = pl.DataFrame({"digits": rows["d"], "valid": valid, "e164": read["e164"]})
    return frame.select("digits", e164=pl.when("valid").then("e164"))


def _claim_national(national: pl.DataFrame, default: str | None, others: tuple[str, ...]) -> pl.DataFrame | None:
    settled = []
    if default is not None:
        first = _reading(national["d"], default)
        if first is None:
            return None
        first = first.with_columns(national["d"])
        settled.append(first.filter(~pl.col("unknown") & pl.col("valid")).select(digits="d", e164="e164"))
        national = first.filter(~pl.col("unknown") & ~pl.col("valid")).select("d")
    readings = [_reading(national["d"], r) for r in others]
    if any(r is None for r in readings):
        return pl.concat(settled) if settled else None
    if not readings:
        settled.append(national.select(digits="d", e164=pl.lit(None, pl.String)))
        return pl.concat(settled)
    n = len(readings)
    both = pl.concat(
        [national, *(r.select(pl.all().name.suffix(str(i))) for i, r in enumerate(readings))], how="horizontal"
    )
    mobile = [pl.col(f"valid{i}") & pl.col(f"mobile{i}") for i in range(n)]
    n_valid = pl.sum_horizontal([pl.col(f"valid{i}") for i in range(n)])
    # _format: one valid reading wins; of several, the one mobile among them, if only one is.
    only_valid = pl.coalesce([pl.when(pl.col(f"valid{i}")).then(pl.col(f"e164{i}")) for i in range(n)])
    only_mobile = pl.coalesce([pl.when(m).then(pl.col(f"e164{i}")) for i, m in enumerate(mobile)])
    chosen = pl.when(n_valid == 1).then(only_valid).when((n_valid > 1) & (pl.sum_horizontal(mobile) == 1))
    known = ~pl.any_horizontal([pl.col(f"unknown{i}") for i in range(n)])
    settled.append(both.filter(known).select(digits="d", e164=chosen.then(only_mobile)))
    return pl.concat(settled)


def _reading(s: pl.Series, region: str) -> pl.DataFrame | None:
    """parse(s, region) of national digit strings: columns unknown, valid, mobile, e164; None if unsupported."""
    meta = _metadata(region)
    if meta is None or not _country_supported(meta.country_code) or _prefixes(meta) is None:
        return None
    if not meta.general_desc.possible_length:
        return None
    cc = meta.country_code
    head = str(cc)
    d = pl.col("d")
    unknown = pl.lit(False)
    if meta.international_prefix:
        if not _rust_ok(meta.international_prefix):
            return None
        # a national string that starts with the region's IDD (``011`` in the US) is read as
        # international; rare enough to leave to the library
        unknown = d.str.contains(f"^(?:{meta.international_prefix})")
    frame = s.to_frame("d")
    if region != COUNTRY_CODE_TO_REGION_CODE[cc][0]:
        # the library would switch to the main region's metadata: not replayed
        frame = frame.with_columns(x=d, unknown=unknown | d.str.starts_with(head))
    else:
        # _maybe_extract_country_code: a number starting with the region's own country
        # code loses it when that makes it match, or when it was too long with it.
        pattern = meta.general_desc.national_number_pattern
        frame = frame.with_columns(rest=_strip_prefix(d.str.slice(len(head)), meta), unknown=unknown)
        _, too_long = _length_result(d, meta.general_desc)
        drop_code = d.str.starts_with(head) & ((~_full(d, pattern) & _full(pl.col("rest"), pattern)) | too_long)
        frame = frame.with_columns(x=pl.when(drop_code).then("rest").otherwise(d))
    read = _finish(frame["x"], meta, cc)
    viable = frame["d"].str.len_bytes() >= _MIN_NSN
    return pl.DataFrame(
        {
            "unknown": frame["unknown"],
            "valid": read["valid"] & viable,
            "mobile": read["mobile"] & viable,
            "e164": read["e164"],
        }
    )


def _finish(x: pl.Series, meta: phonenumbers.PhoneMetadata, cc: int) -> pl.DataFrame:
    """The rest of parse() once the country code is known, then is_valid_number: columns valid, mobile, e164."""
    frame = x.to_frame("x").with_columns(stripped=_strip_prefix(pl.col("x"), meta))
    # the national prefix stays when what remains is too short (or local-only) to be a whole number
    possible, too_long = _length_result(pl.col("stripped"), meta.general_desc)
    frame = frame.with_columns(nsn=pl.when(possible | too_long).then("stripped").otherwise("x"))
    length = pl.col("nsn").str.len_bytes()
    fits = (pl.col("x").str.len_bytes() >= _MIN_NSN) & (length >= _MIN_NSN) & (length <= _MAX_NSN)
    flags = _country_flags(frame.select("nsn"), cc)
    # The Italian leading zero round-trips: national_significant_number() gives back
    # exactly the digits parsed, zeros included.
    return pl.concat([frame, flags], how="horizontal").select(
        valid=fits & pl.col("valid"),
        mobile=fits & pl.col("mobile"),
        e164=pl.concat_str([pl.lit(f"+{cc}"), pl.col("nsn")]),
    )


def _strip_prefix(n: pl.Expr, meta: phonenumbers.PhoneMetadata) -> pl.Expr:
    """_maybe_strip_national_prefix_carrier_code for a prefix made of literal alternatives."""
    pattern = meta.general_desc.national_number_pattern
    viable = _full(n, pattern)
    out = n
    # re.match tries the alternatives in order: the first one that is a prefix wins
    for prefix in reversed(_prefixes(meta) or ()):
        rest = n.str.slice(len(prefix))
        keep = viable & ~_full(rest, pattern)
        out = pl.when(n.str.starts_with(prefix)).then(pl.when(keep).then(n).otherwise(rest)).otherwise(out)
    return out


def _length_result(n: pl.Expr, general: phonenumbers.PhoneNumberDesc) -> tuple[pl.Expr, pl.Expr]:
    """_test_number_length against the general desc: (IS_POSSIBLE, TOO_LONG)."""
    lengths = list(general.possible_length)
    size = n.str.len_bytes()
    first, last = lengths[0], lengths[-1]
    local = general.possible_length_local_only
    not_local = ~size.is_in(list(local)) if local else pl.lit(True)
    possible = not_local & ((size == first) | ((size > first) & (size <= last) & size.is_in(lengths[1:])))
    return possible, not_local & (size > first) & (size > last)


def _country_flags(frame: pl.DataFrame, cc: int) -> pl.DataFrame:
    """is_valid_number and number_type in {MOBILE, FIXED_LINE_OR_MOBILE} of ``nsn``, via region_code_for_number."""
    nsn = pl.col("nsn")
    metas = [m for r in COUNTRY_CODE_TO_REGION_CODE[cc] if (m := _metadata(r)) is not None]
    columns = []
    for i, meta in enumerate(metas):
        valid, mobile = _type_flags(nsn, meta)
        columns += [valid.alias(f"v{i}"), mobile.alias(f"m{i}")]
        if meta.leading_digits is not None:
            columns.append(nsn.str.contains(f"^(?:{meta.leading_digits})").alias(f"l{i}"))
    flags = frame.select(columns)
    valid = mobile = pl.lit(False)
    # _region_code_for_number_from_list: the first region whose leading digits match,
    # or (for a region without them) where the number has a type, decides alone.
    for i, meta in reversed(list(enumerate(metas))):
        picked = pl.col(f"l{i}" if meta.leading_digits is not None else f"v{i}")
        valid = pl.when(picked).then(pl.col(f"v{i}")).otherwise(valid)
        mobile = pl.when(picked).then(pl.col(f"m{i}")).otherwise(mobile)
    return flags.select(valid=valid, mobile=mobile)


def _type_flags(n: pl.Expr, meta: phonenumbers.PhoneMetadata) -> tuple[pl.Expr, pl.Expr]:
    """_number_type_helper(n, meta) != UNKNOWN, and whether it is MOBILE or FIXED_LINE_OR_MOBILE."""
    general = _matches(n, meta.general_desc)
    special = reduce(or_, (_matches(n, getattr(meta, name)) for name in _SPECIAL), pl.lit(False))
    fixed = _matches(n, meta.fixed_line)
    if meta.same_mobile_and_fixed_line_pattern:
        # a fixed-line match is FIXED_LINE_OR_MOBILE; the mobile desc is never consulted
        return general & (special | fixed), general & ~special & fixed
    mobile = _matches(n, meta.mobile)
    return general & (special | fixed | mobile), general & ~special & mobile


def _matches(n: pl.Expr, desc: phonenumbers.PhoneNumberDesc | None) -> pl.Expr:
    """_is_number_matching_desc: a possible length, then the whole pattern."""
    if desc is None:
        return pl.lit(False)
    matched = _full(n, desc.national_number_pattern)
    if desc.possible_length:
        matched = n.str.len_bytes().is_in(list(desc.possible_length)) & matched
    return matched


def _full(n: pl.Expr, pattern: str | None) -> pl.Expr:
    return n.str.contains(f"^(?:{pattern})$") if pattern else pl.lit(False)


@cache
def _metadata(region: str) -> phonenumbers.PhoneMetadata | None:
    return phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None)


def _prefixes(meta: phonenumbers.PhoneMetadata) -> tuple[str, ...] | None:
    """The national prefix's alternatives when each is plain digits (``0|180020``); None otherwise."""
    if meta.national_prefix_transform_rule:
        return None
    pattern = meta.national_prefix_for_parsing
    if not pattern:
        return ()
    alternatives = tuple(pattern.split("|"))
    return alternatives if all(re.fullmatch(r"[0-9]+", a) for a in alternatives) else None


@cache
def _country_supported(cc: int) -> bool:
    """Whether every region of the code translates to polars, and its main region can be parsed."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(cc)
    head = str(cc)
    # the library takes the first known code among the number's first 1-3 digits
    if not regions or any(int(head[:i]) in COUNTRY_CODE_TO_REGION_CODE for i in range(1, len(head))):
        return False
    main = _metadata(regions[0])
    if main is None or _prefixes(main) is None or not main.general_desc.possible_length:
        return False
    for region in regions:
        meta = _metadata(region)
        if meta is None:
            return False
        descs = [meta.general_desc, meta.fixed_line, meta.mobile, *(getattr(meta, t) for t in _SPECIAL)]
        patterns = [d.national_number_pattern for d in descs if d is not None and d.national_number_pattern]
        if meta.leading_digits is not None:
            patterns.append(meta.leading_digits)
        if not all(_rust_ok(p) for p in patterns):
            return False
    return True


@cache
def _rust_ok(pattern: str) -> bool:
    """Whether polars' regex engine (no lookaround, no backreferences) accepts the pattern."""
    if re.search(r"\(\?[=!<]|\\[1-9]", pattern):
        return False
    try:
        pl.Series(["0"]).str.contains(f"^(?:{pattern})$")
    except pl.exceptions.ComputeError:
        return False
    return True
