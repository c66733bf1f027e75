"""Salted SHA-256 of normalised identifiers: how an erased person's identifiers are kept, and how ingest
recognises them again.

The digest is of ``salt + identifier_type + ":" + value`` (UTF-8), in hex. The salt is a secret read from the
environment variable `privacy.salt_env` names: without it an email's hash is the email to anyone holding a
list of emails, so no salt means no suppression and a clear error. DuckDB's ``sha256`` computes the digests
in memory over Arrow, vectorised, whatever the warehouse is.
"""

from __future__ import annotations

import os

import duckdb
import polars as pl

from cxdata.config import ProjectConfig
from cxdata.errors import PrivacyError

HASH_COLUMN = "identifier_hash"
_MIN_SALT = 16  # characters: a short salt is guessed as easily as no salt


def salt(config: ProjectConfig) -> str:
    """The suppression salt from the environment variable `privacy.salt_env` names, or `PrivacyError`."""
    name = config.privacy.salt_env
    value = os.environ.get(name, "")
    if len(value) < _MIN_SALT:
        state = "is not set" if not value else f"holds fewer than {_MIN_SALT} characters"
        raise PrivacyError(
            f"the suppression salt {name} {state}: set it to a random secret of at least {_MIN_SALT} characters "
            "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`), the same on every run, so that "
            "erased identifiers are kept only as salted hashes (privacy.salt_env names the variable)"
        )
    return value


def salted_hashes(identifiers: pl.DataFrame, secret: str) -> pl.DataFrame:
    """``identifiers`` (identifier_type, identifier_value, ...) with ``identifier_hash`` added: the hex SHA-256
    of the salt, the type, a colon and the value; null where the value is null."""
    if identifiers.is_empty():
        return identifiers.with_columns(pl.lit(None, pl.String).alias(HASH_COLUMN))
    with duckdb.connect(":memory:") as con:
        con.register("identifiers", identifiers.select("identifier_type", "identifier_value").to_arrow())
        digests = con.execute(
            "select sha256(? || identifier_type || ':' || identifier_value) as identifier_hash from identifiers",
            [secret],
        ).arrow()
    return identifiers.with_columns(pl.from_arrow(digests)[HASH_COLUMN].cast(pl.String))
