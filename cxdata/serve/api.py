"""The HTTP API of `cxdata serve`: a Starlette app over a read-only warehouse connection.

    GET /segments                          segments at the latest (or ?as_of=DAY) scoring moment
    GET /segments/{name}                   a JSON page of members with scores (?limit, ?after), or CSV of all
                                           (?format=csv or Accept: text/csv); ?contacts=raw|hashed needs the
                                           personal scope
    GET /customers/{customer_key}/scores   every scored run of one customer
    GET /touchpoints                       the touchpoint investment table (404 until it is published)
    GET /openapi.json, GET /healthz        no token needed

Tokens and scopes: `cxdata.serve.auth`. Errors are JSON ``{"error": ...}``
(unknown segments add ``known``); warehouse failures are logged and answered
500 without detail, or 503 with ``Retry-After`` when the warehouse is only
momentarily unavailable (a pipeline holding the DuckDB file to publish, a
PostgreSQL connection hiccup: `cxdata.warehouse.errors.is_transient`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack, asynccontextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import polars as pl
import polars.selectors as cs
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from cxdata.config import DEFAULT_CURRENCY
from cxdata.serve import openapi, scores, segments
from cxdata.serve.access import BadValue, ServeError, check_value, open_read_only, parse_day, stream
from cxdata.serve.auth import PERSONAL, READ, BearerBackend, Tokens
from cxdata.warehouse import Warehouse, WarehouseError
from cxdata.warehouse.errors import is_transient

log = logging.getLogger(__name__)
MAX_PAGE = 1000
DEFAULT_PAGE = 100
# A DuckDB publish holds the file for seconds (load, swap); PostgreSQL hiccups pass sooner.
RETRY_AFTER_SECONDS = 5


def create_app(
    warehouse: Warehouse | str, tokens: Tokens, schema: str | None = None, currency: str = DEFAULT_CURRENCY
) -> Starlette:
    """The app serving ``warehouse``: a Warehouse the caller opened (read-only, see
    `cxdata.serve.access.open_read_only`) and disposes, or a URL the app opens read-only and disposes on shutdown;
    money in segment members is labelled ``currency``.
    """
    owned = isinstance(warehouse, str)
    wh = open_read_only(warehouse, schema) if isinstance(warehouse, str) else warehouse

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        if owned:
            wh.dispose()

    def guarded(handler: Callable[[Request, Warehouse], Response]) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            _require_scope(request, READ)
            request.state.currency = currency
            return handler(request, wh)

        return endpoint

    routes = [
        Route("/healthz", lambda _request: JSONResponse({"status": "ok"})),
        Route("/openapi.json", lambda _request: JSONResponse(openapi.spec())),
        Route("/segments", guarded(_list_segments)),
        Route("/segments/{name}", guarded(_segment)),
        Route("/customers/{customer_key}/scores", guarded(_customer_scores)),
        Route("/touchpoints", guarded(_touchpoints)),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(AuthenticationMiddleware, backend=BearerBackend(tokens), on_error=_auth_failed)],
        exception_handlers={
            HTTPException: _http_error,
            ServeError: _serve_error,
            WarehouseError: _warehouse_error,
        },
        lifespan=lifespan,
    )


# -- handlers (sync: Starlette runs them in its thread pool, so warehouse calls never block the loop) ---------


def _list_segments(request: Request, wh: Warehouse) -> Response:
    listed = segments.list_segments(wh, parse_day(request.query_params.get("as_of")))
    as_of = listed["as_of"][0] if listed.height else None
    return _json({"as_of": as_of, "segments": _records(listed.drop("as_of"))})


def _segment(request: Request, wh: Warehouse) -> Response:
    name = request.path_params["name"]
    query = request.query_params
    day = parse_day(query.get("as_of"))
    contacts = query.get("contacts", "none")
    if contacts not in segments.CONTACTS:
        raise BadValue(f"contacts must be one of {', '.join(segments.CONTACTS)}")
    if contacts != "none":
        _require_scope(request, PERSONAL)
    wanted = query.get("format") or ("csv" if "text/csv" in request.headers.get("accept", "") else "json")
    if wanted not in ("json", "csv"):
        raise BadValue("format must be json or csv")
    if wanted == "csv":
        as_of = segments.resolve_as_of(wh, day)
        # unknown names fail before streaming
        statement = segments.members_statement(wh, name, as_of, contacts, currency=request.state.currency)

        # Connect before answering, so a warehouse locked by a publish is a 503 rather than a broken body; the
        # connection closes when the body is done (or, if never iterated, after the response).
        held = ExitStack()
        result = held.enter_context(stream(wh, statement))

        def body():
            with held:
                yield from segments.csv_chunks(result)

        filename = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:80] or "segment"
        return StreamingResponse(
            body(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
            background=BackgroundTask(held.close),
        )
    limit = _int(query.get("limit"), "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    after = query.get("after")
    found = segments.page(wh, name, day, contacts, limit, after, currency=request.state.currency)
    following = None
    if found.next_after is not None:
        params = {**dict(query), "after": found.next_after, "limit": str(limit)}
        following = f"{request.url.path}?{urlencode(params)}"
    return _json(
        {
            "segment": found.segment,
            "as_of": found.as_of,
            "contacts": contacts,
            "count": found.rows.height,
            "items": _records(found.rows),
            "next_after": found.next_after,
            "next": following,
        }
    )


def _customer_scores(request: Request, wh: Warehouse) -> Response:
    key = check_value(request.path_params["customer_key"], "customer_key")
    return _json({"customer_key": key, "scores": _records(scores.customer_scores(wh, key))})


def _touchpoints(request: Request, wh: Warehouse) -> Response:
    query = request.query_params
    found = scores.touchpoints(wh, parse_day(query.get("as_of")), query.get("channel"))
    return _json({"touchpoints": _records(found)})


# -- helpers --------------------------------------------------------------------------------------------------


def _require_scope(request: Request, scope: str) -> None:
    if scope in request.auth.scopes:
        return
    if READ not in request.auth.scopes:
        raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    raise HTTPException(403, f"this token does not have the {scope!r} scope")


def _int(text: str | None, what: str, default: int, low: int, high: int) -> int:
    if text is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", text) or not low <= int(text) <= high:
        raise BadValue(f"{what} must be a whole number from {low} to {high}")
    return int(text)


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    # JSON has no NaN; a missing estimate is null.
    return frame.with_columns(cs.float().fill_nan(None)).to_dicts()


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, default=_plain, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _auth_failed(_conn: HTTPConnection, exc: Exception) -> Response:
    return JSONResponse({"error": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _serve_error(_request: Request, exc: Exception) -> Response:
    if isinstance(exc, BadValue):
        return _json({"error": str(exc)}, 400)
    if isinstance(exc, segments.UnknownSegment):
        return _json({"error": str(exc), "known": exc.known}, 404)
    # The rest (NotPublished, UnknownCustomer, nothing scored that day) say what is not there.
    return _json({"error": str(exc)}, 404)


async def _warehouse_error(request: Request, exc: Exception) -> Response:
    if is_transient(exc):
        log.warning("warehouse busy serving %s: %s", request.url.path, exc)
        return _json(
            {"error": "the warehouse is busy (a pipeline may be publishing); retry shortly"},
            503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    log.error("warehouse error serving %s: %s", request.url.path, exc)
    return _json({"error": "the warehouse could not answer; see the server log"}, 500)
