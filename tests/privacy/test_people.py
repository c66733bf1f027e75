"""Who an erasure reaches, on hand-made identity tables (both backends): the person's current key, the keys
merged into it over time (a history row written before the merge carries the old one), never a key a split
left with another customer, never an identifier another customer's records carry, and nothing for a request
whose identifier nobody holds (but that identifier is suppressed)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from cxdata.config import ProjectConfig, SourceConfig
from cxdata.config_privacy import DEFAULT_SALT_ENV
from cxdata.errors import PrivacyError
from cxdata.privacy import REQUEST_SCHEMA, erase
from tests.privacy.identity_tables import HISTORY, NOW, RECORD_KEYS

CONFIG = ProjectConfig(name="t", sources={"orders": SourceConfig(path="o.csv")})


def _requests(*rows: tuple[str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [(request, kind, value, NOW) for request, kind, value in rows], schema=REQUEST_SCHEMA, orient="row"
    )


def test_the_merge_chain_is_erased_and_a_split_or_a_shared_phone_is_not(wh):
    log = erase(wh, CONFIG, _requests(("t-1", "email", " ANA@example.com")), NOW)
    assert log.select("customers", "records", "identifiers_shared_kept", "status").row(0) == (1, 3, 1, "erased")
    assert sorted(wh.read("customer_scores_history")["customer_key"]) == ["C", "D"]
    deleted = json.loads(log["batch_rows_deleted"][0])
    assert deleted["customer_scores_history"] == 3 and deleted["identity_merges"] == 2  # A, B, Z; A->B, Z->A
    assert deleted["identity_links"] == 3 and deleted["identity_record_keys"] == 3
    assert wh.read("identity_merges").select("old_key", "new_key").rows() == [("C", "D")]
    assert wh.read("identity_record_keys")["customer_key"].to_list() == ["D", "D"]
    kept = wh.read("identity_links").sort("record_id")
    assert kept["record_id"].to_list() == ["R2", "o3"]  # D's order keeps the household phone
    suppressed = wh.read("suppressed_identifiers")
    assert sorted(suppressed["identifier_type"]) == ["customer_ref", "email"]  # not the shared phone


def test_an_identifier_nobody_holds_is_suppressed_and_bad_requests_are_refused(wh):
    log = erase(wh, CONFIG, _requests(("t-2", "email", "nobody@example.com")), NOW)
    assert log.select("customers", "identifiers_suppressed", "status").row(0) == (0, 1, "not_found")
    assert wh.row_count("customer_scores_history") == HISTORY.height
    with pytest.raises(PrivacyError, match="not 1-80 letters"):
        erase(wh, CONFIG, _requests(("ana@example.com", "email", "ana@example.com")), NOW)
    with pytest.raises(PrivacyError, match="normalises it to nothing"):
        erase(wh, CONFIG, _requests(("t-3", "email", "not an address")), NOW)
    with pytest.raises(PrivacyError, match="unknown identifier type"):
        erase(wh, CONFIG, _requests(("t-4", "passport", "X1")), NOW)


def test_no_salt_no_erasure(wh, monkeypatch):
    monkeypatch.delenv(DEFAULT_SALT_ENV)
    with pytest.raises(PrivacyError, match=DEFAULT_SALT_ENV):
        erase(wh, CONFIG, _requests(("t-5", "email", "ana@example.com")), NOW)
    assert wh.row_count("identity_record_keys") == RECORD_KEYS.height  # nothing was touched
