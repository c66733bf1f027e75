"""Customers by personal identifier and scores newest first, on DuckDB and PostgreSQL: GET /customers?email= or
?customer_ref= needs the personal scope, normalises the email as identity resolution does, binds the value and
never logs it; runs at one scoring moment come newest run first."""

from __future__ import annotations

import datetime as dt
import json
import logging
from urllib.parse import urlencode

import polars as pl
import pytest

from cxdata.serve import scores
from cxdata.serve.access import BadValue, open_read_only
from cxdata.serve.access_log import redacted
from cxdata.serve.scores import UnknownIdentifier, customer_scores, find_customers
from cxdata.warehouse import Warehouse

from .conftest import (
    BLOCKED_EMAIL,
    LATEST,
    PII_TOKEN,
    SHARED_EMAIL,
    UNSCORED,
    Client,
    key,
    ref,
    running,
)


@pytest.fixture
def client(server):
    c = Client(server)
    yield c
    c.close()


def lookup(**params: str) -> str:
    return "/customers?" + urlencode(params)


def test_lookup_needs_the_personal_scope(client):
    path = lookup(email="user3@example.com")
    status, headers, body = client.get(path, token=None)
    assert status == 401 and headers.get("www-authenticate") == "Bearer" and "token" in json.loads(body)["error"]
    status, _, body = client.get(path)  # the read token
    assert status == 403 and "'personal' scope" in json.loads(body)["error"]
    found = client.json(path, token=PII_TOKEN)
    assert found["matched_by"] == "email" and [c["customer_key"] for c in found["customers"]] == [key(3)]


def test_email_is_trimmed_and_lower_cased_and_brings_the_newest_scores(client, published):
    _, _, tables = published
    found = client.json(lookup(email="  TEST@Example.COM  "), token=PII_TOKEN)  # stored as test@example.com
    assert [c["customer_key"] for c in found["customers"]] == [key(1)]
    latest = found["customers"][0]["latest_scores"]
    assert latest == client.json(f"/customers/{key(1)}/scores")["scores"][0]
    expected = tables["customer_scores"].filter(pl.col("customer_key") == key(1))
    assert latest["model_run_id"] == "r2/clv" and latest["as_of"] == LATEST.isoformat()  # ...T22:00:00+00:00
    assert latest["clv"] == pytest.approx(expected["clv"][0])


def test_customer_ref_is_trimmed_but_keeps_its_case(client):
    found = client.json(lookup(customer_ref=f" {ref(5)} "), token=PII_TOKEN)
    assert found["matched_by"] == "customer_ref" and [c["customer_key"] for c in found["customers"]] == [key(5)]
    assert client.json(lookup(customer_ref=ref(5).lower()), token=PII_TOKEN, expect=404)["error"]


def test_a_customer_without_scores_is_found_with_null_scores(client):
    found = client.json(lookup(customer_ref=ref(30)), token=PII_TOKEN)
    assert found["customers"] == [{"customer_key": UNSCORED, "latest_scores": None}]


def test_unknown_shared_and_blocked_identifiers_are_404s_that_do_not_repeat_them(client):
    answers = {
        "nobody@example.com": "no customer has it",
        SHARED_EMAIL: "shared by more customers",
        BLOCKED_EMAIL.upper(): "blocklisted placeholder",
    }
    for email, reason in answers.items():
        error = client.json(lookup(email=email), token=PII_TOKEN, expect=404)["error"]
        assert reason in error and email.split("@")[0].lower() not in error.lower(), error


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"email": "a@example.com", "customer_ref": ref(1)},
        {"email": "a\n@example.com"},
        {"email": "é" * 257},
        {"customer_ref": "  "},
    ],
)
def test_malformed_lookups_are_400s_that_do_not_repeat_the_value(client, params):
    error = client.json(lookup(**params), token=PII_TOKEN, expect=400)["error"]
    assert error and not any(value[:5] in error for value in params.values()), error


def test_the_identifier_is_a_bound_value_never_sql(ro, monkeypatch):
    hostile = "x' or '1'='1"
    compiled = []

    def fetch(wh, statement):
        compiled.append(statement.compile(dialect=wh.engine.dialect))
        return real_fetch(wh, statement)

    real_fetch = scores.fetch
    monkeypatch.setattr(scores, "fetch", fetch)
    with pytest.raises(UnknownIdentifier):
        find_customers(ro, email=hostile)
    found = find_customers(ro, customer_ref=ref(2))
    assert found.rows["customer_key"].to_list() == [key(2)]
    assert len(compiled) == 2 and not any(hostile in c.string or ref(2) in c.string for c in compiled)
    assert hostile in compiled[0].construct_params().values() and ref(2) in compiled[1].construct_params().values()
    with pytest.raises(BadValue, match="exactly one"):
        find_customers(ro)


