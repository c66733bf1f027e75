"""GET /segments/{name}/changes and the membership history in /customers/{key}/scores, on DuckDB and PostgreSQL:
the changes since a run or a day are exactly the events of the scorings after it, paged without loss or
repeat; a customer's stays come latest first."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from cxdata.activation.membership import update_membership
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse
from tests.activation.scorings import SCORINGS, T1, T2, T3, clv_of, key, write_scoring

from .conftest import Client, running

SEGMENT = "high_value_at_risk"


def expected_changes(after: dt.datetime, inclusive: bool) -> list[tuple[str, str, str]]:
    """(as_of, customer_key, event) of the segment's events after (or from) ``after``, worked out from sets."""
    found, before = [], set()
    for as_of in sorted(SCORINGS):
        now = set(SCORINGS[as_of][SEGMENT])
        if as_of > after or (inclusive and as_of >= after):
            found += [(as_of.isoformat(), key(n), "entered") for n in now - before]
            found += [(as_of.isoformat(), key(n), "exited") for n in before - now]
        before = now
    return sorted(found)


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def history(request, tmp_path_factory):
    if request.param == "duckdb":
        url, schema = f"duckdb:///{tmp_path_factory.mktemp('changes') / 'warehouse.duckdb'}", None
    else:
        url, schema = request.getfixturevalue("pg_server"), f"t_{uuid.uuid4().hex[:12]}"
    with Warehouse(url, schema) as wh:
        for n, as_of in enumerate(sorted(SCORINGS), start=1):
            write_scoring(wh, as_of, f"r{n}", SCORINGS[as_of])
            update_membership(wh, RunContext(run_id=f"m{n}", as_of=as_of, now=as_of))
    with running(url, schema) as base:
        client = Client(base)
        yield client
        client.close()
    if schema is not None:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
        engine.dispose()


def rows(body: dict) -> list[tuple[str, str, str]]:
    return [(item["as_of"], item["customer_key"], item["event"]) for item in body["items"]]


def test_changes_since_a_run_are_the_events_after_its_scoring(history):
    body = history.json(f"/segments/{SEGMENT}/changes?since=r1&limit=1000")
    assert (body["since"], body["since_kind"], body["through"]) == (T1.isoformat(), "run", T3.isoformat())
    assert rows(body) == expected_changes(T1, inclusive=False) and body["next"] is None
    assert {item["run_id"] for item in body["items"]} == {"r2", "r3"}


def test_changes_since_a_day_start_with_that_days_scorings(history):
    body = history.json(f"/segments/{SEGMENT}/changes?since={T3.date().isoformat()}")
    assert body["since_kind"] == "day" and rows(body) == expected_changes(T3, inclusive=True)
    everything = history.json(f"/segments/{SEGMENT}/changes?since=2026-01-01")
    assert rows(everything) == expected_changes(T1, inclusive=True)


def test_pages_cover_every_change_once(history):
    path, seen = f"/segments/{SEGMENT}/changes?since=2026-01-01&limit=3", []
    while path is not None:
        body = history.json(path)
        assert body["count"] <= 3
        seen += rows(body)
        path = body["next"]
    assert seen == expected_changes(T1, inclusive=True)


def test_bad_since_cursor_or_token_are_refused(history):
    assert "no scoring by run" in history.json(f"/segments/{SEGMENT}/changes?since=nope", expect=404)["error"]
    assert "next_after" in history.json(f"/segments/{SEGMENT}/changes?since=r1&after=zz", expect=400)["error"]
    assert history.get(f"/segments/{SEGMENT}/changes?since=r1", token=None)[0] == 401
    assert history.get(f"/segments/{SEGMENT}/changes", token=None)[0] in (400, 401)


def test_a_customers_scores_come_with_their_stays_latest_first(history):
    body = history.json(f"/customers/{key(5)}/scores")
    spells = [(s["segment"], s["entered_at"], s["exited_at"]) for s in body["membership"]]
    assert spells == [
        (SEGMENT, T3.isoformat(), None),
        ("loyal", T2.isoformat(), T3.isoformat()),
        (SEGMENT, T1.isoformat(), T2.isoformat()),
    ]
    assert body["membership"][0]["clv_at_entry"] == clv_of(5, T3)
