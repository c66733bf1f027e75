"""The HTTP API of `cxdata serve`: a FastAPI app over a read-only warehouse connection.

    GET /segments                          segments at the latest (or ?as_of=DAY) scoring moment
    GET /segments/{name}                   a JSON page of members with scores (?limit, ?after), or CSV of all
                                           (?format=csv or Accept: text/csv); ?contacts=raw|hashed needs the
                                           personal scope
    GET /customers?email=|?customer_ref=   the customer(s) with that identifier and their newest scores
                                           (personal scope)
    GET /customers/{customer_key}/scores   every scored run of one customer, newest first
    GET /touchpoints                       the touchpoint investment table (404 until it is published)
    GET /openapi.json, GET /healthz        no token needed

/openapi.json is generated from this module: the parameters with their constraints, the bearer scheme with
the scopes each operation needs, and every body as a model of `cxdata.serve.responses`, which FastAPI also
checks each JSON answer against. Handlers are plain functions, so FastAPI runs them in its thread pool and a
warehouse query never blocks the event loop; the queries themselves are in `segments` and `scores`.

Tokens and scopes: `cxdata.serve.auth`. Errors (JSON ``{"error": ...}``, 400,
401, 403, 404, 500, 503 with ``Retry-After``): `cxdata.serve.http_errors`. An
email or customer_ref looked up is never logged: the access log shows those
query values as ``***`` (`cxdata.serve.access_log`). Every answer holding personal data (contacts, a
lookup) is recorded first in the project's outbox of `pii_access_log` (`cxdata.serve.pii_access`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import polars as pl
import polars.selectors as cs
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Security
from fastapi.responses import Response, StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer, SecurityScopes
from pydantic import BeforeValidator
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException

from cxdata.config import DEFAULT_CURRENCY, FIRST_DAY, LAST_DAY
from cxdata.serve import pii_access, scores, segments
from cxdata.serve.access import MAX_VALUE_LENGTH, BadValue, open_read_only, parse_day, stream
from cxdata.serve.access_log import redact_access_log
from cxdata.serve.auth import API_TOKEN_ENV, PERSONAL, PII_TOKEN_ENV, READ, AuthError, Tokens, granted
from cxdata.serve.http_errors import add_error_handlers
from cxdata.serve.responses import (
    CustomerLookup,
    CustomerScores,
    Error,
    Health,
    SegmentList,
    SegmentPage,
    Touchpoints,
)
from cxdata.warehouse import Warehouse

MAX_PAGE = 1000
DEFAULT_PAGE = 100
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


# -- security: the bearer scheme of the OpenAPI document, and the scopes each operation needs ----------------


class _Bearer(HTTPBearer):
    async def __call__(self, request: Request) -> frozenset[str]:  # type: ignore[override]
        header = request.headers.get("authorization")
        try:
            held = granted(request.app.state.tokens, header)
        except AuthError as exc:
            raise HTTPException(401, str(exc), headers=_CHALLENGE) from None
        request.state.actor = pii_access.actor(header)
        return held


_bearer = _Bearer(
    scheme_name="bearer",
    description=f"A token of {API_TOKEN_ENV} (scope read) or of {PII_TOKEN_ENV} (scopes read and {PERSONAL}).",
    auto_error=False,
)


async def _authorised(
    security_scopes: SecurityScopes, held: Annotated[frozenset[str], Depends(_bearer)]
) -> frozenset[str]:
    for scope in security_scopes.scopes:
        _require(held, scope)
    return held


def _require(held: frozenset[str], scope: str) -> None:
    if scope in held:
        return
    if READ not in held:
        raise HTTPException(401, "a bearer token is required", headers=_CHALLENGE)
    raise HTTPException(403, f"this token does not have the {scope!r} scope")


Scopes = Annotated[frozenset[str], Security(_authorised, scopes=[READ])]
_PERSONAL_SCOPE = Security(_authorised, scopes=[READ, PERSONAL])


@dataclass(frozen=True)
class _Served:
    wh: Warehouse
    currency: str
    access: pii_access.AccessLog


async def _served(request: Request) -> _Served:
    return request.app.state.served


Served = Annotated[_Served, Depends(_served)]


# -- parameters -----------------------------------------------------------------------------------------------


def _day(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return parse_day(text)
    except BadValue as exc:
        raise ValueError(str(exc)) from None


AsOf = Annotated[
    dt.date | None,
    BeforeValidator(_day),
    Query(
        description="Read the latest scoring moment on this UTC day (YYYY-MM-DD, "
        f"{FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}); default the latest of all."
    ),
]


def _text(description: str, where: Any = Query) -> Any:
    return where(description=description, max_length=MAX_VALUE_LENGTH)


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "A parameter is malformed or out of range."},
    401: {"model": Error, "description": "No token, or an invalid one.", "headers": {"WWW-Authenticate": {
        "schema": {"type": "string"}, "description": "Bearer."}}},
    404: {"model": Error, "description": "Nothing published under that name, key or day."},
    500: {"model": Error, "description": "The warehouse failed; the server log says why."},
    503: {"model": Error, "description": "The warehouse is momentarily busy (a pipeline publishing): retry.",
          "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}},
    # Every other error (405 for a method other than GET, ...) has the same body. Declaring it also keeps
    # FastAPI from documenting a 422 this API never sends: a malformed parameter is a 400.
    "default": {"model": Error, "description": "Any other error."},
}  # fmt: skip
_FORBIDDEN = {403: {"model": Error, "description": f"The token lacks the {PERSONAL} scope."}}
router = APIRouter(responses=_ERRORS)


# -- handlers (sync: FastAPI runs them in its thread pool) ----------------------------------------------------


@router.get(
    "/segments",
    response_model=SegmentList,
    response_model_exclude_unset=True,
    operation_id="listSegments",
    summary="Segments with their size and value at one scoring moment",
    dependencies=[Security(_authorised, scopes=[READ])],
)
def _list_segments(served: Served, as_of: AsOf = None) -> Any:
    listed = segments.list_segments(served.wh, as_of)
    return {"as_of": listed["as_of"][0] if listed.height else None, "segments": _records(listed.drop("as_of"))}


@router.get(
    "/segments/{name}",
    response_model=SegmentPage,
    response_model_exclude_unset=True,
    operation_id="getSegment",
    summary="Members of one segment with their scores: a JSON page, or all of them as CSV",
    responses={
        200: {
            "description": "A page of members, or (format=csv or Accept: text/csv) every member as CSV.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **_FORBIDDEN,
    },
)
def _segment(
    request: Request,
    served: Served,
    held: Scopes,
    name: Annotated[str, _text("Segment name.", Path)],
    as_of: AsOf = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Members per page (JSON).")] = DEFAULT_PAGE,
    after: Annotated[str | None, _text("Cursor: next_after of the previous page.")] = None,
    fmt: Annotated[
        Literal["json", "csv"] | None,
        Query(alias="format", description="csv streams every member (so does Accept: text/csv); default json."),
    ] = None,
    contacts: Annotated[
        segments.Contacts,
        Query(description=f"Add email and phone, raw or SHA-256 of the normalised value (scope {PERSONAL})."),
    ] = "none",
    purpose: Annotated[
        Literal["email", "sms", "ads"] | None,
        Query(description="What the contacts are for (required with contacts): only members who agreed to it."),
    ] = None,
) -> Any:
    access = None
    if contacts != "none":
        _require(held, PERSONAL)
        access = served.access.opened(request, "segment_contacts", name, purpose, contacts)
    wanted = fmt or ("csv" if "text/csv" in request.headers.get("accept", "") else "json")
    if wanted == "csv":
        return _csv(served, name, as_of, contacts, purpose, access)
    found = segments.page(served.wh, name, as_of, contacts, limit, after, served.currency, purpose)
    if access is not None:
        access.record(found.rows.height)
    following = None
    if found.next_after is not None:
        params = {**dict(request.query_params), "after": found.next_after, "limit": str(limit)}
        following = f"{request.url.path}?{urlencode(params)}"
    return {
        "segment": found.segment,
        "as_of": found.as_of,
        "contacts": contacts,
        "purpose": purpose,
        "count": found.rows.height,
        "items": _records(found.rows),
        "next_after": found.next_after,
        "next": following,
    }


def _csv(
    served: _Served,
    name: str,
    day: dt.date | None,
    contacts: segments.Contacts,
    purpose: str | None,
    access: pii_access.Access | None,
) -> Response:
    as_of = segments.resolve_as_of(served.wh, day)
    # unknown names fail before streaming
    statement = segments.members_statement(
        served.wh, name, as_of, contacts, currency=served.currency, purpose=purpose
    )
    # Connect before answering, so a warehouse locked by a publish is a 503 rather than a broken body; the
    # connection closes when the body is done (or, if never iterated, after the response).
    held = ExitStack()
    result = held.enter_context(stream(served.wh, statement))

    def body():
        with held:
            if access is None:
                yield from segments.csv_chunks(result)
                return
            with access.streaming() as sent:
                yield from segments.csv_chunks(result, sent)

    filename = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:80] or "segment"
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
        background=BackgroundTask(held.close),
    )


@router.get(
    "/customers",
    response_model=CustomerLookup,
    response_model_exclude_unset=True,
    operation_id="findCustomers",
    summary="The customer(s) with an email or customer_ref, with their newest scores",
    description="Give exactly one of email or customer_ref. The email is compared trimmed and lower-cased, the "
    "customer_ref trimmed, as identity resolution stores them. A customer_ref is one namespace for every "
    f"source (orders and tickets carry the CRM's ref). Needs the {PERSONAL} scope; the value is never logged.",
    dependencies=[_PERSONAL_SCOPE],
    responses=_FORBIDDEN,
)
def _find_customers(
    request: Request,
    served: Served,
    email: Annotated[str | None, _text("Email address (personal data).")] = None,
    customer_ref: Annotated[str | None, _text("The CRM's customer id (personal data).")] = None,
) -> Any:
    access = served.access.opened(request, "customer_lookup", None, None, None)
    found = scores.find_customers(served.wh, email=email, customer_ref=customer_ref)
    access.record(found.rows.height)
    customers = []
    for row in _records(found.rows):
        scored = row.pop("scored")
        customers.append({"customer_key": row["customer_key"], "latest_scores": row if scored else None})
    return {"matched_by": found.matched_by, "customers": customers}


@router.get(
    "/customers/{customer_key}/scores",
    response_model=CustomerScores,
    response_model_exclude_unset=True,
    operation_id="getCustomerScores",
    summary="Every scored run of one customer, newest first",
    dependencies=[Security(_authorised, scopes=[READ])],
)
def _customer_scores(served: Served, customer_key: Annotated[str, _text("Resolved customer key.", Path)]) -> Any:
    return {"customer_key": customer_key, "scores": _records(scores.customer_scores(served.wh, customer_key))}


@router.get(
    "/touchpoints",
    response_model=Touchpoints,
    response_model_exclude_unset=True,
    operation_id="listTouchpoints",
    summary="The touchpoint investment table at its latest scoring moment",
    dependencies=[Security(_authorised, scopes=[READ])],
)
def _touchpoints(
    served: Served, as_of: AsOf = None, channel: Annotated[str | None, _text("Only this channel.")] = None
) -> Any:
    return {"touchpoints": _records(scores.touchpoints(served.wh, as_of, channel))}


# Every GET answers HEAD too, as Starlette's routes do; the document lists the GETs.
for _route in [r for r in router.routes if isinstance(r, APIRoute)]:
    router.add_api_route(
        _route.path,
        _route.endpoint,
        methods=["HEAD"],
        include_in_schema=False,
        dependencies=_route.dependencies,
        response_model=_route.response_model,
        response_model_exclude_unset=_route.response_model_exclude_unset,
    )


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    # JSON has no NaN; a missing estimate is null.
    return frame.with_columns(cs.float().fill_nan(None)).to_dicts()


# -- the app --------------------------------------------------------------------------------------------------


def create_app(
    warehouse: Warehouse | str,
    tokens: Tokens,
    schema: str | None = None,
    currency: str = DEFAULT_CURRENCY,
    access_folder: str | os.PathLike[str] | None = None,
) -> FastAPI:
    """The app serving ``warehouse``: a Warehouse the caller opened (read-only, see
    `cxdata.serve.access.open_read_only`) and disposes, or a URL the app opens read-only and disposes on shutdown;
    money in segment members is labelled ``currency``; accesses to personal data are recorded in the outbox in
    ``access_folder`` (`cxdata.privacy.access_log`), without which they are refused (503).
    """
    owned = isinstance(warehouse, str)
    wh = open_read_only(warehouse, schema) if isinstance(warehouse, str) else warehouse

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            wh.dispose()

    app = FastAPI(
        title="cxdata",
        version="1",
        description=(
            f"Scored segments, customer scores and touchpoints, read-only. Bearer tokens: {API_TOKEN_ENV} "
            f"reads everything but personal data; {PII_TOKEN_ENV} also reads contacts and looks customers up by "
            f"email or customer_ref (scope {PERSONAL})."
        ),
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.tokens = tokens
    app.state.served = _Served(wh, currency, pii_access.AccessLog(access_folder))
    app.add_api_route("/healthz", _healthz, response_model=Health, operation_id="health", summary="Liveness")
    app.add_api_route("/healthz", _healthz, methods=["HEAD"], include_in_schema=False)
    app.include_router(router)
    add_error_handlers(app)
    redact_access_log()
    return app


async def _healthz() -> dict[str, str]:
    return {"status": "ok"}
