"""The OpenAPI document FastAPI generates: well formed (every reference resolves, every schema is a valid JSON
Schema), the bearer scheme and each operation's scopes, the parameters with their constraints, every answer a
typed body with described fields (no free-form objects), and the models' fields described as sql/ describes
the warehouse columns they carry."""

from __future__ import annotations

import datetime as dt
import json
import logging

import jsonschema
import polars as pl
import pytest

from cxdata.serve import responses
from cxdata.serve.api import create_app
from cxdata.serve.auth import Tokens
from cxdata.serve.segments import SCORE_COLUMNS
from cxdata.warehouse import Warehouse
from cxdata.warehouse.comments import comments_for

from .conftest import Client, running

OPERATIONS = {
    "/healthz": "health",
    "/segments": "listSegments",
    "/segments/{name}": "getSegment",
    "/customers": "findCustomers",
    "/customers/{customer_key}/scores": "getCustomerScores",
    "/segments/{name}/changes": "getSegmentChanges",
    "/touchpoints": "listTouchpoints",
}


@pytest.fixture(scope="module")
def spec(ro):
    return create_app(ro, Tokens(open_read=True)).openapi()


def refs(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        _, _, name = schema["$ref"].rpartition("/")
        schema = spec["components"]["schemas"][name]
    return schema


def test_the_document_is_well_formed(spec):
    assert spec["openapi"] == "3.1.0" and spec["info"]["title"] == "cxdata" and spec["info"]["version"]
    assert {path: item["get"]["operationId"] for path, item in spec["paths"].items()} == OPERATIONS
    assert all(set(item) == {"get"} for item in spec["paths"].values())
    for reference in refs(spec):
        assert reference.startswith("#/components/schemas/"), reference
        assert reference.rpartition("/")[2] in spec["components"]["schemas"], reference
    for schema in spec["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    for path, item in spec["paths"].items():
        operation = item["get"]
        assert operation["summary"] and operation["responses"]["200"]["description"], path
        for status, answer in operation["responses"].items():
            assert answer["description"] and status != "422", (path, status)
            if status != "200":
                assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    # a malformed parameter is a 400 with the Error body: FastAPI's own validation error is not documented
    assert not {"HTTPValidationError", "ValidationError"} & set(spec["components"]["schemas"])


def test_the_bearer_scheme_and_the_scopes_of_each_operation(spec):
    assert spec["components"]["securitySchemes"]["bearer"]["type"] == "http"
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    needs = {path: item["get"].get("security") for path, item in spec["paths"].items()}
    assert needs.pop("/healthz") is None
    assert needs.pop("/customers") == [{"bearer": ["read", "personal"]}]
    assert all(security == [{"bearer": ["read"]}] for security in needs.values()), needs
    for path, item in spec["paths"].items():
        if path != "/healthz":
            assert "401" in item["get"]["responses"] and "503" in item["get"]["responses"], path
            assert item["get"]["responses"]["503"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    for path in ("/segments/{name}", "/customers"):
        assert "403" in spec["paths"][path]["get"]["responses"], path


def parameter(spec: dict, path: str, name: str) -> dict:
    (found,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name]
    return found


def test_parameters_carry_their_constraints(spec):
    limit = parameter(spec, "/segments/{name}", "limit")["schema"]
    assert (limit["type"], limit["minimum"], limit["maximum"], limit["default"]) == ("integer", 1, 1000, 100)
    fmt = parameter(spec, "/segments/{name}", "format")["schema"]["anyOf"][0]
    assert fmt["enum"] == ["json", "csv"]
    assert parameter(spec, "/segments/{name}", "contacts")["schema"]["enum"] == ["none", "raw", "hashed"]
    for path in ("/segments", "/segments/{name}", "/touchpoints"):
        as_of = parameter(spec, path, "as_of")
        assert as_of["in"] == "query" and not as_of["required"]
        assert as_of["schema"]["anyOf"][0] == {"type": "string", "format": "date"}
        assert "1900-01-01" in as_of["description"]
    for path, name in (("/segments/{name}", "name"), ("/customers/{customer_key}/scores", "customer_key")):
        held = parameter(spec, path, name)
        assert held["in"] == "path" and held["required"] and held["schema"]["maxLength"] == 256
    for name in ("email", "customer_ref"):
        assert parameter(spec, "/customers", name)["schema"]["anyOf"][0]["maxLength"] == 256
    assert spec["paths"]["/segments/{name}"]["get"]["responses"]["200"]["content"]["text/csv"]


def typed(spec: dict, schema: dict, where: str, seen: set[str]) -> None:
    """Fails unless ``schema`` is typed all the way down: objects with described properties and no
    additionalProperties, arrays of typed items, no schema that accepts anything."""
    if "$ref" in schema:
        name = schema["$ref"].rpartition("/")[2]
        if name in seen:
            return
        seen.add(name)
        typed(spec, resolve(spec, schema), name, seen)
        return
    for option in schema.get("anyOf", []):
        typed(spec, option, where, seen)
    if "anyOf" in schema:
        return
    assert "type" in schema or "enum" in schema, (where, schema)
    assert schema.get("additionalProperties") in (None, False), (where, schema)
    if schema.get("type") == "object":
        assert schema.get("properties"), (where, "a free-form object")
        for name, field in schema["properties"].items():
            assert field.get("description"), (where, name, "has no description")
            typed(spec, field, f"{where}.{name}", seen)
    if schema.get("type") == "array":
        typed(spec, schema["items"], f"{where}[]", seen)


def test_every_answer_is_a_typed_body_with_described_fields(spec):
    seen: set[str] = set()
    for path, item in spec["paths"].items():
        for status, answer in item["get"]["responses"].items():
            typed(spec, answer["content"]["application/json"]["schema"], f"{path} {status}", seen)
    assert {"SegmentList", "SegmentPage", "SegmentMember", "CustomerScores", "ScoreRow", "CustomerLookup"} <= seen
    assert {"Touchpoints", "Touchpoint", "Error", "Health"} <= seen


def documented(table: str) -> dict[str, str]:
    return {c.column: c.text for c in comments_for(table) if c.column is not None}


def test_rows_carry_every_documented_column_with_its_sql_description():
    whole = {responses.ScoreRow: "customer_scores_history", responses.Touchpoint: "touchpoint_scores"}
    for model, table in whole.items():
        columns = documented(table)
        fields = model.model_fields
        assert set(columns) <= set(fields), (model.__name__, set(columns) - set(fields))
        assert all(fields[c].description == text for c, text in columns.items()), model.__name__
    member = responses.SegmentMember.model_fields
    assert set(SCORE_COLUMNS) <= set(member)
    assert member["clv"].description == documented("customer_scores")["clv"]
    assert member["email"].description == documented("dim_customer_pii")["email"]
    summary = documented("segment_summary")
    assert all(f.description == summary[n] for n, f in responses.SegmentSummary.model_fields.items())
    with pytest.raises(KeyError, match="no comment on column 'nope'"):
        responses.column("customer_scores", "nope")


def test_the_served_document_is_the_generated_one(server, spec):
    client = Client(server)
    try:
        assert client.json("/openapi.json", token=None) == spec
        status, _, _ = client.get("/docs", token=None)
        assert status == 404  # no documentation page pulling scripts from elsewhere
    finally:
        client.close()


def test_an_answer_that_breaks_its_model_is_a_500_that_shows_no_values(tmp_path, caplog):
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    as_of = dt.datetime(2026, 6, 30, 22, tzinfo=dt.UTC)
    with Warehouse(url) as wh:
        wh.publish("segment_members", pl.DataFrame({"segment": ["vip"], "customer_key": ["C1"], "as_of": [as_of]}))
        # customers is a count: a table holding text there cannot be answered as the model says
        wh.publish(
            "segment_summary",
            pl.DataFrame({"segment": ["vip"], "customers": ["ana@example.com"]}).with_columns(
                pl.lit(as_of).alias("as_of"), pl.lit(1).alias("rule_order")
            ),
        )
    with caplog.at_level(logging.ERROR, logger="cxdata.serve.http_errors"), running(url, None) as base:
        client = Client(base)
        status, _, body = client.get("/segments")
        client.close()
    assert status == 500 and json.loads(body) == {"error": "the server could not answer; see the server log"}
    logged = [r.getMessage() for r in caplog.records if r.name == "cxdata.serve.http_errors"]
    assert logged and "segments.0.customers" in logged[0] and "ana@" not in "".join(logged), logged
