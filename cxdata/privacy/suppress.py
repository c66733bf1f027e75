"""Keep erased people out: the source rows that carry a suppressed identifier are dropped before staging.

Ingest (`cxdata.io.staging.stage_table`) normalises each row's identifiers as identity does, hashes the
distinct values with the salt (`cxdata.privacy.hashing`) and drops the rows whose hash is in
`suppressed_identifiers`, accepted and quarantined rows alike, counting them in `load_audit.rows_suppressed`.
Nothing is hashed while the table is empty, so a project that never erased anyone pays nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from cxdata.config import ProjectConfig
from cxdata.config_sections import IDENTIFIER_TYPES
from cxdata.identity.normalise import by_type
from cxdata.privacy.hashing import HASH_COLUMN, salt, salted_hashes
from cxdata.warehouse import Warehouse

SUPPRESSED = "suppressed_identifiers"


@dataclass(frozen=True)
class Suppression:
    """The suppressed hashes (identifier_type, identifier_hash) and the salt they were made with."""

    secret: str
    hashes: pl.DataFrame


def load_suppression(wh: Warehouse, config: ProjectConfig) -> Suppression | None:
    """The warehouse's suppression list, or None when nobody was erased; `PrivacyError` when someone was and
    the salt is missing (loading without it would let them back in)."""
    if not wh.exists(SUPPRESSED):
        return None
    hashes = wh.read(SUPPRESSED, columns=["identifier_type", HASH_COLUMN]).unique()
    return Suppression(salt(config), hashes) if hashes.height else None


def suppressed_rows(frame: pl.DataFrame, config: ProjectConfig, suppression: Suppression | None) -> pl.Series:
    """A boolean per row of the staged ``frame``: whether one of its identifiers (the canonical columns email,
    phone, customer_ref, anonymous_id it has) is suppressed."""
    hit = pl.Series("suppressed", [False] * frame.height, dtype=pl.Boolean)
    if suppression is None or frame.is_empty():
        return hit
    identity = config.identity
    for id_type in (t for t in IDENTIFIER_TYPES if t in frame.columns):
        wanted = suppression.hashes.filter(pl.col("identifier_type") == id_type)
        if wanted.is_empty():
            continue
        values = frame.select(
            by_type(pl.col(id_type), id_type, identity.default_region, identity.phone_regions)
        ).to_series()
        distinct = values.drop_nulls().unique().to_frame("identifier_value")
        hashed = salted_hashes(distinct.with_columns(pl.lit(id_type).alias("identifier_type")), suppression.secret)
        matched = hashed.join(wanted, on=["identifier_type", HASH_COLUMN], how="semi")["identifier_value"]
        # a row without this identifier (null) is not suppressed by it
        hit = hit | values.is_in(matched.implode()).fill_null(False)
    return hit
