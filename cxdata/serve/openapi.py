"""The OpenAPI 3.1 description of the `cxdata serve` HTTP API, served at /openapi.json."""

from __future__ import annotations

from typing import Any

from cxdata.config import FIRST_DAY, LAST_DAY
from cxdata.serve.auth import API_TOKEN_ENV, PERSONAL, PII_TOKEN_ENV

_ERROR = {"$ref": "#/components/schemas/Error"}


def _param(name: str, where: str, schema: dict[str, Any], description: str, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_AS_OF = _param(
    "as_of",
    "query",
    {"type": "string", "format": "date"},
    f"Read the latest scoring moment on this UTC day ({FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}).",
)
_ERRORS = {
    "400": _json(_ERROR, "A parameter is malformed."),
    "401": _json(_ERROR, "No token, or an invalid one."),
    "404": _json(_ERROR, "Nothing published under that name, key or day."),
    "503": {
        **_json(_ERROR, "The warehouse is momentarily busy (a pipeline publishing to a DuckDB file): retry."),
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
    },
}
_ROWS = {"type": "array", "items": {"type": "object", "additionalProperties": True}}


def spec() -> dict[str, Any]:
    """The OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cxdata",
            "version": "1",
            "description": (
                f"Scored segments, customer scores and touchpoints, read-only. Bearer tokens: {API_TOKEN_ENV} "
                f"reads everything but personal data; {PII_TOKEN_ENV} also reads contacts (scope {PERSONAL})."
            ),
        },
        "security": [{"bearer": []}],
        "paths": {
            "/segments": {
                "get": {
                    "summary": "Segments with their size and value at one scoring moment",
                    "operationId": "listSegments",
                    "parameters": [_AS_OF],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {"as_of": {"type": "string"}, "segments": _ROWS},
                                "required": ["as_of", "segments"],
                            },
                            "The segments in rule order.",
                        ),
                        **_ERRORS,
                    },
                }
            },
            "/segments/{name}": {
                "get": {
                    "summary": "Members of one segment with their scores: a JSON page, or all of them as CSV",
                    "operationId": "getSegment",
                    "parameters": [
                        _param("name", "path", {"type": "string"}, "Segment name.", required=True),
                        _AS_OF,
                        _param(
                            "limit",
                            "query",
                            {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                            "Members per page (JSON).",
                        ),
                        _param("after", "query", {"type": "string"}, "Cursor: next_after of the previous page."),
                        _param(
                            "format",
                            "query",
                            {"type": "string", "enum": ["json", "csv"], "default": "json"},
                            "csv streams every member (so does Accept: text/csv).",
                        ),
                        _param(
                            "contacts",
                            "query",
                            {"type": "string", "enum": ["none", "raw", "hashed"], "default": "none"},
                            f"Add email and phone, raw or SHA-256 of the normalised value (scope {PERSONAL}).",
                        ),
                    ],
                    "responses": {
                        "200": {
                            "description": "A page of members, or the CSV of all of them.",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/SegmentPage"}},
                                "text/csv": {"schema": {"type": "string"}},
                            },
                        },
                        **_ERRORS,
                        "403": _json(_ERROR, f"Contacts asked for without scope {PERSONAL}."),
                    },
                }
            },
            "/customers/{customer_key}/scores": {
                "get": {
                    "summary": "Every scored run of one customer, newest first",
                    "operationId": "getCustomerScores",
                    "parameters": [
                        _param("customer_key", "path", {"type": "string"}, "Resolved customer key.", required=True)
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {"customer_key": {"type": "string"}, "scores": _ROWS},
                                "required": ["customer_key", "scores"],
                            },
                            "The customer's scores.",
                        ),
                        **_ERRORS,
                    },
                }
            },
            "/touchpoints": {
                "get": {
                    "summary": "The touchpoint investment table at its latest scoring moment",
                    "operationId": "listTouchpoints",
                    "parameters": [_AS_OF, _param("channel", "query", {"type": "string"}, "Only this channel.")],
                    "responses": {
                        "200": _json(
                            {"type": "object", "properties": {"touchpoints": _ROWS}, "required": ["touchpoints"]},
                            "Attributed value, cost, return on spend and recommendation per touchpoint.",
                        ),
                        **_ERRORS,
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {"type": "string"},
                        "known": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["error"],
                },
                "SegmentPage": {
                    "type": "object",
                    "properties": {
                        "segment": {"type": "string"},
                        "as_of": {"type": "string"},
                        "contacts": {"type": "string"},
                        "count": {"type": "integer"},
                        "items": _ROWS,
                        "next_after": {"type": ["string", "null"]},
                        "next": {"type": ["string", "null"]},
                    },
                    "required": ["segment", "as_of", "items", "next_after"],
                },
            },
        },
    }
