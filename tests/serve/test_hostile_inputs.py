"""Hostile values (SQL fragments, quotes, placeholders, unicode, control characters, very long strings) through the
library and the live server, on DuckDB and PostgreSQL: each is an unknown value or a 400, never SQL, never a 500,
and every table keeps its rows. Days at the ends of the calendar and odd query parameters are 4xx too."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote

import pytest

from cxdata.serve.access import MAX_VALUE_LENGTH, BadValue, NotPublished, ServeError
from cxdata.serve.scores import UnknownCustomer, customer_scores, touchpoints
from cxdata.serve.segments import UnknownSegment, list_segments, members_statement, page, resolve_as_of

from .conftest import Client, key

HOSTILE = [
    "x'; drop table customer_scores; --",
    "lost' OR '1'='1",
    'lost"; delete from segment_members; --',
    "lost') UNION SELECT email, phone FROM dim_customer_pii --",
    "%(segment)s",
    ":segment",
    "$1",
    "?",
    "\\'",
    "sé gment ☃ 客户 🎯",
    "lost\u200b",  # zero-width space: looks like a known name, is not
    "LOST",
    "x" * MAX_VALUE_LENGTH,
]
REFUSED = ["lost\x00", "lost\n", "x" * (MAX_VALUE_LENGTH + 1), "y" * 100_000]


def row_counts(wh) -> dict[str, int]:
    return {name: wh.row_count(name) for name in ("customer_scores", "segment_members", "dim_customer_pii")}


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_names_and_keys_are_unknown_values(ro, value):
    before = row_counts(ro)
    with pytest.raises(UnknownSegment) as raised:
        page(ro, value)
    assert raised.value.known and value[:20] not in raised.value.known
    with pytest.raises(UnknownCustomer):
        customer_scores(ro, value)
    assert row_counts(ro) == before


@pytest.mark.parametrize("value", REFUSED)
def test_control_characters_and_very_long_values_are_refused(ro, value):
    for call in (
        lambda: page(ro, value),
        lambda: customer_scores(ro, value),
        lambda: page(ro, "lost", after=value),
    ):
        with pytest.raises(BadValue) as raised:
            call()
        assert len(str(raised.value)) < 300  # the value is cut in the message


def test_a_hostile_cursor_is_compared_as_a_value(ro):
    # Bound as a value, it sorts just after C0000000005 (the tail follows the key's last digit): paging resumes
    # at the next key. Spliced into SQL it would be a syntax error or a dropped table.
    after = key(5) + "'; drop table customer_scores; --"
    found = page(ro, "champions", limit=100, after=after)
    keys = found.rows["customer_key"].to_list()
    assert keys and all(k > key(5) for k in keys) and key(8) in keys
    assert ro.row_count("customer_scores") > 0


def test_values_never_appear_in_the_sql_text(ro):
    statement = members_statement(ro, "lost", resolve_as_of(ro), "hashed", purpose="ads")
    compiled = statement.compile(dialect=ro.engine.dialect)
    assert "lost" not in compiled.string and "lost" in compiled.construct_params().values()


def test_hostile_values_over_http(server, ro):
    before = row_counts(ro)
    client = Client(server)
    try:
        for value in HOSTILE + REFUSED[:-1]:
            encoded = quote(value, safe="")
            for path in (
                f"/segments/{encoded}",
                f"/customers/{encoded}/scores",
                f"/segments/lost?after={encoded}",
                f"/segments?as_of={encoded}",
                f"/touchpoints?channel={encoded}",
            ):
                status, _, body = client.get(path)
                assert status in (200, 400, 404), (path[:80], status, body[:200])
                assert "error" in json.loads(body) or status == 200
    finally:
        client.close()
    assert row_counts(ro) == before


EXTREME_DAYS = ["9999-12-31", "0001-01-01", "1899-12-31", "3000-01-01"]
ODD_QUERIES = [
    *(f"/segments?as_of={day}" for day in EXTREME_DAYS),
    *(f"/segments/lost?as_of={day}" for day in EXTREME_DAYS),
    *(f"/segments/lost?format=csv&as_of={day}" for day in EXTREME_DAYS),
    *(f"/touchpoints?as_of={day}" for day in EXTREME_DAYS),
    "/segments?as_of=",
    "/segments?as_of=2026-02-30",
    "/segments?as_of=2026-13-01",
    "/segments?as_of=%2B12026-01-01",
    "/segments?as_of=2026-06-30T25:00",
    "/segments/lost?limit=0",
    "/segments/lost?limit=-1",
    "/segments/lost?limit=99999999999999999999",
    "/segments/lost?limit=1e3",
    "/segments/lost?limit=",
    "/segments/lost?after=",
    "/segments/lost?format=xml",
    "/segments/lost?format=",
    "/segments/lost?contacts=everything",
    "/segments/lost?contacts=raw&purpose=email",
    "/segments/lost?format=csv&contacts=hashed&purpose=email",
    "/segments/%5B%2F%5D",
    "/segments/..%2F..%2Fetc%2Fpasswd",
    "/customers/%2E%2E/scores",
]


@pytest.mark.parametrize("day", [dt.date.max, dt.date.min])
def test_the_first_and_last_days_there_are_find_nothing_rather_than_overflow(ro, day):
    with pytest.raises(ServeError, match=f"no segments were scored on {day.isoformat()}"):
        list_segments(ro, day)
    with pytest.raises(NotPublished):
        touchpoints(ro, day)


def test_odd_queries_over_http_are_client_errors_never_server_errors(server):
    client = Client(server)
    answers = {}
    try:
        for path in ODD_QUERIES:
            status, _, body = client.get(path)
            answers[path] = status
            assert status < 500, (path, status, body[:200])
            if status >= 400:
                assert json.loads(body)["error"]
    finally:
        client.close()
    # days no scoring can have are refused as such, not looked up
    assert all(answers[path] == 400 for path in ODD_QUERIES if any(day in path for day in EXTREME_DAYS))
    assert answers["/segments/lost?contacts=raw&purpose=email"] == 403