def test_the_access_log_never_shows_the_identifier(published):
    url, schema, _ = published
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    access = logging.getLogger("uvicorn.access")
    with running(url, schema, log_level="info", access_log=True) as base:
        keep = Keep()
        access.addHandler(keep)
        try:
            client = Client(base)
            client.json(lookup(email="user4@example.com", x="1"), token=PII_TOKEN)
            client.get("/customers?Email=user5%40example.com&customer_ref=CRM-00005", token=PII_TOKEN)
            client.json("/segments/lost?limit=2")
            client.close()
        finally:
            access.removeHandler(keep)
    joined = "\n".join(lines)
    assert len(lines) == 3, lines  # the log was written: the check below can fail
    assert "user4" not in joined and "user5" not in joined and "CRM-00005" not in joined, joined
    assert "email=***&x=1" in joined and "/segments/lost?limit=2" in joined
    assert redacted("/customers?customer_ref=a%26b&email=") == "/customers?customer_ref=***&email=***"


# -- newest first: two runs at one scoring moment ----------------------------------------------------------------

SAME_DAY = dt.datetime(2026, 7, 31, 22, 0, tzinfo=dt.UTC)
DAY_BEFORE = dt.datetime(2026, 7, 30, 22, 0, tzinfo=dt.UTC)
CUSTOMER = key(1)


def same_day_runs() -> dict[str, pl.DataFrame]:
    """Three runs scored CUSTOMER at SAME_DAY: the morning's and the evening's (whose ids sort the other way
    round), and one model_runs does not know; plus a run the day before. model_runs holds the evening run
    twice (a rerun that appended its row again)."""
    runs = ["b-morning", "a-evening", "c-unrecorded", "z-day-before"]
    history = pl.DataFrame(
        {
            "customer_key": [CUSTOMER] * 4,
            "as_of": [SAME_DAY, SAME_DAY, SAME_DAY, DAY_BEFORE],
            "model_run_id": [f"{run}/clv" for run in runs],
            "clv": [1.0, 2.0, 3.0, 4.0],
            "churn_model_run_id": [f"{run}/churn" for run in runs],
        }
    )
    started = {
        "b-morning": dt.datetime(2026, 8, 1, 8, 0, tzinfo=dt.UTC),
        "a-evening": dt.datetime(2026, 8, 1, 20, 0, tzinfo=dt.UTC),
        "z-day-before": dt.datetime(2026, 8, 2, 23, 0, tzinfo=dt.UTC),  # started last, describes an earlier day
    }
    model_runs = pl.DataFrame(
        {
            "model_run_id": [f"{run}/{kind}" for run in [*started, "a-evening"] for kind in ("clv", "churn")],
            "kind": ["clv", "churn"] * 4,
            "trained_at": [when for when in [*started.values(), started["a-evening"]] for _ in range(2)],
        }
    )
    ids = pl.DataFrame({"identifier_type": ["customer_ref"], "identifier_value": [ref(1)]})
    ids = ids.with_columns(pl.lit(CUSTOMER).alias("customer_key"), pl.lit("linked").alias("status"))
    return {"customer_scores_history": history, "model_runs": model_runs, "customer_identity": ids}


NEWEST_FIRST = ["a-evening/clv", "b-morning/clv", "c-unrecorded/clv", "z-day-before/clv"]


def test_runs_at_one_scoring_moment_come_newest_run_first(warehouse_target):
    url, schema = warehouse_target
    with Warehouse(url, schema) as wh:
        for name, frame in same_day_runs().items():
            wh.publish(name, frame)
    with open_read_only(url, schema) as ro:
        found = customer_scores(ro, CUSTOMER)
        latest = find_customers(ro, customer_ref=ref(1)).rows
    # the old order (as_of, then model_run_id, both descending) gives c-unrecorded, b-morning, a-evening
    assert found["model_run_id"].to_list() == NEWEST_FIRST
    assert found["trained_at"].to_list()[:2] == [
        dt.datetime(2026, 8, 1, 20, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 8, 1, 8, 0, tzinfo=dt.UTC),
    ]
    assert found["trained_at"][2] is None  # no model_runs row: after the runs whose start is known
    assert latest["model_run_id"].to_list() == ["a-evening/clv"] and latest["clv"].to_list() == [2.0]
    with running(url, schema) as base:
        client = Client(base)
        served = client.json(f"/customers/{CUSTOMER}/scores")["scores"]
        by_ref = client.json(lookup(customer_ref=ref(1)), token=PII_TOKEN)["customers"][0]["latest_scores"]
        client.close()
    assert [row["model_run_id"] for row in served] == NEWEST_FIRST and by_ref == served[0]
    assert served[0]["trained_at"].startswith("2026-08-01T20:00") and served[2]["trained_at"] is None
