"""Identifiers as the source systems hold them: which address a record shows, with what noise.

A record's noise is drawn per record (upper or title case, stray whitespace,
placeholder values such as ``test@test.com``), so one person's email appears in
several spellings across systems, as in real exports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from cxdata.synth.params import SynthParams
from cxdata.synth.people import FIRST_CUSTOMER_NUMBER, People


@dataclass
class Noise:
    """Per-record noise codes: case (0, 1 upper, 2 title), whitespace (0, 1 leading, 2 trailing), placeholder."""

    case: np.ndarray
    space: np.ndarray
    placeholder: np.ndarray  # 0 none, else 1 + index into the placeholder list

    def __getitem__(self, rows: slice) -> Noise:
        return Noise(self.case[rows], self.space[rows], self.placeholder[rows])


def draw_noise(rng: np.random.Generator, n: int, params: SynthParams, n_placeholders: int) -> Noise:
    """Independent case, whitespace and placeholder noise for ``n`` records."""
    # one uniform per kind of noise: below the share it picks the noise, its position within picks the variant
    u = rng.random((3, n), dtype=np.float32)
    case_share, space_share, ph_share = (
        params.email_case_noise_share,
        params.email_whitespace_share,
        params.placeholder_share,
    )
    case = np.where(u[0] < case_share, 1 + (u[0] < case_share / 2), 0).astype(np.int8)
    space = np.where(u[1] < space_share, 1 + (u[1] < space_share / 2), 0).astype(np.int8)
    slot = np.minimum((u[2] / max(ph_share, 1e-12) * n_placeholders).astype(np.int64), n_placeholders - 1)
    placeholder = np.where(u[2] < ph_share, 1 + slot, 0).astype(np.int8)
    return Noise(case, space, placeholder)


def email_index(
    people: People, person: np.ndarray, time: np.ndarray, duplicate: np.ndarray | None = None
) -> np.ndarray:
    """Which of a person's addresses (index into ``people.emails``) a record made at ``time`` shows."""
    index = np.where(time >= people.email_change_at[person], people.changed_email[person], person)
    if duplicate is not None:
        index = np.where(duplicate, people.duplicate_email[person], index)
    return index


def render_emails(
    people: People,
    index: np.ndarray,
    present: np.ndarray,
    noise: Noise,
    params: SynthParams,
    name: str,
) -> pl.Series:
    """The email column of a source: the address of each record with its noise, null where absent."""
    emails = people.emails.gather(index)
    # each noise touches few rows, so it is applied to those rows only
    edits = (
        (noise.case == 1, lambda e: e.str.to_uppercase()),
        (noise.case == 2, lambda e: e.str.to_titlecase()),
        (noise.space == 1, lambda e: " " + e),
        (noise.space == 2, lambda e: e + "  "),
    )
    for mask, edit in edits:
        rows = np.flatnonzero(mask & present)
        if rows.size:
            emails = emails.scatter(rows, edit(emails.gather(rows)))
    marked = np.flatnonzero(present & (noise.placeholder > 0))
    if marked.size:
        values = pl.Series(list(params.email_placeholders)).gather(noise.placeholder[marked] - 1)
        emails = emails.scatter(marked, values)
    return _nulls(emails, present, name)


def draw_phone_formats(rng: np.random.Generator, n: int, params: SynthParams) -> np.ndarray:
    """Per record: E.164, spaced international, national or 00-prefixed."""
    weights = np.asarray(params.phone_format_weights)
    return np.minimum(np.searchsorted(np.cumsum(weights / weights.sum()), rng.random(n), side="right"), 3)


def render_phones(
    people: People,
    person: np.ndarray,
    fmt: np.ndarray,
    present: np.ndarray,
    noise: Noise,
    params: SynthParams,
    name: str,
) -> pl.Series:
    """The phone column of a source: each record's number in its format, with placeholders."""
    phones = people.phones.gather(fmt * people.n + person)
    marked = np.flatnonzero(present & (noise.placeholder > 0))
    if marked.size:
        values = pl.Series(params.phone_placeholders).gather(noise.placeholder[marked] - 1)
        phones = phones.scatter(marked, values)
    return _nulls(phones, present, name)


def customer_refs(people: People, number: np.ndarray, name: str) -> pl.Series:
    """CRM ids like ``C0100001``; null where ``number`` is negative."""
    absent = number < 0
    refs = people.ref_strings.gather(np.where(absent, 0, number - FIRST_CUSTOMER_NUMBER))
    return refs.set(pl.Series(absent), None).alias(name) if absent.any() else refs.alias(name)


def labels(values: list[str] | tuple[str, ...], codes: np.ndarray, name: str) -> pl.Series:
    """A low-cardinality text column from integer codes (negative = null), kept dictionary-encoded."""
    codes = np.asarray(codes)
    series = pl.Series(name, list(values), dtype=pl.Enum(list(dict.fromkeys(values))))
    absent = codes < 0
    out = series.gather(np.where(absent, 0, codes))
    return out.set(pl.Series(absent), None) if absent.any() else out


def prefixed_ids(prefix: str, number: np.ndarray, width: int, name: str) -> pl.Series:
    """Record ids like ``CS0000042``."""
    frame = pl.DataFrame({"n": number})
    return frame.select(
        pl.concat_str([pl.lit(prefix), pl.col("n").cast(pl.String).str.zfill(width)]).alias(name)
    ).to_series()


def _nulls(values: pl.Series, present: np.ndarray, name: str) -> pl.Series:
    return values.alias(name) if present.all() else values.set(pl.Series(~present), None).alias(name)
