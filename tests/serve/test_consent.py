"""Contacts leave the warehouse for one purpose, and only for the members who agreed to it (issue 23): an export
or a page with contacts needs a purpose, leaves out and counts the members who said no or never said, and
pages keep their size; without contacts nothing is filtered."""

from __future__ import annotations

import polars as pl
import pytest

from cxdata.serve.access import BadValue, open_read_only
from cxdata.serve.export import export
from cxdata.serve.segments import page
from cxdata.warehouse import Warehouse

from .conftest import LATEST, consent, fixture_tables, key

REFUSED, UNSTATED = frozenset({2, 4, 9, 15}), frozenset({3, 10})


@pytest.fixture
def ro(warehouse_target):
    url, schema = warehouse_target
    tables = fixture_tables() | {"customer_consent": consent(REFUSED, UNSTATED)}
    with Warehouse(url, schema) as wh:
        for name, frame in tables.items():
            wh.publish(name, frame)
    with open_read_only(url, schema) as wh:
        yield wh, tables


def _members(tables: dict[str, pl.DataFrame], segment: str) -> list[str]:
    members = tables["segment_members"].filter((pl.col("segment") == segment) & (pl.col("as_of") == LATEST))
    return sorted(members["customer_key"])


@pytest.mark.parametrize("segment", ["lost", "champions"])
def test_an_export_for_ads_leaves_out_and_counts_who_did_not_agree(ro, tmp_path, segment):
    wh, tables = ro
    members = _members(tables, segment)
    without = {key(i) for i in REFUSED | UNSTATED} & set(members)
    assert members and without, "the fixture must put refusing members in the segment"
    result = export(wh, segment, tmp_path / "ads.csv", contacts="hashed", purpose="ads")
    written = pl.read_csv(tmp_path / "ads.csv", infer_schema=False)
    assert sorted(written["customer_key"]) == [k for k in members if k not in without]
    assert (result.rows, result.without_consent) == (len(members) - len(without), len(without))
    email = export(wh, segment, tmp_path / "email.csv", contacts="raw", purpose="email")
    unstated = len(UNSTATED & {int(k[-3:]) for k in members})  # no statement is no consent, for any purpose
    assert (email.rows, email.without_consent) == (len(members) - unstated, unstated)


def test_contacts_need_a_purpose_and_no_contacts_need_none(ro, tmp_path):
    wh, tables = ro
    for contacts in ("raw", "hashed"):
        with pytest.raises(BadValue, match="email, sms, ads"):
            export(wh, "lost", tmp_path / "x.csv", contacts=contacts)
    with pytest.raises(BadValue, match="email, sms, ads"):
        export(wh, "lost", tmp_path / "x.csv", template="google")
    with pytest.raises(BadValue, match="purpose must be one of"):
        export(wh, "lost", tmp_path / "x.csv", contacts="raw", purpose="telepathy")
    plain = export(wh, "lost", tmp_path / "plain.csv", contacts="none")
    assert plain.rows == len(_members(tables, "lost")) and plain.without_consent == 0


def test_pages_with_a_purpose_keep_their_size_and_cover_the_consenting_members(ro):
    wh, tables = ro
    wanted = [k for k in _members(tables, "lost") if int(k[-3:]) not in REFUSED | UNSTATED]
    seen, after = [], None
    while True:
        found = page(wh, "lost", contacts="raw", limit=2, after=after, purpose="ads")
        assert found.rows.height == 2 or found.next_after is None
        seen += found.rows["customer_key"].to_list()
        after = found.next_after
        if after is None:
            break
    assert seen == wanted
