"""The API over what a real whole-graph run published (the 300-customer project on PostgreSQL, shared with the
pipeline tests): every field of every response model appears in the answers, every answer matches its schema in
/openapi.json, and a customer is found by a real email (typed in upper case with spaces) and customer_ref."""

from __future__ import annotations

import json
from collections import defaultdict
from urllib.parse import urlencode

import jsonschema
import pytest
from pydantic import BaseModel

from cxdata.serve import responses
from cxdata.warehouse import Warehouse

from .conftest import PII_TOKEN, READ_TOKEN, Client, running

MODELS: list[type[BaseModel]] = [
    responses.Health,
    responses.Error,
    responses.SegmentList,
    responses.SegmentSummary,
    responses.SegmentPage,
    responses.SegmentMember,
    responses.CustomerScores,
    responses.ScoreRow,
    responses.Spell,
    responses.SegmentChanges,
    responses.SegmentChange,
    responses.CustomerLookup,
    responses.CustomerMatch,
    responses.Touchpoints,
    responses.Touchpoint,
]


@pytest.fixture(scope="module")
def answers(materialised_on_postgresql):
    """(spec, [(path, operation path, status, body)]) of one request to every operation, over the real run."""
    run = materialised_on_postgresql
    assert run.outcome is not None and run.outcome.success
    with Warehouse(run.url, run.schema) as wh:
        identity = wh.read("customer_identity", columns=["identifier_type", "identifier_value", "customer_key"])
        scored = set(wh.read("customer_scores", columns=["customer_key"])["customer_key"])
    linked = identity.filter(identity["customer_key"].is_in(list(scored)))
    email = linked.filter(linked["identifier_type"] == "email").sort("identifier_value").row(0, named=True)
    ref = linked.filter(linked["identifier_type"] == "customer_ref").sort("identifier_value").row(0, named=True)
    got = []
    with running(run.url, run.schema) as base:
        client = Client(base)

        def ask(path: str, operation: str, token: str | None = READ_TOKEN, expect: int = 200) -> dict:
            status, _, body = client.get(path, token)
            assert status == expect, (path, status, body[:300])
            got.append((path, operation, status, json.loads(body)))
            return got[-1][3]

        spec = ask("/openapi.json", "", token=None)
        ask("/healthz", "/healthz", token=None)
        listed = ask("/segments", "/segments")
        name = next(s["segment"] for s in listed["segments"] if s["customers"])
        ask(f"/segments/{name}?contacts=raw&purpose=email&limit=50", "/segments/{name}", PII_TOKEN)
        page = ask(f"/segments/{name}?contacts=hashed&purpose=email&limit=50", "/segments/{name}", PII_TOKEN)
        ask("/segments/no_such_segment", "/segments/{name}", expect=404)
        ask(f"/segments/{name}/changes?since=2000-01-01&limit=20", "/segments/{name}/changes")
        ask(f"/customers/{page['items'][0]['customer_key']}/scores", "/customers/{customer_key}/scores")
        ask("/touchpoints", "/touchpoints")
        shouted = f"  {email['identifier_value'].upper()} "
        by_email = ask("/customers?" + urlencode({"email": shouted}), "/customers", PII_TOKEN)
        by_ref = ask("/customers?" + urlencode({"customer_ref": ref["identifier_value"]}), "/customers", PII_TOKEN)
        client.close()
    assert [c["customer_key"] for c in by_email["customers"]] == [email["customer_key"]]
    assert [c["customer_key"] for c in by_ref["customers"]] == [ref["customer_key"]]
    return spec, got[1:]


def test_every_answer_matches_its_schema(answers):
    spec, got = answers
    for path, operation, status, body in got:
        schema = spec["paths"][operation]["get"]["responses"][str(status)]["content"]["application/json"]["schema"]
        validator = jsonschema.Draft202012Validator({**schema, "components": spec["components"]})
        errors = list(validator.iter_errors(body))
        assert not errors, (path, [error.message[:200] for error in errors[:3]])


def test_every_field_of_every_model_is_in_real_answers(answers):
    _, got = answers
    keys: dict[str, set[str]] = defaultdict(set)
    nested = {"segments": "SegmentSummary", "items": "SegmentMember", "scores": "ScoreRow"}
    nested |= {"customers": "CustomerMatch", "touchpoints": "Touchpoint", "latest_scores": "ScoreRow"}
    nested |= {"membership": "Spell"}
    by_path = {
        "/healthz": "Health",
        "/segments": "SegmentList",
        "/segments/{name}": "SegmentPage",
        "/customers/{customer_key}/scores": "CustomerScores",
        "/touchpoints": "Touchpoints",
        "/customers": "CustomerLookup",
        "/segments/{name}/changes": "SegmentChanges",
    }

    def collect(model: str, body: dict) -> None:
        keys[model] |= set(body)
        for field, value in body.items():
            rows = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
            for row in rows:
                if isinstance(row, dict):  # a page of changes holds changes, a page of members members
                    collect("SegmentChange" if model == "SegmentChanges" else nested[field], row)

    for _, operation, status, body in got:
        collect("Error" if status >= 400 else by_path[operation], body)
    missing = {m.__name__: set(m.model_fields) - keys[m.__name__] for m in MODELS}
    extra = {m.__name__: keys[m.__name__] - set(m.model_fields) for m in MODELS}
    assert all(not fields for fields in missing.values()), missing
    assert all(not fields for fields in extra.values()), extra
